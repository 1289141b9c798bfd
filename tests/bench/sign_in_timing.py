"""How long a failed sign-in takes, by reason: does the timing tell which accounts exist?

    .venv/bin/python tests/bench/sign_in_timing.py [--rounds 40] [--database-url URL]

Signs in through the Flask test client (CSRF and all) against a temporary SQLite database, or
the PostgreSQL database at --database-url (its tables are dropped and recreated: use a
throwaway one), and prints the median and 90th percentile per case: an unknown username, a
real account with a wrong password, a locked account, and a disabled one. Cases are
interleaved round by round so machine load falls on all of them alike. Compare the cases with
each other, not with other machines.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from models import ALL_MODELS, create_schema  # noqa: E402
from models.base import db  # noqa: E402
from models.people import User  # noqa: E402
from tests.conftest import PASSWORD, People  # noqa: E402
from tests.http.conftest import csrf_from  # noqa: E402


def attempt(client, username: str, password: str) -> float:
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    started = time.perf_counter()
    response = client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 401, response.status_code
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.getLogger("safekeep.security").setLevel(logging.ERROR)  # every try is a warning
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "AUDIT_HMAC_KEY": "bench",
                "AUDIT_CHECKPOINT_FILE": f"{tmp}/checkpoints",
                "DATABASE_URL": args.database_url,
                "SQLITE_PATH": f"{tmp}/bench.db",
            }
        )
        with app.app_context():
            db.connect(reuse_if_open=True)
            if args.database_url:
                db.drop_tables(ALL_MODELS, safe=True, cascade=True)
            create_schema()
            people = People()
            people.add("pat")
            people.add("lee")
            disabled = people.add("dee")
            User.update(active=False).where(User.id == disabled.id).execute()
        client = app.test_client()
        for _ in range(5):
            attempt(client, "lee", "wrong")  # lee is locked from here on
        cases = {
            "unknown username": ("nobody-at-all", PASSWORD),
            "wrong password": ("pat", "wrong"),
            "locked account": ("lee", PASSWORD),
            "disabled account": ("dee", PASSWORD),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for round_ in range(args.rounds):
            for name, (username, password) in cases.items():
                times[name].append(attempt(client, username, password))
            if round_ % 4 == 3:
                with app.app_context():  # keep pat below the lock: wrong tries are counted
                    User.update(failed_sign_ins=0).where(User.username == "pat").execute()
        backend = "PostgreSQL" if args.database_url else "SQLite"
        print(f"Failed sign-in, ms ({args.rounds} rounds, {backend}):")
        for name, values in times.items():
            values.sort()
            p90 = values[int(len(values) * 0.9) - 1]
            print(f"  {name:<18} median {statistics.median(values):6.1f}   p90 {p90:6.1f}")


if __name__ == "__main__":
    main()
