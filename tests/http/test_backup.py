"""Backups and the restore drill: back up while the app writes, restore into a fresh
database, and the app reads it with its audit chain intact. PostgreSQL: pg_dump/pg_restore."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import uuid

import pytest

from models.audit import AuditEvent
from models.base import db
from models.breaches import Breach
from models.records import Removal
from tests.conftest import _pg_bin, audit_anchor_settings, close_database
from tests.http.conftest import Web

DEMO_PASSWORD = "safekeep-demo-2026"


@pytest.fixture
def demo(app):
    assert app.test_cli_runner().invoke(args=["seed-demo", "--demo"]).exit_code == 0
    return app


def counts() -> dict[str, int]:
    return {m.__name__: m.select().count() for m in (AuditEvent, Breach, Removal)}


def reads_the_demo(app) -> None:
    """The app on this database: Lina signs in, sees her board; the audit chain verifies."""
    web = Web(app.test_client())
    web.sign_in("lina", password=DEMO_PASSWORD)
    assert "Home visit notes, 2026" in web.get("/board").get_data(as_text=True)
    verified = app.test_cli_runner().invoke(args=["audit-verify"])
    assert verified.exit_code == 0 and "intact" in verified.output


# A test for one backend only: this overrides the backend fixture's two parameters.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)]
)


@SQLITE_ONLY
def test_restore_drill_back_up_while_writing_restore_into_a_fresh_database(
    demo, backend, tmp_path, request
):
    before = counts()
    # Another process in the middle of a write: the backup neither waits for it nor copies it.
    writer = sqlite3.connect(demo.config["SQLITE_PATH"], isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO team (name) VALUES ('Uncommitted team')")
    path = tmp_path / "backups" / "safekeep-2026-11-29.db"
    path.parent.mkdir()
    result = demo.test_cli_runner().invoke(args=["backup", str(path)])
    writer.execute("ROLLBACK")
    writer.close()
    assert result.exit_code == 0, result.output
    assert f"audit chain intact ({before['AuditEvent']} events)" in result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds everything Safekeep holds
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no partial left
    close_database()

    from tests.conftest import make_app

    fresh = tmp_path / "restored" / "safekeep.db"
    restored = make_app("sqlite", tmp_path, request, SQLITE_PATH=str(fresh))
    db.execute_sql("SELECT 1")
    # make_app created an empty schema: a real restore goes into a new, empty file.
    for table in db.get_tables():
        db.execute_sql(f'DROP TABLE "{table}"')
    runner = restored.test_cli_runner()
    done = runner.invoke(args=["restore", str(path)])
    assert done.exit_code == 0, done.output
    assert runner.invoke(args=["db-upgrade"]).exit_code == 0
    assert counts() == before
    assert "Uncommitted team" not in {row[0] for row in db.execute_sql("SELECT name FROM team")}
    reads_the_demo(restored)


@SQLITE_ONLY
def test_a_backup_never_overwrites_without_force(demo, backend, tmp_path):
    path = tmp_path / "safekeep.db.bak"
    path.write_text("an older backup")
    runner = demo.test_cli_runner()
    refused = runner.invoke(args=["backup", str(path)])
    assert refused.exit_code == 1 and "exists" in refused.output
    assert path.read_text() == "an older backup"
    assert runner.invoke(args=["backup", str(path), "--force"]).exit_code == 0


@SQLITE_ONLY
def test_restore_refuses_a_damaged_backup_and_a_database_in_use(demo, backend, tmp_path):
    runner = demo.test_cli_runner()
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(8192))
    result = runner.invoke(args=["restore", str(junk), "--replace"])
    assert result.exit_code == 1 and "not a readable SQLite database" in result.output

    path = tmp_path / "good.db"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    refused = runner.invoke(args=["restore", str(path)])
    assert refused.exit_code == 1 and "--replace" in refused.output

    tampered = sqlite3.connect(path)
    tampered.execute("UPDATE audit_event SET summary = '{}' WHERE id = 3")
    tampered.commit()
    tampered.close()
    result = runner.invoke(args=["restore", str(path), "--replace"])
    assert result.exit_code == 1 and "audit chain is broken at event 3" in result.output


@POSTGRES_ONLY
def test_on_postgresql_the_backup_command_points_to_pg_dump(demo, backend, tmp_path):
    result = demo.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "pg_dump" in result.output
    assert not (tmp_path / "x.db").exists()


@POSTGRES_ONLY
def test_postgresql_restore_drill_with_the_readmes_pg_dump_and_pg_restore(
    demo, backend, tmp_path, request
):
    bindir = _pg_bin()
    source = demo.config["DATABASE_URL"]
    before = counts()
    dump = tmp_path / "safekeep.dump"
    # The README's commands, as a council's IT team would run them.
    subprocess.run(
        [bindir / "pg_dump", "--format=custom", f"--file={dump}", source],
        check=True,
        capture_output=True,
    )
    name = f"safekeep_restore_{uuid.uuid4().hex[:8]}"
    server = source.rsplit("/", 1)[0]
    subprocess.run(
        [bindir / "createdb", f"--maintenance-db={source}", name], check=True, capture_output=True
    )
    target = f"{server}/{name}"
    subprocess.run(
        [bindir / "pg_restore", "--no-owner", f"--dbname={target}", dump],
        check=True,
        capture_output=True,
    )
    close_database()
    from app import create_app

    restored = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": target,
            **audit_anchor_settings(tmp_path),
        }
    )
    try:
        with restored.app_context():
            db.connect(reuse_if_open=True)
            assert restored.test_cli_runner().invoke(args=["db-upgrade"]).exit_code == 0
            assert counts() == before
            db.close()
        reads_the_demo(restored)
    finally:
        close_database()
        subprocess.run([bindir / "dropdb", f"--maintenance-db={source}", name], capture_output=True)
