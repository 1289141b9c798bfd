"""A throwaway PostgreSQL server on loopback, in a temporary directory: for tests and the bench.

`initdb` and `pg_ctl` refuse to run as root, so as root they run as the postgres user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextmanager
def throwaway_postgres(database: str, *settings: str) -> Iterator[str]:
    """Start a server, create `database`, yield its URL; stop the server and delete it after.

    `settings` are extra `-c name=value` server settings. fsync is off: nothing here needs
    to survive a power cut, and tests and the bench should not wait on the disk.
    """
    bindir = pg_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries are not installed")
    datadir = Path(tempfile.mkdtemp(prefix="safekeep-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(datadir / "data")]
    try:
        subprocess.run(
            [
                *run_as,
                str(bindir / "initdb"),
                "-D",
                str(datadir / "data"),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
        )
        options = " ".join(
            [
                f"-c listen_addresses=127.0.0.1 -p {port} -k {datadir} -c fsync=off",
                *(f"-c {setting}" for setting in settings),
            ]
        )
        subprocess.run(
            [*pg_ctl, "-o", options, "-l", str(datadir / "log"), "-w", "start"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-c",
                f"CREATE DATABASE {database}",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(datadir, ignore_errors=True)
