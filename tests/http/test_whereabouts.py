"""Where every record is: one screen (and one CSV) answers where each file is now, for the
team or, across teams, for those whose work spans them; a fixed number of statements."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from machines import clock
from models.base import db
from models.records import Record, Removal
from tests.http.journeys import Cast, Page
from views import paging

# Runs on PostgreSQL too: where every record is: its list queries and paging.
pytestmark = pytest.mark.postgres


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    alex = people.add("alex", "practitioner", team="Adults East")
    rita = people.add("rita", "records_manager", team="Governance")
    bim = people.add("bim", "business_improvement", team="Governance")
    return {"lina": lina, "pat": pat, "sam": sam, "alex": alex, "rita": rita, "bim": bim}


@pytest.fixture
def cast(new_web):
    return Cast(new_web)


def record(owner, description, case_id="1234567", state=None, holder=None, due_in=3, **removal):
    rec = Record.create(
        case_id=case_id, description=description, team=owner.team_id, created_by=owner
    )
    if state:
        closed = state in ("returned", "destroyed", "lost", "declined", "cancelled")
        Removal.create(
            record=rec,
            team=owner.team_id,
            state=state,
            for_user=holder or owner,
            requested_by=holder or owner,
            purpose="court",
            papers="Court bundle",
            due_on=clock.uk_today() + dt.timedelta(days=due_in),
            requested_at=clock.now(),
            closed_at=clock.now() if closed else None,
            **removal,
        )
    return rec


@pytest.fixture
def records(staff):
    pat, sam, alex = staff["pat"], staff["sam"], staff["alex"]
    now = clock.now()
    old = record(pat, "Returned long ago", state="returned")
    Removal.create(  # a second removal of the same record, now out: the latest one counts
        record=old,
        team=pat.team_id,
        state="out",
        for_user=sam,
        requested_by=sam,
        purpose="court",
        papers="Again",
        due_on=clock.uk_today() + dt.timedelta(days=5),
        taken_out_at=now,
    )
    return {
        "in_office": record(pat, "Never out"),
        "back": record(pat, "Back in the office", state="returned"),
        "asked": record(pat, "Asked for", state="requested"),
        "out": record(pat, "Out with Pat", state="out", due_in=4, taken_out_at=now),
        "overdue": record(pat, "Overdue with Pat", state="out", due_in=-2, taken_out_at=now),
        "destroyed": record(pat, "Shredded bundle", state="destroyed", destroyed_at=now),
        "lost": record(pat, "Lost on the bus", state="lost", lost_at=now),
        "out_again": old,
        "east": record(alex, "East team bundle", case_id="7654321", state="out", taken_out_at=now),
    }


def rows(response) -> dict[str, str]:
    """Record description -> what the 'Where now' cell says."""
    html = response.get_data(as_text=True)
    table = re.search(r'<table[^>]*id="records-list".*?</table>', html, re.S)
    if table is None:
        return {}
    found = {}
    for row in re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", table.group(0), re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        if cells and "<a" in cells[0]:
            text = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]
            found[text[0]] = text[-1]
    return found


def test_the_team_sees_where_each_of_its_records_is(cast, records):
    found = rows(cast["pat"].get("/records/where"))
    due = lambda days: clock.uk_today() + dt.timedelta(days=days)  # noqa: E731
    day = lambda d: f"{d.day} {d:%B %Y}"  # noqa: E731
    today = day(clock.uk_today())
    assert found == {
        "Never out": "In the office",
        "Back in the office": "In the office",
        "Asked for": "In the office In the office, asked for by Pat Tester",
        "Out with Pat": f"Out of the office Out with Pat Tester until {day(due(4))}",
        "Overdue with Pat": f"Out of the office Out with Pat Tester until {day(due(-2))}, "
        "2 days overdue",
        "Shredded bundle": f"Destroyed Destroyed on {today}",
        "Lost on the bus": f"Reported lost Reported lost on {today}",
        "Returned long ago": f"Out of the office Out with Sam Tester until {day(due(5))}",
    }  # and never another team's


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("where=out", {"Out with Pat", "Overdue with Pat", "Returned long ago"}),
        ("where=overdue", {"Overdue with Pat"}),
        ("where=destroyed", {"Shredded bundle"}),
        ("where=lost", {"Lost on the bus"}),
        ("where=in_office", {"Never out", "Back in the office", "Asked for"}),
        ("holder=SAM", {"Returned long ago"}),
        ("where=out&holder=PAT", {"Out with Pat", "Overdue with Pat"}),
    ],
)
def test_filters_by_whereabouts_and_holder(cast, staff, records, query, expected):
    query = query.replace("SAM", str(staff["sam"].id)).replace("PAT", str(staff["pat"].id))
    assert set(rows(cast["lina"].get(f"/records/where?{query}"))) == expected


def listed_by_where(web) -> dict[str, set[str]]:
    """Each whereabouts filter (but overdue) of the list across teams: the records it lists."""
    kinds = ("in_office", "out", "destroyed", "lost")
    return {where: set(rows(web.get(f"/records/where?where={where}"))) for where in kinds}


def by_latest_removal() -> dict[str, set[str]]:
    """The same, from each record's latest removal (what its own page shows)."""
    found: dict[str, set[str]] = {
        "in_office": set(),
        "out": set(),
        "destroyed": set(),
        "lost": set(),
    }
    for rec in Record.select():
        found[rec.whereabouts].add(rec.description)
    return found


def test_the_filters_follow_every_change_of_a_removal_however_it_is_written(cast, staff, records):
    # Where the papers are is kept on the record by the database (models/kept_whereabouts.py)
    # for the filters to walk an index: it must never part from the latest removal.
    rita, pat = cast["rita"], staff["pat"]
    assert listed_by_where(rita) == by_latest_removal()
    assert "Shredded bundle" in listed_by_where(rita)["destroyed"]

    out = Removal.get(Removal.record == records["out"].id)
    Removal.update(state="destroyed", closed_at=clock.now()).where(Removal.id == out.id).execute()
    newer = dict(
        team=pat.team_id, for_user=pat.id, requested_by=pat.id, purpose="court", papers="Again"
    )
    due = clock.uk_today() + dt.timedelta(days=3)
    Removal.insert_many(  # two removals of one record at once: the later one says where
        [
            {**newer, "record": records["in_office"].id, "state": "lost", "due_on": due}
            | {"closed_at": clock.now()},
            {**newer, "record": records["in_office"].id, "state": "out", "due_on": due},
        ]
    ).execute()
    # The latest removal of a record deleted: the one before it says where, again.
    Removal.delete().where(
        Removal.record == records["out_again"].id, Removal.state == "out"
    ).execute()
    # Moved to another record: both records' whereabouts change.
    lost = Removal.get(Removal.record == records["lost"].id)
    Removal.update(record=records["back"].id).where(Removal.id == lost.id).execute()
    with db.atomic() as transaction:  # a change rolled back leaves nothing behind
        Removal.update(state="lost").where(Removal.record == records["asked"].id).execute()
        transaction.rollback()

    expected = by_latest_removal()
    assert expected["destroyed"] == {"Shredded bundle", "Out with Pat"}
    assert "Never out" in expected["out"] and "Returned long ago" in expected["in_office"]
    assert "Back in the office" in expected["lost"] and "Lost on the bus" in expected["in_office"]
    assert "Asked for" in expected["in_office"]
    assert listed_by_where(rita) == expected


def test_a_bad_filter_is_said_not_applied(cast, records):
    response = cast["pat"].get("/records/where?where=under_the_desk&holder=x", status=422)
    page = Page.of(response)
    assert page.errors == ["Select where from the list", "Select who has the papers from the list"]
    assert len(rows(response)) == 8  # the list, unfiltered


def test_across_teams_with_a_team_filter_and_need_to_know_elsewhere(cast, staff, records):
    every = rows(cast["rita"].get("/records/where"))
    assert "East team bundle" in every and "Never out" in every
    east = rows(cast["rita"].get(f"/records/where?team={staff['alex'].team_id}"))
    assert set(east) == {"East team bundle"}
    # The team filter is ignored for a team member: their own team only.
    assert "East team bundle" not in rows(
        cast["pat"].get(f"/records/where?team={staff['alex'].team_id}")
    )
    cast["bim"].get("/records/where", status=403)
    cast["bim"].get("/records/where.csv", status=403)


def test_the_list_is_paged(cast, staff):
    for n in range(30):
        record(staff["pat"], f"Bundle {n:02d}")
    first = rows(cast["pat"].get("/records/where"))
    second = rows(cast["pat"].get("/records/where?page=2"))
    assert len(first) == 25 and len(second) == 5 and not set(first) & set(second)
    assert "30 records" in Page.of(cast["pat"].get("/records/where")).text


def test_a_filtered_total_is_counted_a_few_pages_ahead_not_through_the_years(
    cast, staff, monkeypatch
):
    # Records in the office pile up over the years: the list counts them only so far past
    # the page asked for (here one page), and says there are more.
    monkeypatch.setattr(paging, "COUNT_AHEAD", 1)
    for n in range(80):
        record(staff["pat"], f"Bundle {n:02d}")
    web = cast["lina"]

    def heading(url: str) -> str:
        html = web.get(url).get_data(as_text=True)
        return re.search(r'id="records-heading">([^<]*)<', html).group(1)

    assert heading("/records/where?where=in_office") == (
        "More than 50 records matching these filters"
    )
    assert heading("/records/where?where=in_office&page=2") == (
        "More than 75 records matching these filters"
    )
    assert heading("/records/where?where=in_office&page=3") == "80 records matching these filters"
    assert len(rows(web.get("/records/where?where=in_office&page=4"))) == 5  # the last page
    # Unfiltered, the team's tally: every record, counted or not.
    assert heading("/records/where") == "80 records"
    first = Page.of(web.get("/records/where?where=in_office"))
    assert "Next" in first.text


def test_the_csv_is_streamed_filtered_and_formula_safe(cast, staff, records):
    record(
        staff["pat"],
        '=HYPERLINK("http://evil.example")',
        case_id="5555555",
        state="out",
        taken_out_at=clock.now(),
    )
    response = cast["lina"].get("/records/where.csv?where=out")
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0][:5] == ["Case-system ID", "Description", "Label code", "Team", "Where"]
    described = {row[1]: row for row in table[1:]}
    assert set(described) == {
        "Out with Pat",
        "Overdue with Pat",
        "Returned long ago",
        '\'=HYPERLINK("http://evil.example")',
    }
    assert described["Out with Pat"][4:7] == [
        "out",
        described["Out with Pat"][5],
        "Pat Tester",
    ]
    assert described["Out with Pat"][5].startswith("Out with Pat Tester until")
    cast["lina"].get("/records/where.csv?where=nowhere", status=400)


def test_the_csv_is_read_a_batch_at_a_time_every_record_once_in_the_pages_order(
    cast, staff, records, statements, monkeypatch
):
    from views import whereabouts

    # Records with one case-system ID and description straddle the batches: the seek past
    # the last row sent must still send each one once.
    for _ in range(7):
        record(staff["pat"], "Same bundle", case_id="7777777")
    monkeypatch.setattr(whereabouts, "CSV_CHUNK", 3)
    rita = cast["rita"]
    rita.get("/records/where")

    def selects() -> int:
        return sum(sql.lstrip().startswith("SELECT") for sql in statements.statements)

    with statements.counting():
        response = rita.client.get("/records/where.csv")
        chunks = iter(response.response)
        first = [next(chunks), next(chunks)]  # the header, then the first batch
        before = selects()
        rest = list(chunks)
        after = selects()
    assert response.is_streamed
    assert before < after  # the rest was read after the first rows went out
    table = list(csv.reader(io.StringIO(b"".join(first + rest).decode())))
    labels = [row[2] for row in table[1:]]
    listed = [
        label for (label,) in Record.select(Record.label_code).tuples()
    ]  # every record, every team: rita sees them all
    assert sorted(labels) == sorted(listed) and len(set(labels)) == len(labels)
    order = [(row[3], row[0], row[1]) for row in table[1:]]
    assert order == sorted(order)  # team, case-system ID, description: as the page lists


def test_statements_do_not_grow_with_the_records(cast, staff, records, statements):
    web = cast["lina"]
    web.get("/records/where")  # warm: the session's touch happens here

    def count(url):
        with statements.counting():
            web.get(url)
        return statements.count

    page, export = count("/records/where"), count("/records/where.csv")
    for n in range(40):
        record(
            staff["pat"], f"More {n}", state="out", holder=staff["sam"], taken_out_at=clock.now()
        )
    assert count("/records/where") == page, statements.report()
    assert count("/records/where.csv") == export, statements.report()


def test_finding_a_case_says_where_each_of_its_files_is(cast, records):
    web = cast["pat"]
    web.get("/records")
    found = Page.of(web.post("/records", {"term": "1234567"}))
    assert "Out with Pat Tester until" in found.text
    assert "Destroyed on" in found.text and "Reported lost on" in found.text


def test_the_overdue_filter_counts_the_papers_past_their_date(cast, staff, records):
    """Its total comes from the removals the database tallies by due date
    (models/removal_tallies.py), and follows a date moved as the rows do."""

    def says(who: str, query: str) -> str:
        html = cast[who].get(f"/records/where?{query}").get_data(as_text=True)
        return re.search(r'id="records-heading">([^<]*)<', html).group(1)

    def late_in(team: int | None = None) -> int:
        late = Removal.select().where(Removal.state == "out", Removal.due_on < clock.uk_today())
        return late.where(Removal.team == team).count() if team else late.count()

    pat, alex = staff["pat"], staff["alex"]
    assert says("lina", "where=overdue") == "1 record matching these filters"
    Removal.update(due_on=clock.uk_today() - dt.timedelta(days=1)).where(
        Removal.record == records["out"].id
    ).execute()
    assert says("lina", "where=overdue") == "2 records matching these filters"
    assert late_in(pat.team_id) == 2
    everyone = late_in()
    wanted = f"{everyone} record" if everyone == 1 else f"{everyone} records"
    assert says("rita", "where=overdue") == f"{wanted} matching these filters"
    east = late_in(alex.team_id)
    wanted = f"{east} record" if east == 1 else f"{east} records"
    assert says("rita", f"where=overdue&team={alex.team_id}") == f"{wanted} matching these filters"
    # Another team's filter from a team member: nothing of theirs.
    assert says("lina", f"where=overdue&team={alex.team_id}") == "0 records matching these filters"
