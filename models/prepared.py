"""Statements compiled once per database and run again with new values.

peewee compiles a query's SQL afresh every time it runs, walking every column of every model
it names: on the hottest paths (the session check every signed-in request makes, the approve
POST) that walk cost more than the database's own work. A `Prepared` statement is written as
an ordinary peewee query built from named values; it is compiled once per database (so each
dialect gets its own placeholders, `?` or `%s`), and each run hands the database the new
values in the positions the compiled SQL gave them. Rows come back as that query would have
returned them (model objects with their joins, tuples or dicts).
"""

from __future__ import annotations

import datetime as dt
import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from peewee import (
    AutoField,
    BaseQuery,
    BigIntegerField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from machines.permissions import Can, grants
from models.proxy import db
from models.row_builders import RowBuilder

_PLACEHOLDER_TYPES = (str, int, dt.datetime, dt.date)


@dataclass(frozen=True)
class _Slot:
    name: str


@dataclass
class _Compiled:
    query: BaseQuery
    sql: str
    params: list  # each a constant of the query, or the _Slot of a named value
    builder: RowBuilder | None = None  # made from the first cursor's description


def _stand_ins(kinds: dict[str, type], round_: int) -> dict[str, object]:
    """A value of each kind no real argument will equal, different in each round."""
    values: dict[str, object] = {}
    for n, (name, kind) in enumerate(kinds.items()):
        tag = 1000 * round_ + n + 1
        if kind is str:
            values[name] = f"\x00prepared-{tag}"
        elif kind is int:
            values[name] = -(10**15) - tag
        elif kind is dt.datetime:
            values[name] = dt.datetime(1001, 1, 1) + dt.timedelta(seconds=tag)
        elif kind is dt.date:
            values[name] = dt.date(1001, 1, 1) + dt.timedelta(days=tag)
        else:
            raise TypeError(f"{name}: a prepared value is one of {_PLACEHOLDER_TYPES}")
    return values


class Prepared:
    """A query built by `build(**values)`, compiled once per database, run with new values.

    `kinds` names each value and its type (str, int, datetime or date). `build` must use each value
    as it is given (compute `now - idle` before calling, not inside `build`): a value derived
    inside would be compiled as a constant, so compiling checks that every parameter is either
    the same in two builds with different stand-ins (a constant) or exactly one named value.
    """

    def __init__(self, build: Callable[..., BaseQuery], **kinds: type):
        self._build = build
        self._kinds = kinds
        # Keyed by the bound database: the tests bind SQLite and PostgreSQL in one process.
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _for_database(self) -> _Compiled:
        database = db.obj
        compiled = self._compiled.get(database)
        if compiled is None:
            compiled = self._compiled[database] = self._compile()
        return compiled

    def _compile(self) -> _Compiled:
        first, second = _stand_ins(self._kinds, 1), _stand_ins(self._kinds, 2)
        query = self._build(**first)
        sql, params = query.sql()
        again_sql, again_params = self._build(**second).sql()
        if again_sql != sql or len(again_params) != len(params):
            raise ValueError(f"the query's SQL depends on its values: {sql}")
        by_stand_in = {(type(v), v): name for name, v in first.items()}
        slots: list = []
        for value, again in zip(params, again_params, strict=True):
            name = by_stand_in.get((type(value), value))
            if name is not None and second[name] == again:
                slots.append(_Slot(name))
            elif value == again and type(value) is type(again):
                slots.append(value)  # a constant of the query (a state's name, a 1 or 0)
            else:
                raise ValueError(f"a parameter derived from a value inside the query: {sql}")
        return _Compiled(query, sql, slots)

    def _cursor(self, values: dict):
        compiled = self._for_database()
        params = [values[p.name] if isinstance(p, _Slot) else p for p in compiled.params]
        return compiled, db.execute_sql(compiled.sql, params)

    def rows(self, **values) -> list:
        """The rows, as the query would have returned them."""
        compiled, cursor = self._cursor(values)
        if compiled.builder is None:
            compiled.builder = RowBuilder.for_cursor(compiled.query, cursor)
        return compiled.builder.rows(cursor)

    def insert(self, **values) -> int:
        """Run an INSERT; the new row's id (PostgreSQL's RETURNING, SQLite's last row id)."""
        compiled, cursor = self._cursor(values)
        if " RETURNING " in compiled.sql:
            return cursor.fetchone()[0]
        return cursor.lastrowid

    def execute(self, **values) -> int:
        """Run an UPDATE or DELETE; how many rows it changed."""
        _, cursor = self._cursor(values)
        return db.rows_affected(cursor)


_BY_ID: dict[type, Prepared] = {}


def by_id(model: type, row_id: int):
    """The row of `model` with this id, or None: `model.get_or_none(model.id == row_id)`,
    compiled once per model and database."""
    statement = _BY_ID.get(model)
    if statement is None:
        statement = _BY_ID[model] = Prepared(
            lambda row_id: model.select().where(model.id == row_id), row_id=int
        )
    rows = statement.rows(row_id=row_id)
    return rows[0] if rows else None


def get_by_id(model: type, row_id: int):
    """The row of `model` with this id: `model.get_by_id(row_id)`, compiled once."""
    row = by_id(model, row_id)
    if row is None:
        raise model.DoesNotExist(f"{model.__name__} {row_id}")
    return row


class PreparedByShape:
    """Statements whose SQL has a shape besides its values (which roles a person holds, one
    team or every team): one `Prepared` per shape, built by `build(shape, **values)`.

    The shape must be hashable and hold everything `build` reads but the values; a person
    goes in as `PersonShape`, and `build` gets `shape.person(person_id, team_id)`, which has
    the person's roles but stand-in ids, so no real id is compiled into the SQL.
    """

    def __init__(self, build: Callable[..., BaseQuery], **kinds: type):
        self._build = build
        self._kinds = kinds
        self._by_shape: dict = {}

    def rows(self, shape, **values) -> list:
        statement = self._by_shape.get(shape)
        if statement is None:
            statement = self._by_shape[shape] = Prepared(
                lambda **given: self._build(shape, **given), **self._kinds
            )
        return statement.rows(**values)


@dataclass(frozen=True)
class StandInPerson:
    """A person as a statement is built for them: their roles, and ids that are values."""

    id: object
    team_id: object
    roles: frozenset[str]

    def can(self, capability: Can) -> bool:
        return grants(self.roles, capability)


@dataclass(frozen=True)
class PersonShape:
    """What of a person decides a statement's SQL: their roles, and whether they have a team."""

    roles: frozenset[str]
    has_team: bool

    @classmethod
    def of(cls, user) -> PersonShape:
        return cls(frozenset(user.roles), user.team_id is not None)

    def person(self, person_id, team_id=None) -> StandInPerson:
        return StandInPerson(person_id, team_id if self.has_team else None, self.roles)


# The values of a person's statement (PreparedByShape with a PersonShape): a person without
# a team has no team_id slot in its SQL, so None is never bound.
PERSON_KINDS = {"person_id": int, "team_id": int}


def person_values(user) -> dict:
    """The values a PersonShape's statement takes for this person."""
    return {"person_id": user.id, "team_id": user.team_id}


# -- the writes every transition makes, one statement per model and set of fields ---------

_VALUE_KINDS = {
    AutoField: int,
    BigIntegerField: int,
    IntegerField: int,
    ForeignKeyField: int,
    CharField: str,
    TextField: str,
    DateTimeField: dt.datetime,
    DateField: dt.date,
}


def _value_kinds(model: type, names: tuple[str, ...]) -> dict[str, type] | None:
    """Each field's kind of value, or None when some field's value is not one a statement
    takes as it is (a boolean, a field that converts its value): the caller then lets peewee
    build the statement afresh."""
    kinds = {name: _VALUE_KINDS.get(type(model._meta.fields[name])) for name in names}
    return None if None in kinds.values() else kinds


@functools.cache
def versioned_update(model: type, names: tuple[str, ...]) -> Prepared | None:
    """`UPDATE model SET <names>, version = :new_version WHERE id = :row_id AND version =
    :expected` (VersionedModel.save_versioned), or None as _value_kinds says."""
    kinds = _value_kinds(model, names)
    if kinds is None or {"row_id", "expected", "new_version"} & set(names):
        return None

    def build(row_id, expected, new_version, **values):
        data = {model._meta.fields[name]: value for name, value in values.items()}
        data[model.version] = new_version
        return model.update(data).where((model.id == row_id) & (model.version == expected))

    return Prepared(build, **kinds, row_id=int, expected=int, new_version=int)


@functools.cache
def insert_statement(model: type, names: tuple[str, ...]) -> Prepared | None:
    """`INSERT INTO model (<names>) VALUES (...)`, or None as _value_kinds says."""
    kinds = _value_kinds(model, names)
    return None if kinds is None else Prepared(lambda **values: model.insert(**values), **kinds)
