"""Statements compiled once and run again with new values (models/prepared.py), on both
databases: their placeholders differ (`?` and `%s`)."""

from __future__ import annotations

import datetime as dt

import pytest

from models.base import Stale
from models.people import Team, User, UserRole
from models.prepared import (
    PERSON_KINDS,
    PersonShape,
    Prepared,
    PreparedByShape,
    by_id,
    get_by_id,
    insert_statement,
    person_values,
)
from models.records import Removal
from tests.http.journeys.custody import papers_held

pytestmark = pytest.mark.postgres

BY_USERNAME = Prepared(
    lambda username: (
        User.select(User, Team).join(Team, attr="team").where(User.username == username)
    ),
    username=str,
)


def test_each_run_binds_its_own_values_to_the_one_compiled_statement(people, statements):
    people.add("pat", team="Children North")
    people.add("dana", team="Adults East")
    with statements.counting():
        pat = BY_USERNAME.rows(username="pat")
        dana = BY_USERNAME.rows(username="dana")
        nobody = BY_USERNAME.rows(username="nobody")
    assert [(u.username, u.team.name) for u in pat] == [("pat", "Children North")]
    assert [(u.username, u.team.name) for u in dana] == [("dana", "Adults East")]
    assert nobody == []
    assert len(set(statements.statements)) == 1  # one SQL text, three sets of values
    assert [p[-1] for p in statements.parameters] == ["pat", "dana", "nobody"]


def test_constants_of_the_query_are_kept_and_rows_changed_are_counted(people):
    people.add("pat", "practitioner")
    people.add("lina", "line_manager")
    disable_if = Prepared(
        lambda username: User.update(active=False).where(
            User.username == username,
            User.id.in_(UserRole.select(UserRole.user).where(UserRole.role == "practitioner")),
        ),
        username=str,
    )
    assert disable_if.execute(username="lina") == 0  # not a practitioner: the constant held
    assert disable_if.execute(username="pat") == 1
    assert [u.username for u in User.select().where(User.active == False)] == ["pat"]  # noqa: E712


def test_tuples_and_dicts_come_back_as_the_query_would_return_them(people):
    people.add("pat")
    names = Prepared(
        lambda username: (
            User.select(User.username, User.display_name).where(User.username == username).tuples()
        ),
        username=str,
    )
    assert names.rows(username="pat") == [("pat", "Pat Tester")]


def test_a_value_changed_inside_the_query_is_refused_rather_than_compiled_as_a_constant(app):
    since = Prepared(
        lambda after: User.select().where(User.created_at >= after - dt.timedelta(minutes=1)),
        after=dt.datetime,
    )
    with pytest.raises(ValueError, match="derived"):
        since.rows(after=dt.datetime(2026, 12, 7))


def test_a_row_by_its_id_or_none_and_the_missing_row_raises_as_peewee_does(people):
    pat = people.add("pat")
    assert by_id(User, pat.id).username == "pat"
    assert by_id(User, pat.id + 1000) is None
    with pytest.raises(User.DoesNotExist):
        get_by_id(User, pat.id + 1000)


def test_people_of_one_shape_share_a_statement_but_each_gets_their_own_rows(people):
    """A person's statement is compiled for their roles; their ids stay values, so the next
    person with the same roles never sees the first one's rows."""
    north = people.add("nell", "line_manager", team="Children North")
    east = people.add("ed", "line_manager", team="Adults East")
    assert PersonShape.of(north) == PersonShape.of(east)
    in_team = PreparedByShape(
        lambda shape, person_id, team_id: (
            User.select(User.username)
            .where(User.team == shape.person(person_id, team_id).team_id)
            .tuples()
        ),
        **PERSON_KINDS,
    )
    assert in_team.rows(PersonShape.of(north), **person_values(north)) == [("nell",)]
    assert in_team.rows(PersonShape.of(east), **person_values(east)) == [("ed",)]


def test_a_statement_built_from_more_of_a_person_than_their_shape_fails_loudly(people):
    pat = people.add("pat")
    by_manager = PreparedByShape(
        lambda shape, person_id, team_id: User.select().where(
            User.line_manager == shape.person(person_id, team_id).line_manager_id
        ),
        **PERSON_KINDS,
    )
    with pytest.raises(AttributeError):
        by_manager.rows(PersonShape.of(pat), **person_values(pat))


def test_an_insert_gives_the_new_rows_id_on_either_database(people):
    pat = people.add("pat")
    insert = insert_statement(UserRole, ("role", "user"))
    first = insert.insert(role="governance", user=pat.id)
    second = insert.insert(role="director", user=pat.id)
    assert second == first + 1
    assert {(r.id, r.role) for r in UserRole.select().where(UserRole.id >= first)} == {
        (first, "governance"),
        (second, "director"),
    }


def test_a_versioned_save_compiles_once_for_its_fields_and_still_refuses_a_stale_version(
    people, statements
):
    """save_versioned's compare-and-set, run from one compiled statement per set of fields
    changed: each save moves the version on, a save from an older copy changes nothing."""
    pat = people.add("pat")
    removal = papers_held(pat, "Chronology", "out", 3, case_id="1000001")
    stale = Removal.get_by_id(removal.id)
    with statements.counting():
        for days in (5, 9):
            removal.due_on = dt.date(2026, 12, days)
            removal.save_versioned()
    updates = [sql for sql in statements.statements if sql.startswith("UPDATE")]
    assert len(updates) == 2 and len(set(updates)) == 1  # one SQL text, two sets of values
    stored = Removal.get_by_id(removal.id)
    assert (stored.due_on, stored.version) == (dt.date(2026, 12, 9), removal.version)
    assert removal.version == stale.version + 2
    stale.due_on = dt.date(2027, 1, 1)
    with pytest.raises(Stale):
        stale.save_versioned()
    assert Removal.get_by_id(removal.id).due_on == dt.date(2026, 12, 9)
