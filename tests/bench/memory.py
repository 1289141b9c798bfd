"""Where a gunicorn worker's memory goes: each worker's peak and current RSS, step by step.

    .venv/bin/python -m tests.bench.memory                 # SQLite, 4,000 removals, about 30 s
    .venv/bin/python -m tests.bench.memory --postgres      # a throwaway PostgreSQL server

`make bench` prints each worker's peak resident memory (VmHWM) once, after all its load and
the browser; when that grows, this finds the step that grew it. It starts Safekeep as the
bench does (tests/bench/run.py's `Gunicorn`: deploy/gunicorn.conf.py, 2 sync workers, no
worker replaced part way) on a database seeded as the bench seeds it, at a small volume, and
prints each worker's VmHWM and VmRSS from /proc after the workers have imported the app and
after each kind of request the bench and its browser make: sign-in (argon2 at its memory
cost), the line manager's home page and board, htmx approves, record pages, Take out, the
static files as a browser asks for them (Brotli accepted), and signing in again once the
worker holds all that. Compare two commits by running it in a worktree of each.

A benchmark, not a test: it prints and asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from app import create_app
from models.base import db
from models.records import Removal
from tests.bench import run as bench
from tests.bench.load import Call

WIDTH = 46


def request(port: int, call: Call) -> int:
    """One request as the load generator sends it; its status."""
    body = urlencode(call.form) if call.form else None
    headers = dict(call.headers)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(call.method, call.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class Steps:
    """Prints each worker's peak and current RSS after each step, and what the step added."""

    def __init__(self, server: bench.Gunicorn):
        self.server = server
        self.last: dict[int, int] = {}
        heading = " | ".join(f"worker {n}: peak (+step)   now" for n in (1, 2))
        print(f"{'after':<{WIDTH}} {heading}")

    def __call__(self, label: str, statuses: list[int] | None = None) -> None:
        cells = []
        for pid in self.server.workers():
            used = bench.memory(pid)
            if used is None:
                continue
            peak, rss = used
            grew = peak - self.last.get(pid, peak)
            self.last[pid] = peak
            cells.append(f"{bench.mb(peak):>8} ({grew / 1024:+5.1f}) {bench.mb(rss):>8}")
        if statuses:
            counts = ", ".join(f"{n} x {s}" for s, n in sorted(_count(statuses).items()))
            label = f"{label} ({counts})"
        print(f"{label:<{WIDTH}} " + " | ".join(cells), flush=True)


def _count(statuses: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def walk(server: bench.Gunicorn, seeded: bench.Seeded, take_outs: list[int], n: int) -> None:
    """The bench's requests, a kind at a time, with the workers' memory after each."""
    step = Steps(server)
    # Both workers import the app when they start: wait for that without asking anything.
    deadline = time.monotonic() + 60
    while len(server.workers()) < bench.WORKERS and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(5)
    step("start (the app imported, no request)")
    if not server.wait_until_ready("/healthz"):
        raise RuntimeError("gunicorn did not answer /healthz")
    step("/healthz", [request(server.port, Call("GET", "/healthz")) for _ in range(n)])
    step("the sign-in page", [request(server.port, Call("GET", "/sign-in")) for _ in range(n)])
    people = [bench.LINE_MANAGER, bench.APPROVER, bench.HOLDER]
    signed_in = {}
    for _ in range(3):
        signed_in = {who: bench.http_sign_in(server.port, who) for who in people}
    step("9 sign-ins (each then its home page)")
    manager = {"Cookie": signed_in[bench.LINE_MANAGER][0]}
    for path, label in (("/", "home page"), ("/board", "board")):
        statuses = [request(server.port, Call("GET", path, manager)) for _ in range(n)]
        step(f"the line manager's {label} x {n}", statuses)
    cookie, token = signed_in[bench.APPROVER]
    calls = bench.approve_calls(server.port, seeded.stream, cookie, token)
    statuses = [request(server.port, call) for call, _ in zip(calls, range(4 * n), strict=False)]
    step(f"{4 * n} x htmx approve", statuses)
    holder = {"Cookie": signed_in[bench.HOLDER][0]}
    pages = seeded.browser_approvals + seeded.browser_take_outs
    statuses = [request(server.port, Call("GET", f"/records/{r}", holder)) for r in pages]
    step(f"{len(pages)} record pages", statuses)
    cookie, token = signed_in[bench.HOLDER]
    ticked = dict.fromkeys(("lockable_bag", "laptop_protected", "no_usb_stick"), "yes")
    ticked["notebook_secure"] = "yes"
    headers = {"Cookie": cookie, "HX-Request": "true", "X-CSRFToken": token}
    form = {"csrf_token": token, "version": "1", **ticked}
    statuses = [
        request(server.port, Call("POST", f"/removals/{r}/take_out", headers, form))
        for r in take_outs
    ]
    step(f"{len(take_outs)} x htmx Take out", statuses)
    _, page = bench.http_request(server.port, "GET", "/sign-in")
    assets = sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page)))
    accepts = {"Accept-Encoding": "gzip, deflate, br"}
    statuses = [request(server.port, Call("GET", a, accepts)) for a in assets for _ in range(4)]
    step(f"its {len(assets)} static files x 4, Brotli", statuses)
    for _ in range(3):
        for who in people:
            bench.http_sign_in(server.port, who)
    step("9 sign-ins again")
    for path in ("/", "/board") * (n // 2):
        request(server.port, Call("GET", path, manager))
    step("home pages and boards again")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server")
    parser.add_argument("--removals", type=int, default=4000)
    parser.add_argument("--breaches", type=int, default=400)
    parser.add_argument("--requests", type=int, default=40, help="of each kind (approves: 4x)")
    args = parser.parse_args(argv)
    kind = "postgres" if args.postgres else "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="safekeep-memory-"))
    try:
        with bench.database(kind, workdir) as url:
            app = create_app({"DATABASE_URL": url, "SECRET_KEY": bench.SECRET, "SQLITE_PATH": ""})
            with app.app_context():
                db.connect(reuse_if_open=True)
                seeded = bench.seed(args.removals, args.breaches, 4 * args.requests, 1, 12)
                take_outs = [
                    removal_id
                    for (removal_id,) in Removal.select(Removal.id)
                    .where(Removal.record.in_(seeded.browser_take_outs))
                    .tuples()
                ]
                db.close()
            print(f"{kind}, 2 sync workers; {bench.load_average()}")
            server = bench.Gunicorn("safekeep", "app:create_app()", url, workdir)
            try:
                walk(server, seeded, take_outs, args.requests)
            finally:
                server.stop()
                if hasattr(db.obj, "close_all"):
                    db.close_all()  # the PostgreSQL pool, before its server stops
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
