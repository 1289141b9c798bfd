"""Upgrades keep every row: a version 2 database full of demo data, upgraded on both backends.

The version 2 database comes from tests/fixtures/ (DDL and rows written once by the code that
landed version 2), not from today's models, so the steps really run against the old schema.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from peewee import CharField, IntegerField, IntegrityError, TextField

from models import SCHEMA_VERSION
from models.audit import verify_chain
from models.base import db, is_postgres
from models.migrations import STEPS, MigrationError, Step, current_version, upgrade
from tests.conftest import audit_anchor_settings, close_database
from tests.fixtures import decode, load_v2, reset_database

# Runs on PostgreSQL too: migrations run on each database's own DDL.
pytestmark = pytest.mark.postgres

DEMO_PASSWORD = "safekeep-demo-2026"


@pytest.fixture
def bare_app(backend, tmp_path, request):
    """An app bound to an empty database: no schema, no rows (the tests build them)."""
    from app import create_app

    settings = {"TESTING": True, "SECRET_KEY": "test-secret", **audit_anchor_settings(tmp_path)}
    if backend == "postgres":
        settings["DATABASE_URL"] = request.getfixturevalue("postgres_server")
    else:
        settings["SQLITE_PATH"] = str(tmp_path / "safekeep.db")
    app = create_app(settings)
    ctx = app.app_context()
    ctx.push()
    db.connect(reuse_if_open=True)
    reset_database()
    yield app
    reset_database()  # leave the shared PostgreSQL database empty for the next test
    ctx.pop()
    close_database()


def rows_of(table: str, columns: list[list[str]]) -> dict[int, list]:
    names = ", ".join(f'"{name}"' for name, _ in columns)
    cursor = db.execute_sql(f'SELECT {names} FROM "{table}"')
    return {
        row[0]: [_normal(kind, v) for (_, kind), v in zip(columns, row, strict=True)]
        for row in cursor
    }


def _normal(kind: str, value):
    """A value as Python reads it from either backend (SQLite keeps datetimes as text)."""
    if isinstance(value, str) and kind in ("datetime", "date"):
        return decode(kind, value)
    if kind == "bool" and value is not None:
        return bool(value)
    return value


def schema_of() -> dict:
    """Every table's columns, indexes and foreign keys, comparable across two databases."""
    schema = {}
    for table in sorted(db.get_tables()):
        columns = {
            c.name: (c.data_type.lower(), c.null, c.primary_key) for c in db.get_columns(table)
        }
        indexes = {
            i.name: (tuple(i.columns), i.unique, _where(i.sql)) for i in db.get_indexes(table)
        }
        keys = {(k.column, k.dest_table, k.dest_column) for k in db.get_foreign_keys(table)}
        schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": keys}
    return schema


def _where(sql: str | None) -> str | None:
    if not sql or " WHERE " not in sql.upper():
        return None
    return sql[sql.upper().index(" WHERE ") :].replace('"', "").replace("(", "").replace(")", "")


# Tables that later steps create: a version 2 database has none of them.
CREATED_AFTER_V2 = {"counter"}


def test_the_version_2_fixture_has_rows_in_every_table(bare_app):
    data = load_v2()
    assert set(db.get_tables()) == set(data)
    empty = [table for table, spec in data.items() if not spec["rows"]]
    assert not empty, f"the fixture should upgrade full tables: {empty} are empty"
    assert current_version() == 2


def test_a_version_2_database_upgrades_keeping_every_row_and_the_audit_chain(bare_app):
    data = load_v2()
    result = upgrade()
    assert (result.before, result.after) == (2, SCHEMA_VERSION)
    assert [s.number for s in result.applied] == list(range(3, SCHEMA_VERSION + 1))
    assert current_version() == SCHEMA_VERSION
    for table, spec in data.items():
        found = rows_of(table, spec["columns"])
        expected = {
            row[0]: [decode(kind, v) for (_, kind), v in zip(spec["columns"], row, strict=True)]
            for row in spec["rows"]
        }
        if table == "schema_version":
            assert set(found) >= set(expected)
            continue
        assert found == expected, f"rows of {table} changed"
    chain = verify_chain()
    assert not chain.problems, chain.problems
    assert chain.checked == len(data["audit_event"]["rows"])


def test_the_app_works_on_an_upgraded_database(bare_app):
    load_v2()
    upgrade()
    client = bare_app.test_client()
    bare_app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/sign-in", data={"username": "lina", "password": DEMO_PASSWORD})
    assert response.status_code == 303
    board = client.get("/board").get_data(as_text=True)
    assert "Home visit notes, 2026" in board
    # A write after the upgrade: new rows get fresh ids (PostgreSQL's sequences moved on).
    result = bare_app.test_cli_runner().invoke(
        args=[
            "create-user",
            "newbie",
            "--name",
            "New",
            "--staff-number",
            "777",
            "--team",
            "Children North",
            "--role",
            "practitioner",
            "--password-stdin",
        ],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    verified = bare_app.test_cli_runner().invoke(args=["audit-verify"])
    assert verified.exit_code == 0, verified.output


def test_an_upgraded_database_has_the_schema_of_a_fresh_one(bare_app):
    """Fails when a model changed without a migration step (models/migrations.py)."""
    upgrade()
    fresh = schema_of()
    reset_database()
    load_v2()
    upgrade()
    upgraded = schema_of()
    assert upgraded.keys() == fresh.keys(), "tables differ: add a migration step"
    differences = [
        f"{table}.{part}: fresh {fresh[table][part]!r} upgraded {upgraded[table][part]!r}"
        for table in fresh
        for part in ("columns", "indexes", "foreign_keys")
        if upgraded[table][part] != fresh[table][part]
    ]
    assert not differences, "add a migration step (models/migrations.py):\n" + "\n".join(
        differences
    )


def test_an_upgraded_database_tallies_the_records_it_had_and_the_next_one(bare_app):
    """Step 27 counts the rows already there; the triggers count the next."""
    load_v2()
    teams = dict(
        db.execute_sql('SELECT "team_id", COUNT(*) FROM "record" GROUP BY "team_id"').fetchall()
    )
    assert teams, "the fixture should have records to count"
    upgrade()
    tallied = 'SELECT "team_id", "total" FROM "tally" WHERE "counted" = %s'
    placeholder = tallied if is_postgres() else tallied.replace("%s", "?")
    assert dict(db.execute_sql(placeholder, ("record",)).fetchall()) == teams
    team, records = next(iter(teams.items()))
    (creator,) = db.execute_sql('SELECT "created_by_id" FROM "record" LIMIT 1').fetchone()
    db.execute_sql(
        'INSERT INTO "record" ("case_id", "description", "team_id", "label_code", '
        "\"created_by_id\", \"created_at\") VALUES ('7654321', 'After', "
        f"{team}, 'SK-AFTER234', {creator}, CURRENT_TIMESTAMP)"
    )
    assert dict(db.execute_sql(placeholder, ("record",)).fetchall())[team] == records + 1


def test_a_version_1_database_gets_the_kiosk_failure_table(bare_app):
    upgrade()
    fresh = schema_of()
    reset_database()
    load_v2()
    db.execute_sql('DROP TABLE "kiosk_failure"')
    db.execute_sql('DELETE FROM "schema_version"')
    db.execute_sql(
        f'INSERT INTO "schema_version" (version, applied_at) VALUES (1, {db.param})',
        [dt.datetime(2026, 1, 1)],
    )
    result = upgrade()
    assert result.before == 1 and result.applied[0].number == 2
    assert schema_of() == fresh


def test_an_empty_database_is_created_at_the_latest_version_and_upgrading_again_does_nothing(
    bare_app,
):
    runner = bare_app.test_cli_runner()
    first = runner.invoke(args=["db-upgrade"])
    assert first.exit_code == 0
    assert f"Created an empty database at schema version {SCHEMA_VERSION}" in first.output
    again = runner.invoke(args=["init-db"])  # the old name
    assert again.exit_code == 0 and "nothing to upgrade" in again.output
    assert current_version() == SCHEMA_VERSION


def test_the_command_names_each_step_it_runs(bare_app, monkeypatch):
    load_v2()
    extra = max(STEPS) + 1
    monkeypatch.setitem(
        STEPS,
        extra,
        Step(
            extra,
            "removal.note: a test column",
            lambda m: m.add_column("removal", "note", TextField(null=True)),
        ),
    )
    result = bare_app.test_cli_runner().invoke(args=["db-upgrade"])
    assert result.exit_code == 0, result.output
    for number in range(3, extra + 1):
        assert f"  {number}: {STEPS[number].title}" in result.output
    assert f"Upgraded from schema version 2 to {extra}." in result.output


def with_extra(*functions) -> dict[int, Step]:
    """Today's steps followed by test-only ones."""
    steps = dict(STEPS)
    for fn in functions:
        number = max(steps) + 1
        steps[number] = Step(number, fn.__name__, fn)
    return steps


def test_a_not_null_column_added_to_tables_with_rows_keeps_rows_indexes_and_links(bare_app):
    """On SQLite this rebuilds the tables (copy, drop, rename): nothing may be lost, and the
    breach table's rebuild must not cascade-delete its notifications."""
    data = load_v2()

    def add_columns(m):
        m.add_column("removal", "note", CharField(default="none"))
        m.add_column("breach", "priority", IntegerField(default=3))
        m.run(m.migrator.rename_column("dispatch", "cancel_reason", "why_cancelled"))

    steps = with_extra(add_columns)
    upgrade(steps)
    assert current_version() == max(steps)
    for table in ("removal", "breach", "notification", "dispatch", "audit_event"):
        count = db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        assert count == len(data[table]["rows"]), f"{table} lost rows"
    notes = {n for (n,) in db.execute_sql('SELECT "note" FROM "removal"')}
    assert notes == {"none"}
    priorities = {p for (p,) in db.execute_sql('SELECT "priority" FROM "breach"')}
    assert priorities == {3}
    # The unique partial index (one open removal per record) still holds after the rebuild.
    indexes = {i.name for i in db.get_indexes("removal")}
    assert "removal_one_open_per_record" in indexes
    open_removal = db.execute_sql(
        'SELECT "id" FROM "removal" WHERE "closed_at" IS NULL LIMIT 1'
    ).fetchone()[0]
    copy = (
        'INSERT INTO "removal" (version, record_id, team_id, state, for_user_id, '
        "requested_by_id, purpose, papers, due_kind, due_on, note) "
        "SELECT version, record_id, team_id, state, for_user_id, requested_by_id, purpose, "
        f'papers, due_kind, due_on, note FROM "removal" WHERE "id" = {db.param}'
    )
    with pytest.raises(IntegrityError), db.atomic():
        db.execute_sql(copy, [open_removal])
    if not is_postgres():
        assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        assert db.pragma("foreign_keys") == 1
    reasons = {r for (r,) in db.execute_sql('SELECT "why_cancelled" FROM "dispatch"')}
    assert reasons == {row[-1] for row in data["dispatch"]["rows"]}
    assert not verify_chain().problems


def test_a_failing_step_leaves_the_database_at_the_last_whole_step(bare_app):
    data = load_v2()

    def add_note(m):
        m.add_column("removal", "note", TextField(null=True))

    def half_done(m):
        m.add_column("breach", "priority", IntegerField(null=True))
        raise RuntimeError("the step failed half way")

    steps = with_extra(add_note, half_done)
    with pytest.raises(RuntimeError):
        upgrade(steps)
    assert current_version() == max(steps) - 1
    assert "priority" not in {c.name for c in db.get_columns("breach")}
    assert "note" in {c.name for c in db.get_columns("removal")}
    count = db.execute_sql('SELECT COUNT(*) FROM "breach"').fetchone()[0]
    assert count == len(data["breach"]["rows"])

    def fixed(m):
        m.add_column("breach", "priority", IntegerField(null=True))

    steps[max(steps)] = Step(max(steps), "fixed", fixed)
    result = upgrade(steps)
    assert [s.number for s in result.applied] == [max(steps)]
    assert "priority" in {c.name for c in db.get_columns("breach")}


def test_two_upgrades_at_once_run_each_step_once(bare_app):
    load_v2()
    runs = []

    def slow_step(m):
        runs.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the other upgrade to arrive while this one holds it
        m.add_column("removal", "note", TextField(null=True))

    steps = with_extra(slow_step)
    errors = []

    def go():
        try:
            db.connect(reuse_if_open=True)
            upgrade(steps)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(runs) == 1
    assert current_version() == max(steps)


def test_a_database_newer_than_the_code_is_refused(bare_app):
    upgrade()
    db.execute_sql(
        f'INSERT INTO "schema_version" (version, applied_at) VALUES ({db.param}, {db.param})',
        [SCHEMA_VERSION + 1, dt.datetime(2030, 1, 1)],
    )
    result = bare_app.test_cli_runner().invoke(args=["db-upgrade"])
    assert result.exit_code == 1
    assert f"newer than this code knows ({SCHEMA_VERSION})" in result.output


def test_tables_without_a_schema_version_are_refused_not_overwritten(bare_app):
    db.execute_sql('CREATE TABLE "somebody_elses" ("id" INTEGER)')
    with pytest.raises(MigrationError, match="no schema_version table"):
        upgrade()
    assert db.get_tables() == ["somebody_elses"]


def test_steps_must_be_numbered_without_gaps(bare_app):
    steps = dict(STEPS)
    steps[max(steps) + 2] = Step(max(steps) + 2, "gap", lambda m: None)
    with pytest.raises(RuntimeError, match="numbered"):
        upgrade(steps)
