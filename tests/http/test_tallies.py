"""A list's total over every record or case in scope comes from the tallies the database keeps
(models/tallies.py): each agrees with the rows however they were written, and showing it
reads none of the rows it counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from peewee import fn

from machines import clock
from models.base import db
from models.breaches import Breach
from models.records import Record, Removal
from models.removal_tallies import RemovalTally
from models.tallies import Tally
from tests import invariants
from tests.http.journeys import Cast, Page

# Runs on PostgreSQL too: the tallies are kept by each database's own triggers.
pytestmark = pytest.mark.postgres


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    alex = people.add("alex", "practitioner", team="Adults East")
    rita = people.add("rita", "records_manager", team="Governance")
    return {"lina": lina, "pat": pat, "alex": alex, "rita": rita}


@pytest.fixture
def cast(new_web):
    return Cast(new_web)


def bundle(owner, description: str) -> Record:
    return Record.create_labelled(
        case_id="1234567", description=description, team=owner.team_id, created_by=owner
    )


def case(reporter, reference: str) -> Breach:
    return Breach.create(
        reference=reference,
        team=reporter.team_id,
        reported_by=reporter,
        reported_at=clock.now(),
        what_happened="Letter sent to an old address",
        happened_at=clock.now(),
        discovered_at=clock.now(),
        category="wrong_recipient",
    )


def rows_per_team(model) -> dict[int, int]:
    return dict(model.select(model.team, fn.COUNT(model.id)).group_by(model.team).tuples())


def tallied(table: str) -> dict[int, int]:
    query = Tally.select(Tally.team_id, Tally.total).where(Tally.counted == table)
    return {team: total for team, total in query.tuples() if total}


def heading(web, url: str, element_id: str = "records-heading") -> str:
    html = web.get(url).get_data(as_text=True)
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, element_id
    return found.group(1).strip()


def assert_totals_agree(cast, staff) -> None:
    assert tallied("record") == rows_per_team(Record)
    assert tallied("breach") == rows_per_team(Breach)
    north = Record.select().where(Record.team == staff["pat"].team_id).count()
    everyone = Record.select().count()
    plural = lambda n, word: f"{n} {word}" if n == 1 else f"{n} {word}s"  # noqa: E731
    assert heading(cast["lina"], "/records/where") == plural(north, "record")
    assert heading(cast["rita"], "/records/where") == plural(everyone, "record")
    east = Record.select().where(Record.team == staff["alex"].team_id).count()
    assert heading(cast["rita"], f"/records/where?team={staff['alex'].team_id}") == (
        plural(east, "record") + " matching these filters"
    )
    # A team member's team filter names another team: nothing of theirs matches.
    assert heading(cast["lina"], f"/records/where?team={staff['alex'].team_id}") == (
        "0 records matching these filters"
    )
    cases = Breach.select().count()
    seen = Page.of(cast["rita"].get("/breaches")).text
    if cases:
        assert plural(cases, "case") + " you can see" in seen
    else:
        assert "There are no breach cases you need to know about." in seen


def test_the_totals_agree_with_the_rows_however_they_are_written(cast, staff):
    pat, alex = staff["pat"], staff["alex"]
    assert_totals_agree(cast, staff)  # none yet: 0 records, 0 cases

    first = bundle(pat, "Court bundle")
    bundle(alex, "East bundle")
    Record.create_many_labelled(
        [
            {"case_id": "7654321", "description": f"Box {n}", "team": pat.team_id}
            | {"created_by": pat.id}
            for n in range(5)
        ]
    )
    case(pat, "BR-2026-0001")
    case(alex, "BR-2026-0002")
    assert_totals_agree(cast, staff)

    # Moved to another team, taken out of the list, and a change rolled back.
    Record.update(team=alex.team_id).where(Record.id == first.id).execute()
    Record.update(description="Renamed").where(Record.team == pat.team_id).execute()
    Record.delete().where(Record.description == "Box 3").execute()
    Breach.delete().where(Breach.reference == "BR-2026-0002").execute()
    with db.atomic() as transaction:
        bundle(pat, "Never kept")
        case(pat, "BR-2026-0003")
        transaction.rollback()
    assert_totals_agree(cast, staff)
    # The open cases by stage too (models/breach_stages.py), deleted and rolled back.
    invariants.assert_breach_stage_tally_agrees()

    # Through the page, as a practitioner adds a record.
    web = cast["pat"]
    web.get("/records/new")
    assert (
        web.post("/records/new", {"case_id": "2345678", "description": "Assessment"}).status_code
        == 303
    )
    assert_totals_agree(cast, staff)
    # The whole-app stateful test's check of the same, after its every step.
    invariants.assert_counts_agree(cast["lina"], pat.team_id)


def test_a_total_reads_none_of_the_rows_it_counts(cast, staff, statements):
    for n in range(3):
        bundle(staff["pat"], f"Bundle {n}")
        case(staff["pat"], f"BR-2026-{n + 1:04d}")
    pages = (
        ("lina", "/records/where"),
        ("rita", "/records/where"),
        ("rita", "/breaches"),
        # Papers overdue: the removals' tally by due date (models/removal_tallies.py).
        ("lina", "/records/where?where=overdue"),
        ("rita", "/records/where?where=overdue"),
    )
    for who, url in pages:
        web = cast[who]
        web.get(url)  # the session's touch happens here
        with statements.counting():
            web.get(url)
        counts = [sql for sql in statements.statements if "COUNT(" in sql.upper()]
        over_rows = [sql for sql in counts if re.search(r'FROM "(record|breach|removal)"', sql)]
        assert over_rows == [], f"{who} {url} counts the rows themselves: {over_rows}"


def removal(holder, record: Record, state: str, due_in: int) -> dict:
    return {
        "record": record.id,
        "team": holder.team_id,
        "state": state,
        "for_user": holder.id,
        "requested_by": holder.id,
        "purpose": "court",
        "papers": "Court bundle",
        "due_on": clock.uk_today() + dt.timedelta(days=due_in),
        "version": 1,
    }


def board_says(web) -> dict[str, int]:
    figures = invariants.board_figures(web.get("/board").get_data(as_text=True))
    return {label: figures[label] for label in ("Waiting for approval", "Papers out", "Overdue")}


def test_the_boards_figures_follow_removals_however_they_are_written(cast, staff):
    """The board's asked for, out and overdue come from the removals the database tallies
    by state, team and due date (models/removal_tallies.py): every write path moves them."""
    pat, alex = staff["pat"], staff["alex"]
    records = [bundle(pat, f"Box {n}") for n in range(6)]
    Removal.create(**removal(pat, records[0], "requested", 5))
    # A bulk insert, as an import or the volume seed writes them: two out, one overdue.
    Removal.insert_many(
        [
            removal(pat, records[1], "out", 3),
            removal(pat, records[2], "out", -2),
            removal(alex, records[3], "out", -4),  # another team's
        ]
    ).execute()
    invariants.assert_removal_tally_agrees()
    assert board_says(cast["lina"]) == {"Waiting for approval": 1, "Papers out": 2, "Overdue": 1}

    # Taken out, a date moved past today, papers back, moved to this team, one deleted.
    Removal.update(state="out").where(Removal.record == records[0].id).execute()
    Removal.update(due_on=clock.uk_today() - dt.timedelta(days=1)).where(
        Removal.record == records[1].id
    ).execute()
    Removal.update(state="returned").where(Removal.record == records[2].id).execute()
    Removal.update(team=pat.team_id).where(Removal.record == records[3].id).execute()
    with db.atomic() as transaction:  # taken back: the figures too
        Removal.update(state="lost").where(Removal.team == pat.team_id).execute()
        Removal.create(**removal(pat, records[4], "requested", 2))
        transaction.rollback()
    invariants.assert_removal_tally_agrees()
    assert board_says(cast["lina"]) == {"Waiting for approval": 0, "Papers out": 3, "Overdue": 2}

    Removal.delete().where(Removal.record == records[3].id).execute()
    invariants.assert_removal_tally_agrees()
    assert board_says(cast["lina"]) == {"Waiting for approval": 0, "Papers out": 2, "Overdue": 1}
    # A key at nought is not kept: the dates read are only those with papers out or asked for.
    assert not RemovalTally.select().where(RemovalTally.total == 0).exists()
    invariants.assert_counts_agree(cast["lina"], pat.team_id)
