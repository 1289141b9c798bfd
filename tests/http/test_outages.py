"""Outages are 503, never 500, and recovery needs nobody: PostgreSQL stopped and restarted
under a running app, a full SQLite disk, and a write the database refuses."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import threading

import pytest
from peewee import OperationalError

from models.base import db
from models.records import Record
from tests.conftest import People, close_database, make_app
from tests.http.conftest import Web

UNAVAILABLE = "Sorry, the service is unavailable"
NOTHING_SAVED = "Nothing was saved"


def assert_unavailable_page(response, saving: bool = False) -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, (response.status_code, html[:300])
    assert f'<h1 class="govuk-heading-l">{UNAVAILABLE}</h1>' in html
    assert response.headers["X-Request-ID"] in html  # the reference to quote
    assert "Sign out" not in html  # drawn without asking the database who is signed in
    assert (NOTHING_SAVED in html) is saving
    return html


def add_record(web: Web, case_id: str = "5551234", **kwargs):
    return web.post("/records/new", {"case_id": case_id, "description": "Court bundle"}, **kwargs)


# -- PostgreSQL stopped, then started again --------------------------------------------------


@pytest.fixture
def pg_app(private_postgres, tmp_path, request):
    app = make_app("postgres", tmp_path, request, DATABASE_URL=private_postgres.url)
    yield app
    close_database()


def fill_the_pool(connections: int) -> None:
    """Leave `connections` idle connections in the pool, as busy workers' threads would."""
    barrier = threading.Barrier(connections)

    def hold():
        db.connect()
        barrier.wait()
        db.close()

    threads = [threading.Thread(target=hold) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(db.obj._connections) >= connections


def signed_in(app) -> Web:
    People().add("pat")
    web = Web(app.test_client())
    web.sign_in("pat")
    web.get("/records/new")  # keeps the form's CSRF token for a POST while the server is down
    db.close()  # between requests the thread holds no connection: the pool has them all
    return web


@pytest.mark.postgres
def test_with_postgresql_down_every_page_is_503_and_healthz_says_so(pg_app, private_postgres):
    web = signed_in(pg_app)
    fill_the_pool(4)
    private_postgres.stop()

    health = web.client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "unavailable", "database": "unreachable"}
    for url in ("/", "/records", "/board", "/breaches", "/records/12"):
        assert_unavailable_page(web.client.get(url))
    assert_unavailable_page(add_record(web), saving=True)
    alert = web.client.get("/board", headers={"HX-Request": "true"})
    assert alert.status_code == 503 and alert.headers["HX-Retarget"] == "#app-alerts"
    assert UNAVAILABLE in alert.get_data(as_text=True)
    assert alert.headers["X-Request-ID"] in alert.get_data(as_text=True)
    stranger = pg_app.test_client()
    page = stranger.get("/sign-in")
    html = assert_unavailable_page(page)
    # The page is whole: its stylesheet loads, and its one inline script has its nonce.
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html):
        assert web.client.get(asset).status_code == 200, asset
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in html

    private_postgres.start()
    assert web.client.get("/healthz").status_code == 200
    assert web.get("/").status_code == 200
    assert add_record(web).status_code == 303
    assert Record.select().count() == 1


@pytest.mark.postgres
def test_after_a_postgresql_restart_the_first_request_succeeds(pg_app, private_postgres):
    """The pool held connections the restart killed: none of them may reach a request."""
    web = signed_in(pg_app)
    fill_the_pool(6)
    private_postgres.stop()
    private_postgres.start()
    statuses = [web.client.get(url).status_code for url in ("/", "/records", "/send") * 3]
    assert statuses == [200] * 9
    assert add_record(web).status_code == 303
    assert web.client.get("/healthz").status_code == 200


@pytest.mark.postgres
def test_a_connection_handed_back_just_before_a_restart_costs_one_503(
    pg_app, private_postgres, monkeypatch
):
    """A connection handed back a moment ago goes out unasked (models/base.py _CheckedPool):
    had the server restarted in that moment, its request is a 503 and the next one is fine."""
    monkeypatch.setattr(type(db.obj), "RECENT", 3600.0)  # every restart falls in "a moment"
    web = signed_in(pg_app)
    private_postgres.stop()
    private_postgres.start()
    assert_unavailable_page(web.client.get("/"))
    statuses = [web.client.get(url).status_code for url in ("/", "/records", "/send")]
    assert statuses == [200] * 3
    assert add_record(web).status_code == 303


# -- SQLite: a full disk ----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs of our own (needs root, as `make test` runs on CI); skipped elsewhere, where
    the simulated tests below stand in."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        close_database()
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk) -> None:
    """Write a file until the disk refuses another byte."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_with_the_sqlite_disk_full_a_write_is_503_nothing_saved_and_reads_go_on(
    small_disk, tmp_path, request
):
    app = make_app(
        "sqlite",
        tmp_path,
        request,
        SQLITE_PATH=str(small_disk / "safekeep.db"),
        HEALTHZ_MIN_FREE_MB=1,
    )
    People().add("pat")
    web = Web(app.test_client())
    web.sign_in("pat")
    web.get("/records/new")
    # Empty the write-ahead log, so the next commit needs new disk blocks as it would once a
    # busy day's log had been used up.
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    fill(small_disk)

    assert_unavailable_page(add_record(web), saving=True)
    response = add_record(web, headers={"HX-Request": "true"})
    assert response.status_code == 503 and NOTHING_SAVED in response.get_data(as_text=True)
    health = web.client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
    assert Record.select().count() == 0
    assert web.get("/records").status_code == 200  # reading still works

    os.remove(small_disk / "filler")
    assert web.client.get("/healthz").status_code == 200
    assert add_record(web).status_code == 303
    assert Record.select().count() == 1


# -- Simulated: the database refuses a write (both backends) ---------------------------------


@pytest.mark.postgres
def test_a_write_the_database_refuses_is_503_and_saves_nothing(web, people, monkeypatch):
    from models.audit import AuditEvent

    people.add("pat")
    web.sign_in("pat")
    web.get("/records/new")

    def refuse(*args, **kwargs):
        raise OperationalError("database or disk is full")

    # The record row is inserted first; the refusal comes after it, inside the transaction.
    monkeypatch.setattr(AuditEvent, "append", refuse)
    assert_unavailable_page(add_record(web), saving=True)
    htmx = add_record(web, headers={"HX-Request": "true"})
    assert htmx.status_code == 503 and htmx.headers["HX-Retarget"] == "#app-alerts"
    assert NOTHING_SAVED in htmx.get_data(as_text=True)
    assert Record.select().count() == 0
    monkeypatch.undo()
    assert add_record(web).status_code == 303


@pytest.mark.postgres
def test_healthz_is_503_when_the_heartbeat_cannot_be_written(client, monkeypatch):
    from models.heartbeat import Heartbeat

    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}

    def refuse(cls, now):
        raise OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Heartbeat, "beat", classmethod(refuse))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "not writable"}


# The free-space check is SQLite's: PostgreSQL's disk is the database server's.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_healthz_is_503_when_the_sqlite_disk_has_too_little_room(app, client):
    app.config["HEALTHZ_MIN_FREE_MB"] = 10**9  # a petabyte: no disk here has that free
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "disk full"


@pytest.mark.postgres
def test_healthz_commits_a_heartbeat(client, app):
    from models.heartbeat import Heartbeat

    client.get("/healthz")
    first = Heartbeat.get_by_id(1).at
    client.get("/healthz")
    assert Heartbeat.select().count() == 1 and Heartbeat.get_by_id(1).at > first


# -- Recovery: the first request after the database is back succeeds -------------------------


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_write_whose_commit_and_undo_the_disk_refused_does_not_stop_the_next(
    web, people, monkeypatch
):
    """A full disk can refuse a transaction's COMMIT and then its ROLLBACK, leaving the
    worker's one SQLite connection inside the failed transaction: once there is room again,
    the next write must find a clean connection, not "a transaction within a transaction"."""
    people.add("pat")
    web.sign_in("pat")
    web.get("/records/new")

    def disk_full():
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(db.obj, "commit", disk_full)
    monkeypatch.setattr(db.obj, "rollback", disk_full)
    assert_unavailable_page(add_record(web), saving=True)
    monkeypatch.undo()  # room on the disk again

    assert add_record(web, case_id="5551235").status_code == 303
    # The refused write stayed unsaved, as its page said.
    assert [r.case_id for r in Record.select()] == ["5551235"]


@pytest.mark.postgres
def test_after_a_postgresql_restart_the_first_write_succeeds(pg_app, private_postgres):
    """Writes refused while the server was down leave nothing behind: the first write after
    it is back is saved, and so is every one after it."""
    web = signed_in(pg_app)
    fill_the_pool(4)
    private_postgres.stop()
    for case_id in ("5551201", "5551202"):
        assert_unavailable_page(add_record(web, case_id=case_id), saving=True)
    private_postgres.start()

    statuses = [add_record(web, case_id=f"555130{n}").status_code for n in range(5)]
    assert statuses == [303] * 5
    assert sorted(r.case_id for r in Record.select()) == [f"555130{n}" for n in range(5)]
