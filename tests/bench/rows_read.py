"""Work per list page at a volume: statements, SQLite's VM steps and CPU per request.

Wall-clock time on a shared machine says more about the neighbours than about Safekeep, so
this counts work instead: each page's statements are caught, then each SELECT is run again on
a connection of its own with SQLite's progress handler (virtual-machine steps: rows read, not
time), and CPU time per request (`time.process_time`, best of `--rounds`) in-process through
Flask's test client. Seed a database once, then measure it (copies of one seeded database let
two versions of the code be compared on the same rows; `measure` upgrades it first):

  .venv/bin/python -m tests.bench.rows_read seed v100k.db --removals 100000
  .venv/bin/python -m tests.bench.rows_read measure v100k.db
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from models import create_schema  # noqa: E402
from models.base import db  # noqa: E402
from models.people import User  # noqa: E402
from models.records import Record  # noqa: E402
from tests.bench.run import Person, load_average  # noqa: E402
from tests.querycount import StatementCounter  # noqa: E402

STEP_EVERY = 10  # the progress handler is called every this many VM steps

WHERE = ("in_office", "out", "overdue", "destroyed", "lost")
PAGES = [
    ("lina", "/"),
    ("lina", "/board"),
    ("lina", "/approvals"),
    ("lina", "/breaches"),
    ("lina", "/send"),
    ("lina", "/records/where"),
    *[("lina", f"/records/where?where={where}") for where in WHERE],
    ("pat", "/"),
    ("pat", "/breaches"),
    ("pat", "/send"),
    ("pat", "search"),
    ("dana", "/"),
    ("dana", "/board"),
    ("dana", "/approvals"),
    ("dana", "/breaches"),
    ("gov", "/"),
    ("gov", "/register"),
    ("gov", "/register?category=wrong_recipient&state=closed"),
    ("gov", "/breaches"),
    ("gov", "/breaches?page=5"),
    ("cal", "/breaches"),
    ("rita", "/"),
    ("rita", "/records/where"),
    ("rita", "/records/where?page=4"),
    *[("rita", f"/records/where?where={where}") for where in WHERE],
]


def app_for(path: Path):
    return create_app(
        {"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "rows-read", "SQLITE_PATH": ""}
    )


def seed(path: Path, removals: int) -> None:
    from demo.volume import seed_volume

    app = app_for(path)
    with app.app_context():
        db.connect(reuse_if_open=True)
        create_schema()
        result = seed_volume(removals=removals, breaches=removals // 10)
        print(f"{result.records:,} records, {result.removals:,} removals in {result.seconds:.0f} s")
        db.close()


def vm_steps(path: Path, statements: list[str], parameters: list[tuple]) -> int:
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += STEP_EVERY
        return 0

    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.set_progress_handler(count, STEP_EVERY)
    for sql, params in zip(statements, parameters, strict=True):
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            connection.execute(sql, params).fetchall()
    connection.close()
    return steps


def measure(path: Path, rounds: int, requests: int, only: str | None) -> None:
    app = app_for(path)
    with app.app_context():
        db.connect(reuse_if_open=True)
        create_schema()
        pat = User.by_username("pat")
        term = Record.select(Record.case_id).where(Record.team == pat.team_id).scalar()
    people = {name: Person(app, name) for name in {who for who, _ in PAGES}}
    counter = StatementCounter()
    print(load_average())
    print(f"{'who':<5} {'page':<52} {'status':>6} {'SQL':>4} {'VM steps':>10} {'CPU ms':>7}")
    for who, url in PAGES:
        if only and only not in url:
            continue
        person = people[who]

        def call(person=person, url=url):
            if url == "search":
                return person.client.post(
                    "/records", data={"term": term, "csrf_token": person.csrf}
                )
            return person.client.get(url)

        for _ in range(2):
            response = call()
        counter.install()
        with counter.counting():
            response = call()
        counter.uninstall()
        steps = vm_steps(path, counter.statements, counter.parameters)
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(requests):
                call()
            best = min(best, (time.process_time() - started) * 1000 / requests)
        print(
            f"{who:<5} {url:<52} {response.status_code:>6} {counter.count:>4} "
            f"{steps:>10,} {best:>7.1f}"
        )
    print(load_average())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["seed", "measure"])
    parser.add_argument("database", type=Path)
    parser.add_argument("--removals", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--only", help="measure only the pages whose address has this")
    args = parser.parse_args(argv)
    if args.action == "seed":
        seed(args.database, args.removals)
    else:
        measure(args.database, args.rounds, args.requests, args.only)


if __name__ == "__main__":
    main()
