"""CPU per request in-process: the three requests issue 28 sets against the floor.

The line manager's home page and team board, and an htmx approve (each approving a fresh
waiting request), through Flask's test client on a SQLite database seeded small. CPU time
(`time.process_time`), not wall-clock: the machine's cores are shared, so wall time says
more about the neighbours than about Safekeep. Best of `--rounds` rounds of `--requests`
each; `--profile` prints cProfile's top functions instead (by cumulative and own time).
`--postgres` runs them on a throwaway PostgreSQL server instead, and prints wall-clock time
beside the CPU: the server's own work is not this process's CPU.

  .venv/bin/python -m tests.bench.per_request --rounds 5 --requests 40
  .venv/bin/python -m tests.bench.per_request --profile board
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from models.base import db  # noqa: E402
from tests.bench.run import APPROVER, LINE_MANAGER, Person, load_average, seed  # noqa: E402
from tests.pgserver import throwaway_postgres  # noqa: E402
from tests.querycount import StatementCounter  # noqa: E402


def requests(app, approvals: list[int]) -> dict[str, Callable[[], int]]:
    """Each measured request as a call returning its status."""
    manager = Person(app, LINE_MANAGER)
    approver = Person(app, APPROVER)
    waiting = iter(approvals)

    def approve() -> int:
        return approver.client.post(
            f"/removals/{next(waiting)}/approve",
            data={"csrf_token": approver.csrf, "version": 1},
            headers={"HX-Request": "true", "HX-Target": "status"},
        ).status_code

    return {
        "home": lambda: manager.client.get("/").status_code,
        "board": lambda: manager.client.get("/board").status_code,
        "approve": approve,
        # What every signed-in page pays before its own content: the session check, CSRF
        # token, navigation and the GOV.UK layout, around a page of static text.
        "signed-in": lambda: manager.client.get("/accessibility").status_code,
    }


def cpu_and_wall_ms(call: Callable[[], int], count: int) -> tuple[float, float]:
    started, started_wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        status = call()
        if status != 200:
            raise SystemExit(f"HTTP {status}")
    cpu, wall = time.process_time() - started, time.perf_counter() - started_wall
    return cpu * 1000 / count, wall * 1000 / count


@contextmanager
def database_url(postgres: bool) -> Iterator[str]:
    if postgres:
        with throwaway_postgres("per_request") as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as workdir:
        yield f"sqlite:///{Path(workdir) / 'bench.db'}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--removals", type=int, default=2000)
    parser.add_argument("--breaches", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--profile", choices=["home", "board", "approve", "signed-in"])
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL")
    args = parser.parse_args(argv)
    approvals_needed = args.rounds * args.requests + 20
    with database_url(args.postgres) as url:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "per-request", "SQLITE_PATH": ""})
        with app.app_context():
            db.connect(reuse_if_open=True)
            seeded = seed(args.removals, args.breaches, 1, approvals_needed, 1)
        calls = requests(app, seeded.client_approvals)
        for call in calls.values():  # warm: templates compiled, caches filled
            for _ in range(3):
                call()
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.requests):
                calls[args.profile]()
            profile.disable()
            stats = pstats.Stats(profile)
            stats.sort_stats("cumulative").print_stats(
                "(views|models|services|machines|app)[/.]", 40
            )  # Safekeep's own code
            stats.strip_dirs()
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(30)
            return
        counter = StatementCounter()
        counter.install()
        statements = {}
        for name, call in calls.items():
            with counter.counting():
                call()
            statements[name] = counter.count
        counter.uninstall()
        best = {
            name: min(cpu_and_wall_ms(call, args.requests) for _ in range(args.rounds))
            for name, call in calls.items()
        }
        print(load_average(), "PostgreSQL" if args.postgres else "SQLite")
        for name in calls:
            cpu, wall = best[name]
            print(
                f"{name:<9} {cpu:6.2f} ms CPU {wall:6.2f} ms wall  {statements[name]:3d} statements"
            )


if __name__ == "__main__":
    main()
