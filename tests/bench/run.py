"""Measure Safekeep at council scale against the floor of its stack on the same machine.

`make bench` runs this. For SQLite and then PostgreSQL (a throwaway server on loopback) it
seeds `seed-volume`'s 100,000 removals and 10,000 breach cases, then:

1. with Flask's test client: each page's SQL statements, first, median and 95th-percentile
   time, and size (raw and gzip), and the first visit's transfer against the 60 KB budget;
2. under load: Safekeep, the floor of the stack (tests/bench/stack_floor.py: session row,
   CSRF, the GOV.UK template with a 20-row govukTable; on POST an INSERT and an HMAC-chained
   audit INSERT) and the bare baseline (tests/bench/bare.py: one INSERT per POST, a 20-row
   read per GET) served side by side by gunicorn with the same settings (the deployed
   deploy/gunicorn.conf.py, 2 sync workers each), driven by the same load generator (8
   connections) in alternating rounds, for the htmx approve (a transition POST, each one
   approving a fresh request), the line manager's team board and their home page. Each
   round's ratio is Safekeep's requests per second over the floor's (the goals) and over
   bare's (for reference); the median ratio is printed with the lowest and highest;
3. in Chromium: a first visit's every byte on the wire (headers included, cache off) to the
   sign-in page and to a signed-in home page, against the 60 KB budget; then, at 6x CPU
   throttling, click to settled htmx swap for Approve and Take out;
4. each gunicorn worker's peak resident memory (VmHWM from /proc) after all of it;
5. flat with volume: the same pages on a second database seeded at ten times the volume,
   statements and median times side by side.

A benchmark, not a test: it prints numbers and asserts nothing about time. The machine's
cores are shared by the client, the servers and anything else running: compare the ratios
(measured moments apart), not the raw rates, and read the load average it prints.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gzip
import http.client
import itertools
import json
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from demo.accounts import DEMO_PASSWORD  # noqa: E402
from demo.volume import label_codes, seed_volume  # noqa: E402
from machines import clock  # noqa: E402
from machines.removal import OWN_MANAGER  # noqa: E402
from models import create_schema  # noqa: E402
from models.base import db  # noqa: E402
from models.people import User  # noqa: E402
from models.records import Record, Removal  # noqa: E402
from services.accounts import add_user  # noqa: E402
from tests.bench import bare  # noqa: E402
from tests.bench.browser import measure_clicks, measure_first_visits  # noqa: E402
from tests.bench.load import Call, Load, percentile, python_load, wrk_load  # noqa: E402
from tests.pgserver import free_port, pg_bin, throwaway_postgres  # noqa: E402
from tests.querycount import StatementCounter  # noqa: E402

BUDGET = 60 * 1024  # first visit: Chromium measures it (section 3); this is a guide
SECRET = "bench-secret"
WORKERS = 2  # gunicorn sync workers per app: one per core on the 2-core machine it is tuned for
MEMORY_GOAL_MB = 80
# The approve stream: enough waiting requests for a round at this many approvals a second.
STREAM_RATE = 2500
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ASSETS = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="(/static/[^"]+)"')
_IMPORTS = re.compile(r'(?:import|from)\s*["\'](/static/[^"\']+)["\']')

# A team of its own for the requests the bench approves, so that thousands of them waiting
# do not swell the board and home page of the line manager (lina) measured beside them.
BENCH_TEAM = "Bench approvals"
APPROVER = "bench-manager"
HOLDER = "bench-holder"
LINE_MANAGER = "lina"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def kb(size: float) -> str:
    return f"{size / 1024:.1f} KB"


def mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:.1f} MB"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"


# -- The database: SQLite in the work directory, or a throwaway PostgreSQL ---------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A DATABASE_URL for an empty database of this kind, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
    else:
        # Enough connections for both apps' pools (2 workers each) and the bench itself.
        with throwaway_postgres("safekeep_bench", "max_connections=200") as url:
            yield url


@dataclass
class Stream:
    """Requests waiting in the bench team: a stream for the load, and a few for the browser."""

    first: int  # removal ids first..last, in record order
    last: int
    records: dict[int, int]  # removal id -> record id

    def reset(self) -> None:
        """Put every request of the stream back to waiting, as it was seeded."""
        Removal.update(
            state="requested", version=1, decided_by=None, decided_at=None, decision_note=None
        ).where(Removal.id.between(self.first, self.last)).execute()


@dataclass
class Seeded:
    stream: Stream
    client_approvals: list[int]  # removal ids the test-client table approves
    browser_approvals: list[int]  # record ids
    browser_take_outs: list[int]  # record ids


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _bench_staff() -> tuple[User, User]:
    add_user(APPROVER, "Bench Manager", "B0001", BENCH_TEAM, ["line_manager"], None, DEMO_PASSWORD)
    add_user(HOLDER, "Bench Holder", "B0002", BENCH_TEAM, ["practitioner"], APPROVER, DEMO_PASSWORD)
    # Trained today: papers go out only with training in date (issue 26), and without it the
    # record page offered no Take out for the clicks to time.
    User.update(trained_on=clock.uk_today()).where(User.username.in_([APPROVER, HOLDER])).execute()
    return User.by_username(APPROVER), User.by_username(HOLDER)


def _waiting_removals(holder: User, count: int, state: str, now: dt.datetime) -> list[int]:
    """`count` new records of the bench team, each with one removal in `state`; their ids."""
    codes = label_codes(count)
    first_record = Record.select(Record.id).order_by(Record.id.desc()).limit(1).scalar() or 0
    with db.atomic():
        for batch in _batches(codes, 500):
            Record.insert_many(
                [
                    {
                        "case_id": f"8{n:06d}",
                        "description": "Bench papers",
                        "team": holder.team_id,
                        "label_code": code,
                        "created_by": holder.id,
                        "created_at": now,
                    }
                    for n, code in enumerate(batch)
                ]
            ).execute()
    records = list(
        Record.select(Record.id).where(Record.id > first_record).order_by(Record.id).tuples()
    )
    decided = state != "requested"
    with db.atomic():
        for batch in _batches(records, 500):
            Removal.insert_many(
                [
                    {
                        "record": record_id,
                        "team": holder.team_id,
                        "state": state,
                        "for_user": holder.id,
                        "requested_by": holder.id,
                        "requester_manager": holder.line_manager_id,
                        "approval_route": OWN_MANAGER,  # as a request asks its line manager
                        "purpose": "other",
                        "purpose_other": "Working on the assessment at home",
                        "papers": "Chronology and latest assessment",
                        "due_kind": "return",
                        "due_on": (now + dt.timedelta(days=7)).date(),
                        "requested_at": now,
                        "decided_by": holder.line_manager_id if decided else None,
                        "decided_at": now if decided else None,
                        "version": 1,
                    }
                    for (record_id,) in batch
                ]
            ).execute()
    return [
        removal_id
        for (removal_id,) in Removal.select(Removal.id)
        .where(Removal.record > first_record)
        .order_by(Removal.id)
        .tuples()
    ]


def seed(removals: int, breaches: int, stream_size: int, runs: int, clicks: int) -> Seeded:
    create_schema()
    started = time.perf_counter()
    result = seed_volume(removals=removals, breaches=breaches)
    seconds = time.perf_counter() - started
    now = clock.now()
    _, holder = _bench_staff()
    stream_ids = _waiting_removals(holder, stream_size, "requested", now)
    client_ids = _waiting_removals(holder, runs + 1, "requested", now)
    browser_ids = _waiting_removals(holder, clicks, "requested", now)
    take_out_ids = _waiting_removals(holder, clicks, "approved_for_removal", now)
    bare.create_table()
    record_of = dict(
        Removal.select(Removal.id, Removal.record)
        .where(Removal.id.in_(browser_ids + take_out_ids))
        .tuples()
    )
    stream_records = dict(
        Removal.select(Removal.id, Removal.record)
        .where(Removal.id.between(stream_ids[0], stream_ids[-1]))
        .tuples()
    )
    print(
        f"Seeded {result.records:,} records, {result.removals:,} removals and "
        f"{result.breaches:,} breach cases in {seconds:.0f} s; then, in a team of their own, "
        f"{len(stream_ids):,} requests for the approve stream and "
        f"{len(client_ids) + len(browser_ids) + len(take_out_ids)} for single measurements."
    )
    return Seeded(
        Stream(stream_ids[0], stream_ids[-1], stream_records),
        client_ids,
        [record_of[i] for i in browser_ids],
        [record_of[i] for i in take_out_ids],
    )


# -- 1. Flask's test client: statements, times, sizes, first visit ------------------------------


class Person:
    """One signed-in demo person on the test client."""

    def __init__(self, app, username: str):
        self.username = username
        self.user = User.by_username(username)
        self.client = app.test_client()
        page = self.client.get("/sign-in").get_data(as_text=True)
        response = self.client.post(
            "/sign-in",
            data={
                "username": username,
                "password": DEMO_PASSWORD,
                "csrf_token": _CSRF.search(page)[1],
            },
        )
        if response.status_code != 303:
            raise SystemExit(f"could not sign in as {username}: {response.status_code}")
        self.csrf = _CSRF.search(self.client.get("/").get_data(as_text=True))[1]


@dataclass
class Row:
    label: str
    who: str
    times: list[float]
    statements: int
    raw: int
    gzip: int
    first_visit: int | None  # HTML + assets, gzip; None for fragments
    status: int
    cold_ms: float | None = None  # the first request of all (nothing kept yet), for pages

    @property
    def key(self) -> tuple[str, str]:
        return self.label, self.who


def assets_of(client, html: str, seen: dict[str, bytes]) -> list[str]:
    """The CSS and JS a page loads, following ES module imports; fetch each once."""
    queue = _ASSETS.findall(html)
    found: list[str] = []
    while queue:
        path = queue.pop(0)
        if path in found:
            continue
        found.append(path)
        if path not in seen:
            response = client.get(path)
            seen[path] = response.get_data()
            response.close()
        if path.endswith(".js"):
            queue.extend(_IMPORTS.findall(seen[path].decode("utf-8", "replace")))
    return found


def measure_get(
    person: Person, url: str, runs: int, counter: StatementCounter, assets: dict[str, bytes]
) -> Row:
    client = person.client
    started = time.perf_counter()
    client.get(url)
    cold = (time.perf_counter() - started) * 1000
    for _ in range(2):
        client.get(url)
    with counter.counting():
        response = client.get(url)
    statements = counter.count
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    body = response.get_data()
    files = assets_of(client, body.decode("utf-8", "replace"), assets)
    first = gz(body) + sum(gz(assets[f]) for f in files)
    return Row(
        url,
        person.username,
        times,
        statements,
        len(body),
        gz(body),
        first,
        response.status_code,
        cold,
    )


def measure_approve(person: Person, removal_ids: list[int], counter: StatementCounter) -> Row:
    """Approve waiting requests one after another, as htmx posts them from the record page."""
    times: list[float] = []
    statements = 0
    response = None
    for n, removal_id in enumerate(removal_ids):
        post = lambda rid=removal_id: person.client.post(  # noqa: E731
            f"/removals/{rid}/approve",
            data={"csrf_token": person.csrf, "version": 1},
            headers={"HX-Request": "true", "HX-Target": "status"},
        )
        if n == 0:
            with counter.counting():
                response = post()
            statements = counter.count
            continue
        started = time.perf_counter()
        response = post()
        times.append((time.perf_counter() - started) * 1000)
    body = response.get_data()
    return Row(
        "POST /removals/<id>/approve (htmx)",
        person.username,
        times,
        statements,
        len(body),
        gz(body),
        None,
        response.status_code,
    )


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'request':<38} {'who':<13} {'first':>8} {'median':>8} {'p95':>8} {'SQL':>4} "
        f"{'HTML':>9} {'gzip':>8} {'1st visit':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        first = "" if r.first_visit is None else kb(r.first_visit)
        flag = " OVER" if r.first_visit and r.first_visit > BUDGET else ""
        status = "" if r.status == 200 else f"  (HTTP {r.status})"
        cold = "" if r.cold_ms is None else f"{r.cold_ms:.1f}ms"
        print(
            f"{r.label[:38]:<38} {r.who:<13} {cold:>8} {statistics.median(r.times):>6.1f}ms "
            f"{percentile(r.times, 0.95):>6.1f}ms {r.statements:>4} {kb(r.raw):>9} "
            f"{kb(r.gzip):>8} {first:>10}{flag}{status}"
        )


def client_section(app, seeded: Seeded, runs: int, quiet: bool = False) -> list[Row]:
    people = {name: Person(app, name) for name in ("lina", "dana", "gov", "pat", "rita", APPROVER)}
    out_with_pat = (
        Removal.select(Removal.record)
        .where(Removal.state == "out", Removal.for_user == people["pat"].user.id)
        .order_by(Removal.id)
        .scalar()
    )
    pages = [
        (people["lina"], "/"),
        (people["lina"], "/board"),
        (people["dana"], "/"),
        (people["dana"], "/board"),
        (people["gov"], "/register"),
        (people["gov"], "/register?category=wrong_recipient&state=closed"),
        (people["gov"], "/breaches"),
        (people["pat"], "/"),
        (people["pat"], "/breaches"),
        (people["lina"], "/approvals"),
        (people["lina"], "/records/where"),
        (people["rita"], "/records/where"),
        (people["rita"], "/records/where?where=overdue"),
    ]
    if out_with_pat:
        pages.append((people["pat"], f"/records/{out_with_pat}"))
    counter = StatementCounter()
    counter.install()
    try:
        assets: dict[str, bytes] = {}
        rows = [measure_get(person, url, runs, counter, assets) for person, url in pages]
        rows.append(measure_approve(people[APPROVER], seeded.client_approvals, counter))
    finally:
        counter.uninstall()
    if quiet:
        return rows
    print(
        f"\n1. Flask's test client, {runs} timed requests each "
        "(median and 95th percentile; SQL = statements per request; first = the very first "
        "request, before anything a page keeps, such as the register's figures, is kept)\n"
    )
    print_table(rows)
    print(
        "\n(1st visit: this page's HTML and assets gzipped, as a guide; section 3 measures "
        "what Chromium transfers.)\n\n"
    )
    return rows


# -- 2. Under load: gunicorn, Safekeep against bare ---------------------------------------------


def _warning_or_worse(line: str) -> bool:
    """A log line to show: the app logs each request at INFO (JSON), as in production."""
    if not line.strip():
        return False
    try:
        return json.loads(line).get("level") not in ("DEBUG", "INFO")
    except (ValueError, AttributeError):
        return True  # not one of ours: show it


class Gunicorn:
    """gunicorn serving an app on a free loopback port; `stop()` always ends it.

    Every file it makes (log, worker heartbeat files) stays in `workdir`; the control
    socket gunicorn 23+ would put in ~/.gunicorn is switched off.
    """

    def __init__(
        self,
        name: str,
        target: str,
        database_url: str,
        workdir: Path,
        env: dict[str, str] | None = None,
        root: Path = ROOT,
    ):
        self.name = name
        self.port = free_port()
        self.log = workdir / f"gunicorn-{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SESSION_COOKIE_SECURE": "0",  # the cookie must come back over plain http
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(workdir),
            **(env or {}),
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    # The deployed settings (deploy/gunicorn.conf.py), with the bench's port,
                    # workers and files, and no worker replaced part way: a fresh worker's
                    # peak memory would hide what a worker grows to under load.
                    "--config",
                    str(root / "deploy" / "gunicorn.conf.py"),
                    "--max-requests",
                    "0",
                    "--workers",
                    str(WORKERS),
                    "--worker-class",
                    "sync",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--worker-tmp-dir",
                    str(workdir),
                    "--no-control-socket",
                    "--log-level",
                    "warning",
                    target,
                ],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self, path: str, timeout: float = 60) -> bool:
        """True once GET `path` answers 200; False if gunicorn exits or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_request(self.port, "GET", path)[0] == 200:
                    return True
            time.sleep(0.2)
        return False

    def workers(self) -> list[int]:
        pids: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in (task / "children").read_text().split()]
        return sorted(pids)

    def log_lines(self) -> list[str]:
        with contextlib.suppress(OSError):
            return [line for line in self.log.read_text(errors="replace").splitlines() if line]
        return []

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        workers = self.workers()
        self.process.terminate()  # graceful: workers finish what they are doing, then exit
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for pid in workers:  # only if one outlived its master
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def memory(pid: int) -> tuple[int, int] | None:
    """(peak RSS, RSS) of a process in kB, from /proc; None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M))
    return int(fields.get("VmHWM", 0)), int(fields.get("VmRSS", 0))


def http_request(
    port: int,
    method: str,
    path: str,
    cookies: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, str]:
    """One request on its own connection, keeping any cookies the server sets in `cookies`."""
    headers = {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        if cookies is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        cookies.pop(name, None)
                    else:
                        cookies[name] = morsel.value
        return response.status, text
    finally:
        connection.close()


def http_sign_in(port: int, username: str) -> tuple[str, str]:
    """Sign in over HTTP as a browser does; return the session's Cookie header and CSRF token."""
    cookies: dict[str, str] = {}
    status, page = http_request(port, "GET", "/sign-in", cookies)
    token = _CSRF.search(page)
    if status != 200 or not token:
        raise RuntimeError(f"GET /sign-in answered {status} without a csrf_token")
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": token[1]}
    status, _ = http_request(port, "POST", "/sign-in", cookies, form)
    if status != 303 or "safekeep_session" not in cookies:
        raise RuntimeError(f"could not sign in as {username} over HTTP: {status}")
    status, page = http_request(port, "GET", "/", cookies)
    token = _CSRF.search(page)
    if status != 200 or not token:
        raise RuntimeError(f"GET / as {username} answered {status} without a csrf_token")
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), token[1]


@dataclass
class Measure:
    """One line of the table: a Safekeep request and the floor's and bare's it is compared
    with (the goal is against the floor; bare's ratio is printed for reference)."""

    label: str
    goal_ratio: float
    safekeep: Callable[[], Iterator[Call]]
    floor: Call
    bare: Call
    stream: Stream | None = None
    goal_p99_ms: float | None = None
    safekeep_runs: list[Load] = field(default_factory=list)
    floor_runs: list[Load] = field(default_factory=list)
    bare_runs: list[Load] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        """Safekeep's rate over the floor's, round by round."""
        return _ratios(self.safekeep_runs, self.floor_runs)

    @property
    def bare_ratios(self) -> list[float]:
        return _ratios(self.safekeep_runs, self.bare_runs)


def _ratios(ours: list[Load], theirs: list[Load]) -> list[float]:
    return [a.rate / b.rate for a, b in zip(ours, theirs, strict=True) if b.rate]


def approve_calls(port: int, stream: Stream, cookie: str, token: str) -> Iterator[Call]:
    """Approve every request of the stream once, in order, as htmx posts it from its page."""
    for removal_id in range(stream.first, stream.last + 1):
        yield Call(
            "POST",
            f"/removals/{removal_id}/approve",
            {
                "Cookie": cookie,
                "HX-Request": "true",
                "HX-Target": "status",
                "HX-Current-URL": f"http://127.0.0.1:{port}/records/{stream.records[removal_id]}",
                "X-CSRFToken": token,
            },
            {"csrf_token": token, "version": "1"},
        )


class Driver:
    """The one load generator both apps get: wrk when installed, else the Python one."""

    def __init__(self, workdir: Path, clients: int, python_only: bool):
        self.workdir = workdir
        self.clients = clients
        self.wrk = None if python_only else shutil.which("wrk")

    def describe(self) -> str:
        if self.wrk:
            return f"wrk -t1 -c{self.clients}"
        return f"the bench's Python load generator, {self.clients} connections"

    def run(self, port: int, calls: Iterator[Call], seconds: float, stream: bool) -> Load:
        if self.wrk:
            listed = list(itertools.islice(calls, 200_000))
            return wrk_load(self.wrk, self.workdir, port, listed, self.clients, seconds)
        return python_load(port, calls, self.clients, seconds, stream=stream)


def floor_sign_in(port: int) -> tuple[str, str]:
    """Sign in to the floor app (GET /login makes the person and their session row); return
    the Cookie header and the CSRF token it answers with."""
    cookies: dict[str, str] = {}
    status, token = http_request(port, "GET", "/login?u=1", cookies)
    if status != 200 or not cookies:
        raise RuntimeError(f"could not sign in to the floor app: {status}")
    return "; ".join(f"{k}={v}" for k, v in cookies.items()), token.strip()


APPS = ("safekeep", "floor", "bare")


def load_section(
    url: str, workdir: Path, seeded: Seeded, args, label: str
) -> tuple[list[Measure], Gunicorn | None, list[Gunicorn]]:
    """Serve the three apps, run the rounds, and return the measures and the servers (up)."""
    safekeep = Gunicorn("safekeep", "app:create_app()", url, workdir)
    # The floor is the reference as set: on SQLite (WAL) whatever Safekeep runs on.
    floor = Gunicorn(
        "floor", "tests.bench.stack_floor:app", url, workdir, {"BARE_DB": str(workdir / "floor.db")}
    )
    baseline = Gunicorn("bare", "tests.bench.bare:create_app()", url, workdir)
    servers = [safekeep, floor, baseline]
    if not (
        safekeep.wait_until_ready("/healthz")
        and floor.wait_until_ready("/login?u=0")
        and baseline.wait_until_ready("/bare")
    ):
        print("\n2. Under load: skipped, gunicorn did not start:")
        for server in servers:
            for line in server.log_lines()[-10:]:
                print(f"  {server.name}: {line}")
        return [], None, servers
    manager_cookie, _ = http_sign_in(safekeep.port, LINE_MANAGER)
    approver_cookie, approver_token = http_sign_in(safekeep.port, APPROVER)
    floor_cookie, floor_token = floor_sign_in(floor.port)
    stream = seeded.stream
    floor_page = Call("GET", "/page", {"Cookie": floor_cookie})
    floor_post = Call(
        "POST",
        "/write",
        {"Cookie": floor_cookie, "HX-Request": "true", "X-CSRFToken": floor_token},
        {"csrf_token": floor_token},
    )
    bare_get = Call("GET", "/bare")

    def pages(path: str) -> Callable[[], Iterator[Call]]:
        return lambda: itertools.repeat(Call("GET", path, {"Cookie": manager_cookie}))

    measures = [
        Measure(
            "htmx approve (transition POST)",
            0.5,
            lambda: approve_calls(safekeep.port, stream, approver_cookie, approver_token),
            floor_post,
            Call("POST", "/bare", form={"text": "Approved"}),
            stream=stream,
            goal_p99_ms=15,
        ),
        Measure("team board, line manager", 0.33, pages("/board"), floor_page, bare_get),
        Measure("home page, line manager", 0.33, pages("/"), floor_page, bare_get),
    ]
    driver = Driver(workdir, args.clients, args.python_load)
    print(
        f"\n2. Under load ({label}): gunicorn with {WORKERS} sync workers for each app, "
        f"{driver.describe()}, {args.rounds} rounds of {args.seconds:g} s per request, "
        "Safekeep, the floor (tests/bench/stack_floor.py, on SQLite) and bare in turn."
    )
    print(f"   Before: {load_average()}")
    ports = {"safekeep": safekeep.port, "floor": floor.port, "bare": baseline.port}

    def run(measure: Measure, app: str, seconds: float) -> Load:
        if app == "safekeep":
            if measure.stream:
                measure.stream.reset()
            return driver.run(safekeep.port, measure.safekeep(), seconds, bool(measure.stream))
        call = measure.floor if app == "floor" else measure.bare
        return driver.run(ports[app], itertools.repeat(call), seconds, False)

    for measure in measures:  # warm every app's workers up: imports, templates, caches
        for app in APPS:
            run(measure, app, 1)
    for measure in measures:
        for _ in range(args.rounds):
            measure.safekeep_runs.append(run(measure, "safekeep", args.seconds))
            measure.floor_runs.append(run(measure, "floor", args.seconds))
            measure.bare_runs.append(run(measure, "bare", args.seconds))
    print(f"   After:  {load_average()}")
    client_cpu = [
        (r.client_cpu, r.seconds)
        for m in measures
        for r in m.safekeep_runs + m.floor_runs + m.bare_runs
        if r.client_cpu is not None
    ]
    if client_cpu:
        used = sum(c for c, _ in client_cpu) / sum(s for _, s in client_cpu)
        print(f"   The load generator itself used {used:.2f} of {os.cpu_count()} cores.")
    print_measures(measures)
    return measures, safekeep, servers


def _rate(runs: list[Load]) -> float:
    return statistics.median(r.rate for r in runs) if runs else 0.0


def _latency(runs: list[Load], which: str) -> float:
    return statistics.median(getattr(r, which) for r in runs) if runs else float("nan")


def print_measures(measures: list[Measure]) -> None:
    head = (
        f"   {'request':<32} {'Safekeep':>9} {'p50':>7} {'p99':>7} {'floor':>8} "
        f"{'ratio':>7} {'(min - max)':>15} {'bare':>8} {'ratio':>7}  goal (against the floor)"
    )
    print(head)
    print("   " + "-" * (len(head) - 3))
    for m in measures:
        ratios = m.ratios
        goal = f">= {m.goal_ratio}x" + (f", p99 <= {m.goal_p99_ms:g} ms" if m.goal_p99_ms else "")
        met = bool(ratios) and statistics.median(ratios) >= m.goal_ratio
        if m.goal_p99_ms is not None:
            met = met and _latency(m.safekeep_runs, "p99_ms") <= m.goal_p99_ms
        spread = f"({min(ratios):.3f} - {max(ratios):.3f})" if ratios else ""
        ratio = statistics.median(ratios) if ratios else float("nan")
        bare_ratio = statistics.median(m.bare_ratios) if m.bare_ratios else float("nan")
        p50 = _latency(m.safekeep_runs, "p50_ms")
        p99 = _latency(m.safekeep_runs, "p99_ms")
        print(
            f"   {m.label:<32} {_rate(m.safekeep_runs):>5.0f}/s {p50:>5.1f}ms {p99:>5.1f}ms "
            f"{_rate(m.floor_runs):>6.0f}/s {ratio:>6.3f}x {spread:>15} "
            f"{_rate(m.bare_runs):>6.0f}/s {bare_ratio:>6.3f}x  "
            f"{goal} {'(met)' if met else '(NOT met)'}"
        )
    for m in measures:
        problems: dict[str, int] = {}
        for r in m.safekeep_runs + m.floor_runs + m.bare_runs:
            for kind, n in r.not_ok.items():
                problems[kind] = problems.get(kind, 0) + n
        if problems:
            detail = ", ".join(f"{kind}: {n}" for kind, n in sorted(problems.items()))
            print(f"   Not 200 on {m.label}: {detail}")
        if any(r.ran_out for r in m.safekeep_runs):
            print(f"   The approve stream ran out in a round of {m.label}: raise STREAM_RATE.")
    print(
        "   (req/s: the median round; p50 and p99: Safekeep's, the median round's; ratio: "
        "Safekeep's req/s over the floor's (or bare's) in the same round, median of the rounds)"
    )


def memory_section(servers: list[Gunicorn]) -> list[tuple[str, int]]:
    """Print each worker's peak and current RSS; return Safekeep's workers' peaks."""
    print("\n4. Memory after the load and the browser (from /proc: peak RSS = VmHWM):")
    peaks = []
    for server in servers:
        for n, pid in enumerate(server.workers(), 1):
            used = memory(pid)
            if used is None:
                continue
            peak, rss = used
            if server.name == "safekeep":
                peaks.append((f"worker {n}", peak))
            goal = f"  (goal < {MEMORY_GOAL_MB} MB)" if server.name == "safekeep" else ""
            print(
                f"   {server.name:<9} worker {n} (pid {pid}): peak {mb(peak)}, now {mb(rss)}{goal}"
            )
        logged = [line for line in server.log_lines() if _warning_or_worse(line)]
        if logged:
            print(f"   {server.name}'s gunicorn logged {len(logged)} lines; the last:")
            for line in logged[-5:]:
                print(f"     {line}")
    return peaks


# -- 5. Flat with volume: the same pages at ten times the volume ---------------------------------

FLAT_GOAL = 1.5  # each page's median at the big volume within this multiple of the small's


@dataclass
class Flatness:
    small: tuple[int, int]  # (removals, breach cases)
    big: tuple[int, int]
    rows: list[tuple[Row, Row]]  # (small, big) for each page

    def print(self) -> None:
        (sr, sb), (br, bb) = self.small, self.big
        print(
            f"   {'request':<38} {'who':<6} {'SQL':>9} {'median':>17} {'x':>6} "
            f"{'first':>17}  goal: same SQL, median <= {FLAT_GOAL}x"
        )
        print(
            f"   {'':<38} {'':<6} {'small big':>9} {'small':>8} {'big':>8} {'':>6} "
            f"{'small':>8} {'big':>8}"
        )
        for small, big in self.rows:
            a, b = statistics.median(small.times), statistics.median(big.times)
            ratio = b / a if a else float("nan")
            met = small.statements == big.statements and ratio <= FLAT_GOAL
            cold = "".join(
                f"{'':>9}" if r.cold_ms is None else f"{r.cold_ms:>7.1f}ms " for r in (small, big)
            )
            print(
                f"   {small.label[:38]:<38} {small.who[:6]:<6} {small.statements:>4} "
                f"{big.statements:>4} {a:>6.1f}ms {b:>6.1f}ms {ratio:>5.2f}x {cold} "
                f"{'(met)' if met else '(NOT met)'}"
            )
        print(
            f"   (small: {sr:,} removals and {sb:,} cases; big: {br:,} removals and {bb:,} cases; "
            "the same pages, people and requests, each on its own seeded database)"
        )


def flat_section(kind: str, small_rows: list[Row], args) -> Flatness:
    """Seed a database of this kind at the big volume and measure the same pages on it."""
    workdir = Path(tempfile.mkdtemp(prefix="safekeep-bench-big-"))
    try:
        with database(kind, workdir) as url:
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "SQLITE_PATH": ""})
            with app.app_context():
                db.connect(reuse_if_open=True)
                seeded = seed(args.big_removals, args.big_breaches, 1, args.runs, 1)
            try:
                big_rows = {r.key: r for r in client_section(app, seeded, args.runs, quiet=True)}
            finally:
                with contextlib.suppress(Exception):
                    db.close_all() if hasattr(db.obj, "close_all") else db.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # A record page is a different record at each volume: compared by its place in the list.
    pairs = []
    for small in small_rows:
        big = big_rows.get(small.key) or next(
            (
                r
                for r in big_rows.values()
                if _same_kind(r.label, small.label) and r.who == small.who
            ),
            None,
        )
        if big is not None:
            pairs.append((small, big))
    flat = Flatness((args.removals, args.breaches), (args.big_removals, args.big_breaches), pairs)
    print(f"\n5. Flat with volume ({kind}), Flask's test client, {args.runs} timed requests each:")
    flat.print()
    return flat


def _same_kind(a: str, b: str) -> bool:
    return re.sub(r"\d+", "<id>", a) == re.sub(r"\d+", "<id>", b)


# -- The whole run ------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    measures: list[Measure]
    clicks: list | str
    peaks: list[tuple[str, int]]
    flat: Flatness | None = None


def run_backend(kind: str, label: str, workdir: Path, args) -> Result:
    print(f"\n=== {label} ===")
    with database(kind, workdir) as url:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "SQLITE_PATH": ""})
        # The app logs every request at INFO (JSON, as in production): the measured test-client
        # requests would bury the bench's own output.
        logging.getLogger("safekeep.request").setLevel(logging.WARNING)
        stream_size = int(STREAM_RATE * args.seconds)
        with app.app_context():
            db.connect(reuse_if_open=True)
            seeded = seed(args.removals, args.breaches, stream_size, args.runs, args.clicks)
        small_rows = client_section(app, seeded, args.runs)
        measures: list[Measure] = []
        clicks: list | str = "skipped (--no-browser)"
        peaks: list[tuple[str, int]] = []
        servers: list[Gunicorn] = []
        try:
            if not args.no_load:
                with app.app_context():
                    measures, safekeep, servers = load_section(url, workdir, seeded, args, label)
            else:
                safekeep = Gunicorn("safekeep", "app:create_app()", url, workdir)
                servers = [safekeep]
                if not safekeep.wait_until_ready("/healthz"):
                    safekeep = None
            if not args.no_browser and safekeep is not None:
                clicks = measure_clicks(
                    f"http://127.0.0.1:{safekeep.port}",
                    DEMO_PASSWORD,
                    APPROVER,
                    seeded.browser_approvals,
                    HOLDER,
                    seeded.browser_take_outs,
                )
            first_visits: list[str] | str = "skipped (--no-browser)"
            if not args.no_browser and safekeep is not None:
                first_visits = measure_first_visits(
                    f"http://127.0.0.1:{safekeep.port}", HOLDER, DEMO_PASSWORD
                )
            print("\n3. First visits in Chromium (cache off; every byte, headers included):")
            for line in [first_visits] if isinstance(first_visits, str) else first_visits:
                print(f"   {line}")
            print("\n   Click to settled htmx swap in Chromium, CPU throttled 6x:")
            if isinstance(clicks, str):
                print(f"   {clicks}")
            else:
                for result in clicks:
                    print(f"   {result.label}: {result.describe()}")
            peaks = memory_section(servers)
        finally:
            for server in servers:
                server.stop()
            with contextlib.suppress(Exception):
                if hasattr(db.obj, "close_all"):
                    db.close_all()  # the PostgreSQL pool
                else:
                    db.close()
    flat = None if args.no_flat else flat_section(kind, small_rows, args)
    return Result(label, measures, clicks, peaks, flat)


def summary(results: list[Result], args) -> None:
    print(f"\n=== Summary: {args.removals:,} removals and {args.breaches:,} breach cases ===")
    for result in results:
        print(f"\n{result.backend}")
        if result.measures:
            print_measures(result.measures)
        if not isinstance(result.clicks, str):
            for clicks in result.clicks:
                print(f"   Click to settled, CPU 6x, {clicks.label}: {clicks.describe()}")
        if result.peaks:
            worst = max(peak for _, peak in result.peaks)
            verdict = "within" if worst < MEMORY_GOAL_MB * 1024 else "OVER"
            print(
                f"   Peak RSS of a Safekeep worker: {mb(worst)}, {verdict} the "
                f"{MEMORY_GOAL_MB} MB goal"
            )
        if result.flat is not None:
            print("   Flat with volume:")
            result.flat.print()
    print(f"\n{load_average()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--removals", type=int, default=100_000)
    parser.add_argument("--breaches", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20, help="test-client requests per page")
    parser.add_argument("--seconds", type=float, default=5, help="length of each load round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per request and app")
    parser.add_argument("--clients", type=int, default=8, help="connections kept busy")
    parser.add_argument("--clicks", type=int, default=12, help="browser clicks per action")
    parser.add_argument(
        "--big-removals", type=int, default=1_000_000, help="removals of the flatness run"
    )
    parser.add_argument(
        "--big-breaches", type=int, default=100_000, help="breach cases of the flatness run"
    )
    parser.add_argument("--no-flat", action="store_true", help="skip the flatness run")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-browser", action="store_true", help="skip Chromium")
    parser.add_argument("--no-load", action="store_true", help="skip the load rounds")
    parser.add_argument(
        "--python-load", action="store_true", help="the Python load generator even with wrk"
    )
    args = parser.parse_args(argv)

    backends = [("sqlite", "SQLite (WAL)")]
    if not args.no_postgres:
        if pg_bin() is None:
            print("PostgreSQL is not installed: SQLite only (`make system-deps` installs it).")
        else:
            backends.append(("postgres", "PostgreSQL (a throwaway server on loopback)"))
    print(f"{os.cpu_count()} cores; {load_average()}")
    results = []
    for kind, label in backends:
        workdir = Path(tempfile.mkdtemp(prefix="safekeep-bench-"))
        try:
            results.append(run_backend(kind, label, workdir, args))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    summary(results, args)


if __name__ == "__main__":
    main()
