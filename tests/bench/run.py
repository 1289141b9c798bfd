"""Measure Safekeep at volume: response times, sizes, SQL statements, first-visit weight.

`make bench` runs this. It seeds a synthetic volume (100,000 removals and 10,000 breach cases
by default) into a temporary SQLite database, then measures with Flask's test client:

- median and 95th-percentile response times, the SQL statements each request runs, and the
  response size (raw and gzip) of the board, the register, the breach list, a record page and
  a transition's htmx response;
- the first-visit transfer (the page's HTML plus every CSS and JS file it loads, gzip)
  against the 60 KB budget;
- with `wrk` and gunicorn installed, requests per second for the GET pages (gunicorn sync,
  2 workers, `wrk -t1 -c8`; on a small machine the client competes with the server, so
  compare pages with each other rather than with other machines).

A benchmark, not a test: it prints numbers and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from models import create_schema  # noqa: E402
from models.base import db  # noqa: E402
from models.people import User  # noqa: E402
from models.records import Removal  # noqa: E402
from models.seed import DEMO_PASSWORD  # noqa: E402
from models.volume import seed_volume  # noqa: E402
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


def run_wrk(db_path: Path, pages: list[tuple[Person, str]], seconds: int) -> None:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    wrk = shutil.which("wrk")
    if not wrk or not gunicorn.exists():
        print("\nThroughput: skipped (needs `wrk` and gunicorn).")
        return
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": SECRET}
    server = subprocess.Popen(
        [
            str(gunicorn),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.1)
        print(
            f"\nThroughput: gunicorn sync, 2 workers; wrk -t1 -c8 -d{seconds}s "
            f"(client and server share {os.cpu_count()} cores)"
        )
        # Warm both workers up first (imports, connections, the first template compiles).
        subprocess.run(
            [
                wrk,
                "-t1",
                "-c8",
                "-d1s",
                "-H",
                f"Cookie: {pages[0][0].cookie()}",
                f"http://127.0.0.1:{port}{pages[0][1]}",
            ],
            capture_output=True,
            check=False,
        )
        print(f"{'page':<38} {'who':<5} {'req/s':>8} {'latency avg':>12}")
        for person, url in pages:
            out = subprocess.run(
                [
                    wrk,
                    "-t1",
                    "-c8",
                    f"-d{seconds}s",
                    "-H",
                    f"Cookie: {person.cookie()}",
                    f"http://127.0.0.1:{port}{url}",
                ],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
            latency = re.search(r"Latency\s+([\d.]+\w+)", out)
            non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            note = f"  ({non_2xx[1]} errors)" if non_2xx else ""
            print(
                f"{url[:38]:<38} {person.username:<5} "
                f"{rate[1] if rate else '?':>8} {latency[1] if latency else '?':>12}{note}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--removals", type=int, default=100_000)
    parser.add_argument("--breaches", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50, help="timed requests per page")
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--no-wrk", action="store_true", help="skip the throughput run")
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

        people = {name: Person(app, name) for name in ("lina", "dana", "gov", "pat")}
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

        if not args.no_wrk:
            run_wrk(db_path, pages[:5], args.wrk_seconds)
    finally:
        with contextlib.suppress(Exception):
            db.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
