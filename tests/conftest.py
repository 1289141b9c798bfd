"""Shared test fixtures: apps on SQLite or on a throwaway PostgreSQL server, and people."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from models import ALL_MODELS, create_schema
from models.base import db
from models.people import Team, User, UserRole, hash_secret
from services import clock

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"
PIN = "4321"
_HASHES: dict[str, str] = {}


def cached_hash(secret: str) -> str:
    """argon2id is deliberately slow: hash each test secret once per run."""
    if secret not in _HASHES:
        _HASHES[secret] = hash_secret(secret)
    return _HASHES[secret]


# -- PostgreSQL: a server of our own on loopback in a temporary directory ------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_server():
    """Start PostgreSQL for this test run (as the postgres user when run as root); stop after."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: `make test` installs it (apt-get postgresql)")
        pytest.skip("PostgreSQL server binaries not installed")
    datadir = Path(tempfile.mkdtemp(prefix="safekeep-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
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
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {datadir} -c fsync=off"
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir / "data"),
            "-o",
            options,
            "-l",
            str(datadir / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
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
                "CREATE DATABASE safekeep_test",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/safekeep_test"
    finally:
        subprocess.run(
            [
                *run_as,
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(datadir, ignore_errors=True)


def _empty_postgres(url: str) -> None:
    """Give each test an empty schema: drop and recreate our tables (fast on a tiny DB)."""
    db.connect(reuse_if_open=True)
    db.drop_tables(ALL_MODELS, safe=True, cascade=True)
    create_schema()


def make_app(backend: str, tmp_path: Path, request, **config):
    from app import create_app

    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": True,
        # The audit anchor outside the database: in the test's own directory.
        "AUDIT_HMAC_KEY": "test-audit-key",
        "AUDIT_CHECKPOINT_FILE": str(tmp_path / "audit-checkpoints.jsonl"),
    }
    if backend == "postgres":
        settings["DATABASE_URL"] = request.getfixturevalue("postgres_server")
    else:
        settings["SQLITE_PATH"] = str(tmp_path / "safekeep.db")
    settings.update(config)
    app = create_app(settings)
    with app.app_context():
        if backend == "postgres":
            _empty_postgres(settings["DATABASE_URL"])
        else:
            db.connect(reuse_if_open=True)
            create_schema()
    return app


def close_database() -> None:
    obj = db.obj
    if obj is None:
        return
    if hasattr(obj, "close_all"):
        obj.close_all()
    elif not obj.is_closed():
        obj.close()


@pytest.fixture(autouse=True)
def _real_clock():
    clock.travel_reset()
    yield
    clock.travel_reset()


class People:
    """Creates staff quickly (the password hash is computed once per run)."""

    def __init__(self):
        self.teams: dict[str, Team] = {}

    def team(self, name: str) -> Team:
        if name not in self.teams:
            self.teams[name], _ = Team.get_or_create(name=name)
        return self.teams[name]

    def add(
        self,
        username: str,
        *roles: str,
        team: str = "Children North",
        manager: User | None = None,
        staff_number: str | None = None,
        pin: str | None = PIN,
    ) -> User:
        user = User.create(
            username=username,
            display_name=username.title() + " Tester",
            staff_number=staff_number or str(10000 + User.select().count() + 1),
            team=self.team(team),
            line_manager=manager,
            password_hash=cached_hash(PASSWORD),
            pin_hash=cached_hash(pin) if pin else None,
            email=f"{username}@council.example",
        )
        for role in roles or ("practitioner",):
            UserRole.create(user=user, role=role)
        return user
