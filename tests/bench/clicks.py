"""Only the clicks of `make bench` (Approve and Take out at 6x CPU), on a small seeded app.

    .venv/bin/python -m tests.bench.clicks [--clicks 12] [--rounds 2] [--postgres]
        [--against DIR]

With `--against DIR` (another checkout of Safekeep, its static files built) both versions are
served side by side from one database and clicked in alternating rounds, this checkout first,
so that the machine's other work falls on both alike; the load average is printed each round.
The seed is small (the clicks do not grow with volume: one record's page and its history).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.bench import run
from tests.bench.browser import CHROMIUM, LAUNCH_ARGS, WARM_UP, Clicks, _tick_safeguards
from tests.bench.browser import _time_clicks as time_clicks
from tests.bench.load import percentile


def _slices(ids: list[int], parts: int) -> list[list[int]]:
    size = len(ids) // parts
    return [ids[i * size : (i + 1) * size] for i in range(parts)]


def _one_round(browser, base_url: str, approvals, take_outs, throttle: float) -> dict:
    return {
        "Approve": time_clicks(
            browser, base_url, run.APPROVER, run.DEMO_PASSWORD, approvals, "Approve", throttle
        ),
        "Take out": time_clicks(
            browser,
            base_url,
            run.HOLDER,
            run.DEMO_PASSWORD,
            take_outs,
            "Take out",
            throttle,
            before=_tick_safeguards,
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--removals", type=int, default=2000)
    parser.add_argument("--breaches", type=int, default=200)
    parser.add_argument("--clicks", type=int, default=12, help="timed clicks per action a round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per version")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--against", type=Path, help="another checkout to alternate with")
    parser.add_argument("--throttle", type=float, default=6)
    args = parser.parse_args(argv)

    versions = [("this", run.ROOT)]
    if args.against:
        versions.append(("against", args.against.resolve()))
    slots = args.rounds * len(versions)
    kind = "postgres" if args.postgres else "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix="safekeep-clicks-"))
    servers: list[run.Gunicorn] = []
    try:
        with run.database(kind, workdir) as url:
            app = run.create_app({"DATABASE_URL": url, "SECRET_KEY": run.SECRET, "SQLITE_PATH": ""})
            with app.app_context():
                run.db.connect(reuse_if_open=True)
                seeded = run.seed(
                    args.removals, args.breaches, 1, 1, (args.clicks + WARM_UP) * slots
                )
                run.db.close()
            for name, root in versions:
                server = run.Gunicorn(name, "app:create_app()", url, workdir, root=root)
                servers.append(server)
                if not server.wait_until_ready("/healthz"):
                    sys.exit(f"{name} did not start: see {server.log}")
            approvals = _slices(seeded.browser_approvals, slots)
            take_outs = _slices(seeded.browser_take_outs, slots)
            times: dict[tuple[str, str], list[float]] = {}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                for slot in range(slots):
                    (name, _), server = versions[slot % len(versions)], servers[slot % len(servers)]
                    base_url = f"http://127.0.0.1:{server.port}"
                    got = _one_round(
                        browser, base_url, approvals[slot], take_outs[slot], args.throttle
                    )
                    for label, clicks in got.items():
                        times.setdefault((name, label), []).extend(clicks)
                        print(
                            f"round {slot // len(versions) + 1} {name:8} {label:8}: "
                            f"{Clicks(label, clicks).describe()}; {run.load_average()}"
                        )
                browser.close()
        print(f"\nAll rounds, CPU {args.throttle:g}x, {kind}:")
        for (name, label), clicks in times.items():
            print(
                f"  {name:8} {label:8}: median {statistics.median(clicks):.0f} ms, "
                f"p90 {percentile(clicks, 0.9):.0f} ms ({len(clicks)} clicks)"
            )
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
