"""Rows built by models/row_builders.py are the rows peewee would have built, on both
databases (their drivers return different types): every prepared statement the busiest
pages and an approve run is answered both ways and compared object by object, value by
value (type included), joins, dirty marks and every attribute."""

from __future__ import annotations

import pytest
from peewee import Model

from demo.accounts import DEMO_PASSWORD
from demo.volume import seed_volume
from models import row_builders
from models.people import User
from models.prepared import Prepared
from models.records import Removal

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PAGES = [
    ("lina", "/"),
    ("dana", "/"),
    ("pat", "/"),
    ("gov", "/"),
    ("rita", "/"),
    ("lina", "/board"),
    ("dana", "/board"),
    ("lina", "/approvals"),
    ("pat", "/breaches"),
    ("gov", "/breaches"),
    ("gov", "/register"),
    ("rita", "/records/where"),
]


def snapshot(value):
    """Everything a caller could read from a row: types, values, joined objects."""
    if isinstance(value, Model):
        extra = {
            k: snapshot(v)
            for k, v in vars(value).items()
            if k not in ("__data__", "__rel__", "_dirty")
        }
        return (
            type(value).__name__,
            {k: snapshot(v) for k, v in value.__data__.items()},
            {k: snapshot(v) for k, v in value.__rel__.items()},
            sorted(value._dirty),
            extra,
        )
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [snapshot(v) for v in value])
    return (type(value).__name__, value)


def test_prepared_rows_are_the_rows_peewee_builds(app, new_web, monkeypatch):
    seed_volume(removals=300, breaches=60)
    kinds, compared = set(), set()
    built_fast = Prepared.rows

    def both_ways(self, **values):
        fast = built_fast(self, **values)
        compiled, cursor = self._cursor(values)
        kinds.add(type(compiled.builder).__name__)
        peewees = list(compiled.query._get_cursor_wrapper(cursor))
        assert snapshot(fast) == snapshot(peewees), compiled.sql
        compared.add(compiled.sql)
        return fast

    monkeypatch.setattr(Prepared, "rows", both_ways)
    webs = {}
    for user, url in PAGES:
        if user not in webs:
            webs[user] = new_web()
            webs[user].sign_in(user, DEMO_PASSWORD)
        assert webs[user].get(url).status_code == 200
    # An approve: the removal by id, its record, the audit chain, the fragments.
    lina = User.get(User.username == "lina")
    waiting = Removal.awaiting_approval_for(lina).first()
    assert waiting is not None
    answer = webs["lina"].post(
        f"/removals/{waiting.id}/approve",
        data={"version": waiting.version},
        headers={"HX-Request": "true", "HX-Target": "status"},
    )
    assert answer.status_code == 200
    assert Removal.get_by_id(waiting.id).state == "approved_for_removal"
    # Every kind of builder was compared, over many statements.
    assert {"_Objects", "_JoinedObjects", "_Tuples"} <= kinds, kinds
    assert len(compared) >= 25, len(compared)


def test_a_value_the_driver_gives_as_the_field_would_is_not_converted_again():
    """Ints and text come back from both drivers as they are; a date does not (SQLite gives
    text), nor does a value of a custom or non-plain field."""
    assert row_builders._returned_as_is(User.id)
    assert row_builders._returned_as_is(User.username)
    assert row_builders._returned_as_is(Removal.record)  # a foreign key to an integer id
    assert not row_builders._returned_as_is(Removal.due_on)
    assert not row_builders._returned_as_is(User.active)
