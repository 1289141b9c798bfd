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


class PostgresServer:
    """A PostgreSQL server of our own in a temporary directory, on a loopback port.

    Run as the postgres user when we are root (initdb and pg_ctl refuse root). `stop` and
    `start` again keep the data and the port, as a real server's restart does. `settings`
    are extra `-c name=value` server settings. fsync is off: nothing here needs to survive
    a power cut, and tests and the bench should not wait on the disk.
    """

    def __init__(self, bindir: Path, database: str = "safekeep_test", settings: tuple = ()):
        self.bindir = bindir
        self.database = database
        self.settings = settings
        self.dir = Path(tempfile.mkdtemp(prefix="safekeep-pg-"))
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/{database}"
        try:
            subprocess.run(
                [
                    *self.run_as,
                    str(bindir / "initdb"),
                    *("-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust"),
                    *("--no-sync", "-E", "UTF8"),
                ],
                check=True,
                capture_output=True,
            )
            self.start()
            self.psql(f"CREATE DATABASE {database}", database="postgres")
        except BaseException:
            self.remove()
            raise

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), *args],
            check=check,
            capture_output=True,
        )

    def start(self) -> None:
        options = " ".join(
            [
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off",
                *(f"-c {setting}" for setting in self.settings),
            ]
        )
        self._pg_ctl("-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; "fast" ends every client connection, as a restart does."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def psql(self, sql: str, database: str | None = None) -> str:
        return subprocess.run(
            [
                *("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
                *("-d", database or self.database, "-At", "-c", sql),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def remove(self) -> None:
        self._pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def throwaway_postgres(database: str, *settings: str) -> Iterator[str]:
    """Start a server, create `database`, yield its URL; stop the server and delete it after."""
    bindir = pg_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries are not installed")
    server = PostgresServer(bindir, database, settings)
    try:
        yield server.url
    finally:
        server.remove()
