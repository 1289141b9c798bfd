"""Shared test fixtures: apps on SQLite or on a throwaway PostgreSQL server, and people."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from machines import clock
from models import create_schema
from models.base import db
from models.people import Team, User, UserRole, hash_secret
from tests.pgserver import PostgresServer, free_port, pg_bin

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

# Other test modules import these from here.
_free_port = free_port
_pg_bin = pg_bin


def pg_bin_or_skip() -> Path:
    bindir = pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: `make test` installs it (apt-get postgresql)")
        pytest.skip("PostgreSQL server binaries not installed")
    return bindir


@pytest.fixture(scope="session")
def postgres_server():
    """Start PostgreSQL for this test run and stop it afterwards; its URL."""
    server = PostgresServer(pg_bin_or_skip())
    try:
        yield server.url
    finally:
        server.remove()


@pytest.fixture
def private_postgres():
    """A PostgreSQL server for one test alone, which it may stop and restart."""
    server = PostgresServer(pg_bin_or_skip())
    try:
        yield server
    finally:
        server.remove()


def _empty_postgres(url: str) -> None:
    """Give each test an empty database (fast on a tiny one): drop the whole schema, so tables
    a migration test made or renamed go too, and create ours afresh."""
    db.connect(reuse_if_open=True)
    db.execute_sql("DROP SCHEMA public CASCADE")
    db.execute_sql("CREATE SCHEMA public")
    create_schema()


def audit_anchor_settings(tmp_path: Path) -> dict:
    """The audit anchor outside the database, in the test's own directory: never the
    repository's instance/, where one test's checkpoints would be another's tampering."""
    return {
        "AUDIT_HMAC_KEY": "test-audit-key",
        "AUDIT_CHECKPOINT_FILE": str(tmp_path / "audit-checkpoints.jsonl"),
    }


def make_app(backend: str, tmp_path: Path, request, **config):
    from app import create_app

    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": True,
        **audit_anchor_settings(tmp_path),
    }
    if backend == "postgres":
        settings["DATABASE_URL"] = config.get("DATABASE_URL") or request.getfixturevalue(
            "postgres_server"
        )
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


@pytest.fixture(scope="session")
def provider():
    """A real OpenID Connect provider, a process of its own on a loopback port
    (tests/oidc_provider.py); its base URL, which is also its issuer."""
    import requests

    process = subprocess.Popen(
        [sys.executable, "-m", "tests.oidc_provider"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("listening on "), line
        url = f"http://127.0.0.1:{int(line.split()[-1])}"
        assert requests.get(url + "/.well-known/openid-configuration", timeout=10).ok
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


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
