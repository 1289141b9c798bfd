"""HTTP-layer fixtures. Every test here runs on SQLite; a test runs on PostgreSQL as well
when it is marked `postgres`.

Mark the tests whose outcome can differ on PostgreSQL: transactions, locking and concurrency
(`at_once`, `live_server` races), the queries behind lists, boards, the register, search and
where every record is, query plans, numbering, retention, the audit chain, migrations, backups,
outages and deploying. Mark one test with `@pytest.mark.postgres`, or a whole module with
`pytestmark = pytest.mark.postgres`. A test that takes the `backend` fixture is then collected
twice, `[sqlite]` and `[postgres]`, and only the `[postgres]` one carries the mark, so
`-m "not postgres"` (make test-fast) still runs the SQLite half and `-m postgres` only the
PostgreSQL half. A test marked on its own that does not take `backend` (it starts its own
server, say) is PostgreSQL's alone; one in a marked module that does not take `backend` runs
once, unmarked. A test that parametrises `backend` itself keeps its own choice.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from werkzeug.serving import make_server

from tests.conftest import (
    PASSWORD,
    People,
    _free_port,
    close_database,
    copy_sqlite_database,
    make_app,
)
from tests.http.html import page_problems
from tests.http.journeys.mail import BASE_URL, Inbox
from tests.querycount import StatementCounter


def _parametrises_backend(definition) -> bool:
    return any(
        "backend" in (names.split(",") if isinstance(names, str) else names)
        for names in (mark.args[0] for mark in definition.iter_markers("parametrize"))
    )


def pytest_generate_tests(metafunc):
    if "backend" not in metafunc.fixturenames or _parametrises_backend(metafunc.definition):
        return
    backends = ["sqlite"]
    if metafunc.definition.get_closest_marker("postgres"):
        backends.append("postgres")
    metafunc.parametrize("backend", backends)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Before `-m` selects: the `postgres` mark stays only on what runs on PostgreSQL, so the
    `[sqlite]` copy of a marked test is not taken for a PostgreSQL test."""
    marked_parents = set()
    for item in items:
        for node in item.listchain()[:-1]:
            if any(mark.name == "postgres" for mark in node.own_markers):
                marked_parents.add(node)
    for item in items:
        callspec = getattr(item, "callspec", None)
        on = callspec.params.get("backend") if callspec else None
        if on == "sqlite":
            item.own_markers[:] = [mark for mark in item.own_markers if mark.name != "postgres"]
        elif on == "postgres" and any(node in marked_parents for node in item.listchain()[:-1]):
            item.add_marker(pytest.mark.postgres)
    for node in marked_parents:
        node.own_markers[:] = [mark for mark in node.own_markers if mark.name != "postgres"]


@pytest.fixture
def backend():
    """The database a test runs on: SQLite unless the test is marked `postgres` (see above)."""
    return "sqlite"


@pytest.fixture
def app(backend, tmp_path, request):
    # No app context stays pushed: each request must get its own `g` (CSRF token, CSP nonce).
    # One app per process and database, emptied for each test, unless the test marks
    # `own_app` (it adds a route, say, which would leak into the next test).
    app = make_app(
        backend, tmp_path, request, shared=not request.node.get_closest_marker("own_app")
    )
    yield app
    close_database()


@pytest.fixture
def people(app):
    return People()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Web:
    """A test client that signs in like a person and checks every page it gets."""

    def __init__(self, client):
        self.client = client
        self.csrf = None

    def sign_in(self, username: str, password: str = PASSWORD):
        page = self.client.get("/sign-in")
        token = csrf_from(page.get_data(as_text=True))
        response = self.client.post(
            "/sign-in", data={"username": username, "password": password, "csrf_token": token}
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self.csrf = None
        return response

    def get(self, url: str, status: int = 200, **kwargs):
        response = self.client.get(url, **kwargs)
        assert response.status_code == status, (url, response.status_code)
        if response.mimetype == "text/html" and not kwargs.get("headers", {}).get("HX-Request"):
            html = response.get_data(as_text=True)
            problems = page_problems(url, html)
            assert not problems, "; ".join(problems)
            if 'name="csrf_token"' in html:
                self.csrf = csrf_from(html)
        return response

    def post(self, url: str, data: dict | None = None, htmx: bool = False, **kwargs):
        if self.csrf is None:
            self.get("/")
        data = {"csrf_token": self.csrf, **(data or {})}
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=data, headers=headers, **kwargs)


@pytest.fixture
def web(client):
    return Web(client)


@pytest.fixture
def new_web(app):
    """Another person's web (a fresh cookie jar) against the same app."""
    return lambda: Web(app.test_client())


@pytest.fixture
def statements(app):
    """Counts SQL statements: `with statements.counting(): web.get(...)`, then `.count`."""
    counter = StatementCounter()
    counter.install()
    yield counter
    counter.uninstall()


# -- A live server, for what only real concurrent connections show --------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser against the live server: its own cookies, no redirects followed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
        )
        self.csrf = None

    def open(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({"csrf_token": self.csrf, **data}).encode()
        try:
            with self.opener.open(self.base_url + path, data=body, timeout=60) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if 'name="csrf_token"' in text:
            self.csrf = csrf_from(text)
        return status, text

    def sign_in(self, username: str, password: str = PASSWORD) -> int:
        self.open("/sign-in")
        return self.open("/sign-in", {"username": username, "password": password})[0]


@pytest.fixture
def live_server(app):
    """The test's app served by werkzeug with a thread per connection, as in tests/e2e."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def at_once(count: int, prepare, act) -> list:
    """Prepare `count` clients one by one (`prepare(n)`), then let them all act at the same
    moment (`act(client, n)`); return what each act returned."""
    clients = [prepare(n) for n in range(count)]
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        results[n] = act(clients[n], n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def mail_app(app, inbox):
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=inbox.port,
        SMTP_FROM="safekeep@council.test",
        SMTP_TIMEOUT=5,
        REMINDER_BASE_URL=BASE_URL + "/",
        REMINDER_CONFIRM_AFTER_DAYS=3,
    )
    return app


# Databases seeded once a process, by backend and name: (backend, name) -> where it is kept.
_SEEDED: dict[tuple[str, str], object] = {}


def seeded_once(request, name: str, seed) -> None:
    """Fill this test's empty database with `seed()`, once a process and database: a later
    test asking for the same `name` gets a copy of what it made instead (seeding thousands of
    rows took a few seconds a test, the copy a tenth of that). A test may change its copy."""
    backend = request.getfixturevalue("backend")
    app = request.getfixturevalue("app")
    kept = _SEEDED.get((backend, name))
    if backend == "postgres":
        databases = request.getfixturevalue("postgres_databases")
        if kept:
            databases.restore(name)
        else:
            seed()
            databases.keep_as(name)
            _SEEDED[backend, name] = True
        return
    live = Path(app.config["SQLITE_PATH"])
    if kept:
        copy_sqlite_database(kept, live)
        return
    seed()
    copy = request.getfixturevalue("tmp_path_factory").mktemp("seeded") / f"{name}.db"
    copy_sqlite_database(live, copy)
    _SEEDED[backend, name] = copy
