"""How the schema steps run (models/migrations.py holds the steps): the numbered
registry, the lock that lets one server at a time upgrade, a fresh database made whole at
the latest version, and each step applied in its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from peewee import (
    Field,
    Model,
    PostgresqlDatabase,
    fn,
)
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, migrate

from models.base import SchemaVersion, db, utcnow
from models.breach_stages import breach_stage_trigger_sql
from models.counters import Counter, stamp_trigger_sql
from models.kept_whereabouts import whereabouts_trigger_sql
from models.removal_tallies import removal_tally_trigger_sql
from models.schema import ALL_MODELS, STAMPED
from models.tallies import TALLIED, tally_trigger_sql

# The oldest schema these steps start from: the foundation's tables (version 1).
BASELINE = 1

# Advisory lock key that makes concurrent upgrades of one PostgreSQL database take turns.
MIGRATION_LOCK_KEY = 7_345_002


class MigrationError(Exception):
    """The database cannot be brought to this code's schema (said in one sentence)."""


@dataclass
class Migration:
    """What a step gets: the migrator for this database and a few shortcuts."""

    migrator: SchemaMigrator

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.migrator, PostgresqlMigrator)

    @property
    def Model(self) -> type[Model]:  # noqa: N802 - used as a base class: `class T(m.Model)`
        """A base class for a table declared inside a step, bound to this database."""

        class StepModel(Model):
            class Meta:
                database = db
                legacy_table_names = False

        return StepModel

    def run(self, *operations) -> None:
        """Run playhouse.migrate operations (`m.migrator.rename_column(...)`, ...)."""
        migrate(*operations)

    def add_column(self, table: str, column: str, field: Field) -> None:
        """Add a column to a table that may hold rows (NOT NULL needs a default)."""
        self.run(self.migrator.add_column(table, column, field))

    def create_tables(self, *models: type[Model]) -> None:
        db.create_tables(models, safe=False)

    def sql(self, statement: str, params: tuple | list | None = None) -> None:
        db.execute_sql(statement, params)


@dataclass
class Step:
    number: int
    title: str
    apply: Callable[[Migration], None]


STEPS: dict[int, Step] = {}


def step(number: int, title: str):
    """Register the migration to `number` (the next after the highest one here)."""

    def register(fn: Callable[[Migration], None]) -> Callable[[Migration], None]:
        if number in STEPS:
            raise RuntimeError(f"Migration step {number} is defined twice: renumber one")
        STEPS[number] = Step(number, title, fn)
        return fn

    return register


@dataclass
class UpgradeResult:
    before: int | None  # None: the database was empty
    after: int
    applied: list[Step] = field(default_factory=list)


def latest(steps: dict[int, Step] | None = None) -> int:
    return max((steps if steps is not None else STEPS), default=BASELINE)


def current_version() -> int | None:
    """The version this database is at; None when it has no schema_version table."""
    if not db.table_exists(SchemaVersion._meta.table_name):
        return None
    version = SchemaVersion.select(fn.MAX(SchemaVersion.version)).scalar()
    if version is None:
        raise MigrationError("The schema_version table is empty, so the schema is unknown.")
    return version


def upgrade(steps: dict[int, Step] | None = None) -> UpgradeResult:
    """Create an empty database, or run the steps an older one is missing; say what was done."""
    steps = STEPS if steps is None else steps
    target = latest(steps)
    _check_numbering(steps)
    with _exclusive():
        before = current_version()
        if before is None:
            if db.get_tables():
                raise MigrationError(
                    "The database has tables but no schema_version table, so its schema is "
                    "unknown: point DATABASE_URL at Safekeep's database, or at an empty one."
                )
            _create_fresh(target)
            return UpgradeResult(None, target)
    if before > target:
        raise MigrationError(
            f"The database is at schema version {before}, newer than this code knows "
            f"({target}): deploy the newer code."
        )
    result = UpgradeResult(before, before)
    for number in range(before + 1, target + 1):
        with _exclusive(rebuilds_tables=True):
            if current_version() >= number:  # another process got there first
                continue
            steps[number].apply(Migration(_migrator()))
            SchemaVersion.create(version=number, applied_at=utcnow())
        result.applied.append(steps[number])
        result.after = number
    return result


def _check_numbering(steps: dict[int, Step]) -> None:
    expected = list(range(BASELINE + 1, latest(steps) + 1))
    if sorted(steps) != expected:
        raise RuntimeError(f"Migration steps must be numbered {expected}, not {sorted(steps)}")


def _create_fresh(version: int) -> None:
    db.create_tables(ALL_MODELS, safe=False)
    for table, series in STAMPED:
        for statement in stamp_trigger_sql(table, series, isinstance(db.obj, PostgresqlDatabase)):
            db.execute_sql(statement)
        # A first stamp, as the steps that made the triggers set one: figures over a table
        # nobody has changed yet (no actions so far) are worth keeping too.
        Counter.insert(series=series, last=1).on_conflict_ignore().execute()
    for table in TALLIED:
        for statement in tally_trigger_sql(table, isinstance(db.obj, PostgresqlDatabase)):
            db.execute_sql(statement)
    for statement in whereabouts_trigger_sql(isinstance(db.obj, PostgresqlDatabase)):
        db.execute_sql(statement)
    for statement in removal_tally_trigger_sql(isinstance(db.obj, PostgresqlDatabase)):
        db.execute_sql(statement)
    for statement in breach_stage_trigger_sql(isinstance(db.obj, PostgresqlDatabase)):
        db.execute_sql(statement)
    SchemaVersion.create(version=version, applied_at=utcnow())


def _migrator() -> SchemaMigrator:
    return SchemaMigrator.from_database(db)


@contextmanager
def _exclusive(rebuilds_tables: bool = False):
    """One transaction that no other upgrade runs beside.

    `rebuilds_tables`: on SQLite, foreign keys off for the transaction (a rebuilt table is
    dropped and renamed, which would cascade or fail with them on) and checked at the end.
    The pragma only works outside a transaction, hence here and not in the step.
    """
    if isinstance(db.obj, PostgresqlDatabase):
        with db.atomic():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            yield
        return
    foreign_keys = bool(db.pragma("foreign_keys"))
    if rebuilds_tables and foreign_keys:
        db.pragma("foreign_keys", 0)
    try:
        with db.atomic("IMMEDIATE"):
            yield
            if rebuilds_tables:
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise MigrationError(
                        f"The step left {len(broken)} rows pointing at rows that do not exist "
                        f"(first: table {broken[0][0]}, row {broken[0][1]}); nothing was changed."
                    )
    finally:
        if rebuilds_tables and foreign_keys:
            db.pragma("foreign_keys", 1)
