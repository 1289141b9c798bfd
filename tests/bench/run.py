"""Measure Safekeep at volume: response times, sizes, SQL statements, first-visit weight.

`make bench` runs this. It seeds a synthetic volume (100,000 removals and 10,000 breach cases
by default) into a temporary SQLite database, then measures with Flask's test client:

- median and 95th-percentile response times, the SQL statements each request runs, and the
  response size (raw and gzip) of the board, the register, the breach list, a record page and
  a transition's htmx response;
- the first-visit transfer (the page's HTML plus every CSS and JS file it loads, gzip)
  against the 60 KB budget;
- throughput over real HTTP: gunicorn (2 sync workers) on the same database, a line manager
  signed in through /sign-in, and 8 concurrent clients on the board and a record page for
  10 s each: requests per second, median and 95th-percentile latency, and errors (anything
  but a 200); then the peak and current RSS and the PSS of the gunicorn master and each worker.
  The load comes from `wrk -t1 -c8` when it is installed, else from Python threads here. On a
  small machine the client competes with the server, so compare pages with each other rather
  than with other machines.

A benchmark, not a test: it prints numbers and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from demo.accounts import DEMO_PASSWORD  # noqa: E402
from demo.volume import seed_volume  # noqa: E402
from models import create_schema  # noqa: E402
from models.base import db  # noqa: E402
from models.people import User  # noqa: E402
from models.records import Removal  # noqa: E402
from tests.querycount import StatementCounter  # noqa: E402

BUDGET = 60 * 1024  # first visit, gzip: HTML + CSS + JS
SECRET = "bench-secret"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ASSETS = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="(/static/[^"]+)"')
_IMPORTS = re.compile(r'(?:import|from)\s*["\'](/static/[^"\']+)["\']')


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def kb(size: float) -> str:
    return f"{size / 1024:.1f} KB"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


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

    def cookie(self) -> str:
        cookie = self.client.get_cookie("safekeep_session")
        return f"safekeep_session={cookie.value}"


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
    for _ in range(3):
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
        url, person.username, times, statements, len(body), gz(body), first, response.status_code
    )


def measure_transition(person: Person, runs: int, counter: StatementCounter) -> Row | None:
    """Approve waiting requests one after another, as htmx posts them from the record page."""
    waiting = list(
        Removal.select(Removal.id, Removal.version)
        .where(
            Removal.state == "requested",
            Removal.team == person.user.team_id,
            Removal.for_user != person.user.id,
        )
        .order_by(Removal.id)
        .limit(runs + 1)
        .tuples()
    )
    if len(waiting) < 2:
        return None
    times: list[float] = []
    statements = 0
    response = None
    for n, (removal_id, version) in enumerate(waiting):
        post = lambda rid=removal_id, v=version: person.client.post(  # noqa: E731
            f"/removals/{rid}/approve",
            data={"csrf_token": person.csrf, "version": v, "note": ""},
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
        f"{'request':<38} {'who':<5} {'median':>8} {'p95':>8} {'SQL':>4} "
        f"{'HTML':>9} {'gzip':>8} {'1st visit':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        first = "" if r.first_visit is None else kb(r.first_visit)
        flag = " OVER" if r.first_visit and r.first_visit > BUDGET else ""
        status = "" if r.status == 200 else f"  (HTTP {r.status})"
        print(
            f"{r.label[:38]:<38} {r.who:<5} {statistics.median(r.times):>6.1f}ms "
            f"{percentile(r.times, 0.95):>6.1f}ms {r.statements:>4} {kb(r.raw):>9} "
            f"{kb(r.gzip):>8} {first:>10}{flag}{status}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- Throughput: gunicorn on the seeded database, driven by wrk or by Python threads ----------

WORKERS = 2  # gunicorn sync workers: one per core on the 2-core machine this is tuned for
# What a browser sends, so the server pays for compressing as it does for real visitors.
ACCEPT_ENCODING = "br, gzip, deflate"
_WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_ok = 0 end
function request()
  return wrk.format(nil, nil, {["Cookie"] = os.getenv("BENCH_COOKIE"),
                               ["Accept-Encoding"] = os.getenv("BENCH_ACCEPT_ENCODING")})
end
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local not_ok = 0
  for _, t in ipairs(threads) do not_ok = not_ok + t:get("not_ok") end
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95), not_ok,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Load:
    """One fixed-time load run against one page."""

    requests: int  # responses received, whatever their status
    seconds: float
    median_ms: float
    p95_ms: float
    not_ok: dict[str, int]  # "HTTP 302": n, "ConnectionResetError": n — anything but a 200
    client_cpu: float | None = None  # CPU seconds the Python load generator used itself

    @property
    def errors(self) -> int:
        return sum(self.not_ok.values())


def _warning_or_worse(line: str) -> bool:
    """A log line to show: the app logs each request at INFO (JSON), as in production."""
    if not line.strip():
        return False
    try:
        return json.loads(line).get("level") not in ("DEBUG", "INFO")
    except (ValueError, AttributeError):
        return True  # not one of ours: show it


class Gunicorn:
    """gunicorn serving the bench database on a free loopback port; `stop()` always ends it.

    Every file it makes (log, worker heartbeat files, SQLite's -wal and -shm) stays in
    `workdir`; the control socket gunicorn 23+ would put in ~/.gunicorn is switched off.
    """

    def __init__(self, db_path: Path, workdir: Path):
        self.port = _free_port()
        self.log = workdir / "gunicorn.log"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "SECRET_KEY": SECRET,
            "SESSION_COOKIE_SECURE": "0",  # the cookie must come back over plain http
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(workdir),
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
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
                    "app:create_app()",
                ],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self, timeout: float = 60) -> bool:
        """True once GET /healthz answers 200; False if gunicorn exits or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_request(self.port, "GET", "/healthz")[0] == 200:
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
            return self.log.read_text(errors="replace").splitlines()
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


def mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:.1f} MB"


def memory(pid: int) -> tuple[int, int, int | None] | None:
    """(peak RSS, RSS, PSS) of a process in kB, from /proc; None when it is gone.

    RSS counts pages a worker still shares with the master since the fork in both; PSS
    shares them out, so the PSS of the master and its workers add up to what they use together.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.M))
    pss = None
    with contextlib.suppress(OSError, TypeError):
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        pss = int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)[1])
    return int(fields.get("VmHWM", 0)), int(fields.get("VmRSS", 0)), pss


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


def http_sign_in(port: int, username: str) -> dict[str, str]:
    """Sign in over HTTP as a browser does; return the cookies of the new session."""
    cookies: dict[str, str] = {}
    status, page = http_request(port, "GET", "/sign-in", cookies)
    token = _CSRF.search(page)
    if status != 200 or not token:
        raise RuntimeError(f"GET /sign-in answered {status} without a csrf_token")
    form = {"username": username, "password": DEMO_PASSWORD, "csrf_token": token[1]}
    status, _ = http_request(port, "POST", "/sign-in", cookies, form)
    if status != 303 or "safekeep_session" not in cookies:
        raise RuntimeError(f"could not sign in as {username} over HTTP: {status}")
    return cookies


def python_load(port: int, path: str, cookie: str, clients: int, seconds: float) -> Load:
    """`clients` threads, each one HTTP/1.1 connection (reopened when the server closes it),
    sending GET `path` back to back for `seconds`. Every response but a 200 is an error."""
    headers = {"Cookie": cookie, "Accept-Encoding": ACCEPT_ENCODING}
    latencies: list[list[float]] = [[] for _ in range(clients)]
    not_ok: list[dict[str, int]] = [{} for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    deadline = 0.0

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                kind = type(error).__name__
                not_ok[n][kind] = not_ok[n].get(kind, 0) + 1
                continue
            latencies[n].append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                kind = f"HTTP {response.status}"
                not_ok[n][kind] = not_ok[n].get(kind, 0) + 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    began = time.perf_counter()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    times = [t for per_client in latencies for t in per_client]
    errors: dict[str, int] = {}
    for per_client in not_ok:
        for kind, count in per_client.items():
            errors[kind] = errors.get(kind, 0) + count
    return Load(
        len(times),
        elapsed,
        statistics.median(times) if times else math.nan,
        percentile(times, 0.95) if times else math.nan,
        errors,
        cpu,
    )


def wrk_load(
    wrk: str, script: Path, port: int, path: str, cookie: str, clients: int, seconds: float
) -> Load:
    """wrk with one thread and `clients` connections; its Lua script counts non-200s."""
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{clients}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        env={**os.environ, "BENCH_COOKIE": cookie, "BENCH_ACCEPT_ENCODING": ACCEPT_ENCODING},
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out.stdout, re.M)
    if not found:
        raise RuntimeError(f"wrk gave no result: {(out.stderr or out.stdout).strip()[:300]}")
    requests, duration, p50, p95, not_200, socket_errors = map(int, found.groups())
    not_ok = {}
    if not_200:
        not_ok["not 200"] = not_200
    if socket_errors:
        not_ok["socket errors"] = socket_errors
    return Load(requests, duration / 1e6, p50 / 1000, p95 / 1000, not_ok)


def run_throughput(
    db_path: Path,
    workdir: Path,
    username: str,
    paths: list[str],
    seconds: float,
    clients: int,
    force_python: bool = False,
) -> None:
    """Requests per second, latency and errors under load, then each process's memory."""
    if not Path(sys.executable).with_name("gunicorn").exists():
        print("\nThroughput: skipped (needs gunicorn in the virtualenv).")
        return
    wrk = None if force_python else shutil.which("wrk")
    driver = (
        f"wrk -t1 -c{clients}"
        if wrk
        else f"Python load generator, {clients} client threads (wrk is not installed)"
        if not force_python
        else f"Python load generator, {clients} client threads"
    )
    script = workdir / "bench.lua"
    if wrk:
        script.write_text(_WRK_SCRIPT)

    def load(path: str, cookie: str, duration: float) -> Load:
        if wrk:
            return wrk_load(wrk, script, server.port, path, cookie, clients, duration)
        return python_load(server.port, path, cookie, clients, duration)

    server = Gunicorn(db_path, workdir)
    try:
        if not server.wait_until_ready():
            print("\nThroughput: skipped, gunicorn did not start:")
            for line in server.log_lines()[-15:]:
                print(f"  {line}")
            return
        try:
            cookies = http_sign_in(server.port, username)
        except (RuntimeError, OSError, http.client.HTTPException) as error:
            print(f"\nThroughput: skipped, {error}.")
            return
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        first = {path: http_request(server.port, "GET", path, dict(cookies))[0] for path in paths}
        print(
            f"\nThroughput: gunicorn, {WORKERS} sync workers, SQLite; {driver}, {seconds:g} s "
            f"per page, signed in over HTTP as {username}, Accept-Encoding: {ACCEPT_ENCODING}"
        )
        print(
            f"(client and server share {os.cpu_count()} cores, so compare pages with each other "
            "rather than with other machines; sync workers close the connection after each "
            "response)"
        )
        for path, status in first.items():
            if status != 200:
                print(f"Note: GET {path} as {username} answers {status}, not 200, before the run.")
        # Warm both workers up first (imports, the connection, the first template compiles).
        for path in paths:
            load(path, cookie, 1)
        head = (
            f"{'page':<38} {'who':<5} {'req/s':>7} {'requests':>8} {'median':>8} {'p95':>8} "
            f"{'errors':>6}"
        )
        print(head)
        print("-" * len(head))
        results = []
        for path in paths:
            result = load(path, cookie, seconds)
            results.append(result)
            detail = ", ".join(f"{kind}: {n}" for kind, n in sorted(result.not_ok.items()))
            print(
                f"{path[:38]:<38} {username:<5} {result.requests / result.seconds:>7.1f} "
                f"{result.requests:>8} {result.median_ms:>6.1f}ms {result.p95_ms:>6.1f}ms "
                f"{result.errors:>6}{f'  ({detail})' if detail else ''}"
            )
        cpu = [r.client_cpu for r in results if r.client_cpu is not None]
        if cpu:
            used = sum(cpu) / sum(r.seconds for r in results if r.client_cpu is not None)
            print(f"The load generator itself used {used:.2f} of the {os.cpu_count()} cores.")

        print("\nMemory after the run (from /proc: peak RSS = VmHWM, RSS = VmRSS, PSS):")
        print(f"  {'process':<10} {'pid':>7} {'peak RSS':>10} {'RSS':>10} {'PSS':>10}")
        total_pss = 0
        for label, pid in [("master", server.process.pid)] + [
            (f"worker {n}", pid) for n, pid in enumerate(server.workers(), 1)
        ]:
            used = memory(pid)
            if used is None:
                print(f"  {label:<10} {pid:>7} (gone)")
                continue
            peak, rss, pss = used
            total_pss += pss or 0
            pss_text = mb(pss) if pss is not None else "?"
            print(f"  {label:<10} {pid:>7} {mb(peak):>10} {mb(rss):>10} {pss_text:>10}")
        if total_pss:
            print(f"  {'together':<10} {'':>7} {'':>10} {'':>10} {mb(total_pss):>10}")
        if server.process.poll() is None and len(server.workers()) != WORKERS:
            print(f"  (gunicorn has {len(server.workers())} workers, not {WORKERS})")
        logged = [line for line in server.log_lines() if _warning_or_worse(line)]
        if logged:
            print(f"\ngunicorn logged {len(logged)} lines at warning level or above; the last:")
            for line in logged[-10:]:
                print(f"  {line}")
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--removals", type=int, default=100_000)
    parser.add_argument("--breaches", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50, help="timed requests per page")
    parser.add_argument(
        "--seconds",
        "--wrk-seconds",
        type=float,
        default=10,
        help="length of each page's throughput run",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients under load")
    parser.add_argument(
        "--no-throughput", "--no-wrk", action="store_true", help="skip the throughput run"
    )
    parser.add_argument(
        "--python-load",
        action="store_true",
        help="drive the load from Python even when wrk is installed",
    )
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="safekeep-bench-"))
    db_path = workdir / "bench.db"
    try:
        app = create_app({"DATABASE_URL": None, "SQLITE_PATH": str(db_path), "SECRET_KEY": SECRET})
        with app.app_context():
            db.connect(reuse_if_open=True)
            create_schema()
            started = time.perf_counter()
            result = seed_volume(removals=args.removals, breaches=args.breaches)
            seconds = time.perf_counter() - started
            size = db_path.stat().st_size / 2**20
            print(
                f"Seeded {result.records:,} records, {result.removals:,} removals and "
                f"{result.breaches:,} breach cases into SQLite in {seconds:.1f} s "
                f"({size:.1f} MB).\n"
            )

        people = {name: Person(app, name) for name in ("lina", "dana", "gov", "pat", "rita")}
        out_with_pat = (
            Removal.select(Removal.record)
            .where(Removal.state == "out", Removal.for_user == people["pat"].user.id)
            .order_by(Removal.id)
            .scalar()
        )
        pages = [
            (people["lina"], "/board"),
            (people["dana"], "/board"),
            (people["gov"], "/register"),
            (people["gov"], "/register?category=wrong_recipient&state=closed"),
            (people["gov"], "/breaches"),
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
        assets: dict[str, bytes] = {}
        rows = [measure_get(person, url, args.runs, counter, assets) for person, url in pages]
        transition = measure_transition(people["lina"], args.runs, counter)
        if transition:
            rows.append(transition)
        sign_in = app.test_client().get("/sign-in").get_data()
        counter.uninstall()

        print(
            f"{args.runs} timed requests each, Flask test client, SQLite "
            "(median and 95th percentile; SQL = statements per request)\n"
        )
        print_table(rows)
        print("\nStatic files (each fetched once, then cached):")
        for path, body in assets.items():
            print(f"  {path:<40} {kb(len(body)):>9} raw {kb(gz(body)):>8} gzip")
        landing = next(r for r in rows if r.label == "/board")
        sign_in_files = assets_of(app.test_client(), sign_in.decode(), assets)
        sign_in_first = gz(sign_in) + sum(gz(assets[f]) for f in sign_in_files)
        for label, size in (
            ("sign-in page", sign_in_first),
            ("line manager's board", landing.first_visit),
        ):
            verdict = "within" if size <= BUDGET else "OVER"
            print(
                f"First visit, {label} (HTML + CSS + JS, gzip): {kb(size)} — {verdict} the "
                f"{kb(BUDGET)} budget"
            )

        if not args.no_throughput:
            # A line manager's two busiest pages: the board and a record of their team's.
            paths = ["/board"] + ([f"/records/{out_with_pat}"] if out_with_pat else [])
            run_throughput(
                db_path, workdir, "lina", paths, args.seconds, args.clients, args.python_load
            )
    finally:
        with contextlib.suppress(Exception):
            db.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
