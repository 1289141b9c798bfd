"""Shared test fixtures: apps on SQLite or on a throwaway PostgreSQL server, and people.

Speed without sharing state: every test gets an empty database and its app's settings as
built, but the slow parts are done once per test process (an xdist worker, or the one
process): the app is built once per database (werkzeug compiles every URL rule of a new app:
a fifth of an HTTP test's time), templates are compiled once (a shared Jinja bytecode cache),
the empty database is a copy of one made at the start (a SQLite file copied; a PostgreSQL
database cloned from a template database) instead of being created and migrated for every
test, and passwords are hashed with argon2's cheapest settings (the same code and checks; a
test that needs the real settings asks for `strong_hasher`).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import jinja2
import psycopg
import pytest
from argon2 import PasswordHasher
from flask import Flask

import models.people
from machines import clock
from models import create_schema
from models.base import connect_database, db
from models.people import Team, User, UserRole, hash_secret
from models.training import set_training_period
from services.audit_anchor import load_hmac_key
from tests.pgserver import PostgresServer, free_port, pg_bin

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"
PIN = "4321"
_HASHES: dict[str, str] = {}


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory for every app this process makes.

    Each new app has a new Jinja environment, which compiled every page and GOV.UK macro
    again: about a second of each HTTP test. A template whose source changed has another
    checksum, so it is compiled afresh, never served stale.
    """

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        checksum, code = self._code.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


# Every Flask app made in the tests (make_app, create_app called by a test, the e2e server).
Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _CompiledTemplates()}

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")

# argon2id at the council's settings takes ~40 ms a sign-in, by design: a tenth of the
# suite. Tests hash and verify at the cheapest settings argon2 allows; nothing else changes.
STRONG_HASHER = models.people._hasher
models.people._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def strong_hasher(monkeypatch):
    """The council's argon2 settings, for a test about them."""
    monkeypatch.setattr(models.people, "_hasher", STRONG_HASHER)
    return STRONG_HASHER


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


class PostgresDatabases:
    """This process's PostgreSQL server, with an empty Safekeep database made once as a template
    and a test database cloned from it afresh for each test.

    Cloning (`CREATE DATABASE ... TEMPLATE`) also undoes whatever a test did to the schema
    (a migration test's renamed or dropped tables), which emptying the tables would not.
    """

    def __init__(self, server: PostgresServer):
        self.server = server
        self.template = f"safekeep_template_{WORKER}"
        self.name = f"safekeep_test_{WORKER}"
        self.url = server.url.rsplit("/", 1)[0] + "/" + self.name
        self._admin = psycopg.connect(server.url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
        self._admin.execute(f'CREATE DATABASE "{self.template}"')
        db.initialize(connect_database(server.url.rsplit("/", 1)[0] + "/" + self.template, ""))
        try:
            create_schema()
        finally:
            close_database()
        self.fresh()

    def fresh(self) -> str:
        """Replace the test database with an empty copy of the template; its URL."""
        # FORCE: a connection a test left open (a live server's thread) must not keep it.
        self._admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')
        return self.url

    def keep_as(self, name: str) -> None:
        """Keep the test database as it is now, to be copied again by `restore(name)`."""
        close_database()
        self._admin.execute(f'CREATE DATABASE "{self.name}_{name}" TEMPLATE "{self.name}"')

    def restore(self, name: str) -> None:
        """Replace the test database with a copy of the one kept as `name`."""
        close_database()
        self._admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.name}_{name}"')

    def close(self) -> None:
        self._admin.close()


@pytest.fixture(scope="session")
def postgres_databases():
    """Start PostgreSQL for this test process (one per xdist worker) and stop it afterwards."""
    server = PostgresServer(pg_bin_or_skip())
    try:
        databases = PostgresDatabases(server)
        yield databases
        databases.close()
    finally:
        server.remove()


@pytest.fixture(scope="session")
def postgres_server(postgres_databases):
    """The URL of this process's test database on its PostgreSQL server."""
    return postgres_databases.url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An empty Safekeep database file, made once per test process, for tests to copy."""
    path = tmp_path_factory.mktemp("template") / "safekeep.db"
    db.initialize(connect_database(None, str(path)))
    try:
        db.connect()
        create_schema()
    finally:
        close_database()  # the last close folds the WAL into the file: one file to copy
    return path


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


# The app each test process built once per database, with its settings as built.
_SHARED_APPS: dict[str, tuple[Flask, dict, object]] = {}


def make_app(backend: str, tmp_path: Path, request, *, shared: bool = False, **config):
    """An app on an empty database. `shared`: this process's one app for that database,
    its settings restored and its database emptied (a test that adds routes or changes the
    app's wiring must not share: see the `own_app` mark)."""
    from app import create_app

    if shared and not config and backend in ("sqlite", "postgres"):
        return _shared_app(backend, tmp_path, request)
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": True,
        **audit_anchor_settings(tmp_path),
    }
    # A test's own server (config["DATABASE_URL"]) is emptied the slow way; the shared one
    # gets a fresh clone of its template. Either way, a second make_app in a test empties it.
    own_server = backend == "postgres" and bool(config.get("DATABASE_URL"))
    if backend == "postgres" and not own_server:
        settings["DATABASE_URL"] = request.getfixturevalue("postgres_databases").fresh()
    elif backend == "sqlite":
        path = tmp_path / "safekeep.db"
        settings["SQLITE_PATH"] = str(path)
        if not path.exists():
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    settings.update(config)
    app = create_app(settings)
    with app.app_context():
        if own_server:
            _empty_postgres(settings["DATABASE_URL"])
        else:
            db.connect(reuse_if_open=True)
            create_schema()  # nothing to do on a copy of the template: it checks the version
    return app


def _shared_app(backend: str, tmp_path: Path, request) -> Flask:
    close_database()  # the database the last test used, perhaps its own app's
    if backend in _SHARED_APPS:
        # and this app's, whose connection may still be open on the database it replaces
        db.initialize(_SHARED_APPS[backend][2])
        close_database()
    if backend == "postgres":
        request.getfixturevalue("postgres_databases").fresh()
    if backend not in _SHARED_APPS:
        home = request.getfixturevalue("tmp_path_factory").mktemp(f"shared-{backend}")
        app = make_app(backend, home, request)
        _SHARED_APPS[backend] = (app, dict(app.config), db.obj)
    app, settings, database = _SHARED_APPS[backend]
    app.config.clear()
    app.config.update(settings, **audit_anchor_settings(tmp_path))
    # What create_app set for the whole process, which a test's own app may have changed
    load_hmac_key(app.config)
    set_training_period(app.config["TRAINING_VALID_MONTHS"])
    db.initialize(database)
    if backend == "sqlite":
        # Closed before its file is replaced: the app just built left its connection open, and
        # an open connection keeps reading the deleted file until an error makes it reconnect.
        close_database()
        path = Path(settings["SQLITE_PATH"])
        for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        path.unlink(missing_ok=True)  # a new file: a connection left in a thread keeps the old
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
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


_TODAY = object()  # People.add's default training date: the day the person is added


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
        trained_on: dt.date | None | object = _TODAY,
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
            # Trained today: the rules about lapsed training are tested where they are asked
            # for (tests/http/test_training.py); everyone else may take papers out.
            trained_on=trained_on if trained_on is not _TODAY else clock.uk_today(),
        )
        for role in roles or ("practitioner",):
            UserRole.create(user=user, role=role)
        return user


def copy_sqlite_database(source: Path, target: Path) -> None:
    """SQLite's online backup: connections already open on `target` see the copy at once."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
