"""Every statement a page runs at volume finds its rows through an index, on both databases.

The pages are asked as people ask them, every statement is caught with its parameters, and
each is explained by the database it ran on:

- SQLite: no plan step scans a big table from end to end (`SCAN removal`, without an index);
- PostgreSQL, with sequential scans priced out (`enable_seqscan = off`, so a seq scan that
  remains means no index can serve the query): no `Seq Scan` on a big table, and, run for
  real (EXPLAIN ANALYZE), no step reads many rows only to throw them away, which is what
  an index on the wrong columns looks like, and no page of a list is sorted out of every
  row in scope (a top-N sort under ORDER BY ... LIMIT: the order is not an index's).

A query that has to read every row it summarises (the register's figures over the filtered
cases) is the one allowance, named below.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from peewee import fn

from demo.accounts import DEMO_PASSWORD
from demo.volume import seed_volume
from machines import clock
from models.base import db, is_postgres
from models.breaches import OPEN_STATES, Breach
from models.people import User
from models.records import Record, Removal
from models.remote_working import RemoteAgreement
from tests import invariants
from tests.http.conftest import seeded_once

# Runs on PostgreSQL too: query plans differ by database.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Tables that grow with the years of use; the rest (teams, roles) stay small.
BIG = {
    "removal",
    "record",
    "breach",
    "notification",
    "dispatch",
    "audit_event",
    "user_session",
    "kiosk_failure",
    "remote_agreement",
    "kiosk_session",
    "reminder",
}
# Rows a plan step may read and discard (PostgreSQL's "Rows Removed by Filter"): a few for
# each row it keeps, as when walking an index in the order asked for.
DISCARD_LIMIT = 100
DISCARD_PER_ROW = 10
# SQLite's work for a statement, in virtual-machine steps: a fixed part, and a share for
# each row returned or skipped, which grows with the columns it carries (a removal with its
# record and holder is ~60 columns and ~300 steps; a scan of the test's 3,000 removals costs
# tens of thousands).
STEPS_BASE = 1500
STEPS_PER_ROW = 100
STEPS_PER_COLUMN = 5

PAGES = [
    ("lina", "/"),
    ("pat", "/"),
    ("dana", "/"),
    ("gov", "/"),
    ("lina", "/board"),
    ("dana", "/board"),
    ("dana", "/board?page=3"),
    ("lina", "/approvals"),
    ("dana", "/approvals"),  # a director: her reports' requests, in any team
    ("lina", "/remote-working"),
    ("pat", "/remote-working"),
    ("lina", "/records/where"),
    ("lina", "/records/where?where=out&page=2"),
    ("rita", "/records/where"),
    ("rita", "/records/where?page=4"),
    ("rita", "/records/where?where=overdue"),
    # Where the papers are is kept on each record (models/kept_whereabouts.py): destroyed
    # and lost papers, which pile up with the years, are found along an index a page at a time.
    ("lina", "/records/where?where=destroyed"),
    ("rita", "/records/where?where=destroyed"),
    ("rita", "/records/where?where=lost&page=2"),
    ("rita", "/records/where?where=in_office&page=3"),
    ("lina", "/records/where.csv"),
    ("rita", "/records/where.csv?where=out"),
    ("pat", "/breaches"),
    # A line manager sees their reports' losses and thefts: each report's own cases, newest
    # first, not every case of all of them over the years sorted.
    ("lina", "/breaches"),
    ("lina", "/breaches?page=2"),
    ("gov", "/breaches"),
    ("gov", "/breaches?page=5"),
    ("gov", "/register"),
    ("gov", "/register?page=5"),
    ("gov", "/register?category=loss&state=closed"),
    ("pat", "/send"),
]

# Statements allowed to read every row of what they summarise, by page and a piece of
# their SQL: the register's figures are over every case in the filter.
SUMMARIES = {
    "/register": ("GROUP BY", "COUNT(", "SUM(", "MIN(", "MAX("),
    # A list filtered by where the papers are counts the records the filter finds, but only
    # a few pages past the page asked for (views/paging.py: bounded_total), at any volume.
    "/records/where?where=": ("SELECT COUNT(",),
    # So does the breach list of someone who sees cases through their relations to them
    # (Breach.count_visible: each relation stops one past the bound). Those who see every
    # case read a tally: their count is not allowed to read the cases.
    "lina /breaches": ("SELECT COUNT(",),
}


def _sqlite_steps(sql: str, params: tuple) -> tuple[int, int]:
    """The virtual-machine steps SQLite takes to run a statement (its work, not its time)
    and the rows it returns."""
    steps = 0

    def count():
        nonlocal steps
        steps += 1
        return 0

    connection = db.connection()
    connection.set_progress_handler(count, 10)
    try:
        rows = connection.execute(sql, params).fetchall()
    finally:
        connection.set_progress_handler(None, 10)
    return steps * 10, len(rows)


def _partial_indexes() -> set[str]:
    rows = db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"
    )
    return {name for (name,) in rows}


def _sqlite_problems(sql: str, params: tuple) -> list[str]:
    aliases = dict((alias, table) for table, alias in re.findall(r'"(\w+)" AS "(\w+)"', sql))
    plan = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    problems = []
    for row in plan:
        detail = row[-1]
        found = re.match(r"SCAN (\w+)(.*)", detail)
        if found:
            table = aliases.get(found[1], found[1])
            # A walk along an index in the order asked for, stopped by LIMIT, is fine; so is
            # reading a partial index (the open rows only). Reading a whole table or index is
            # not, to count it neither (a list's total is a tally: models/tallies.py).
            index = re.search(r"USING (?:COVERING )?INDEX (\w+)", found[2])
            ordered_walk = index is not None and " LIMIT " in sql
            partial = index is not None and index[1] in _partial_indexes()
            if table in BIG and not (ordered_walk or partial):
                problems.append(detail)
    if sql.lstrip().upper().startswith("SELECT"):
        steps, rows = _sqlite_steps(sql, params)
        # Rows returned, and rows skipped by OFFSET (peewee binds it last): those are read.
        read = rows + (params[-1] if re.search(r"OFFSET \?\s*$", sql) else 0)
        columns = sql[: sql.find(" FROM ")].count('"."') or 1
        if steps > STEPS_BASE + (STEPS_PER_ROW + STEPS_PER_COLUMN * columns) * read:
            problems.append(f"{steps} steps for {rows} rows: it reads rows it does not return")
    return problems


def _postgres_problems(sql: str, params: tuple) -> list[str]:
    problems = []
    analyse = sql.lstrip().upper().startswith("SELECT")
    with db.atomic() as transaction:
        db.execute_sql("SET LOCAL enable_seqscan = off")
        options = "ANALYZE, FORMAT JSON" if analyse else "FORMAT JSON"
        (plan,) = db.execute_sql(f"EXPLAIN ({options}) {sql}", params).fetchone()
        transaction.rollback()  # EXPLAIN ANALYZE ran it: keep nothing
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node):
        relation = node.get("Relation Name")
        if node["Node Type"] == "Seq Scan" and relation in BIG:
            problems.append(f"Seq Scan on {relation}")
        loops = node.get("Actual Loops", 1)
        discarded = node.get("Rows Removed by Filter", 0) * loops
        kept = node.get("Actual Rows", 0) * loops
        if relation in BIG and discarded > max(DISCARD_LIMIT, DISCARD_PER_ROW * kept):
            problems.append(
                f"{node['Node Type']} on {relation} ({node.get('Index Name', 'no index')}) "
                f"reads and discards {discarded} rows"
            )
        # A page's rows sorted out of every row in scope (ORDER BY ... LIMIT over a sort):
        # the order the page asks for is not an index's, so every row is read to keep a few.
        if node["Node Type"] == "Sort" and node.get("Sort Method") == "top-N heapsort":
            read = sum(c.get("Actual Rows", 0) * c.get("Actual Loops", 1) for c in node["Plans"])
            if read > max(DISCARD_LIMIT, DISCARD_PER_ROW * kept):
                problems.append(f"Sort reads {read} rows to keep {kept} (top-N heapsort)")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return problems


def problems_of(statements) -> list[tuple[str, list[str]]]:
    found = []
    for sql, params in zip(statements.statements, statements.parameters, strict=True):
        if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "INSERT")):
            continue
        check = _postgres_problems if is_postgres() else _sqlite_problems
        problems = check(sql, params)
        if problems:
            found.append((sql, problems))
    return found


def _seed_at_volume():
    seed_volume(removals=3000, breaches=500)
    if is_postgres():
        db.execute_sql("ANALYZE")  # as autovacuum would have, after years of use


@pytest.fixture
def volume(app, request):
    seeded_once(request, "plans-at-volume", _seed_at_volume)
    return app


def check(statements, page: str, run) -> list[str]:
    with statements.counting():
        run()
    allowed = next((pieces for path, pieces in SUMMARIES.items() if f" {path}" in f" {page}"), ())
    report = []
    for sql, problems in problems_of(statements):
        if any(piece in sql for piece in allowed):
            continue
        report.append(f"{page}: {'; '.join(problems)}\n    {sql[:4000]}")
    return report


class People(dict):
    """The demo council's people (seed_volume creates them), each signed in on first use."""

    def __init__(self, new_web):
        super().__init__()
        self.new_web = new_web

    def __missing__(self, username):
        web = self[username] = self.new_web()
        web.sign_in(username, DEMO_PASSWORD)
        return web


def test_every_page_finds_its_rows_through_indexes(volume, new_web, statements):
    cast = People(new_web)
    report = []
    for username, url in PAGES:
        web = cast[username]
        web.get(url)  # warm: what a first visit caches is not checked
        # A CSV is streamed: read it all, so every statement it runs is caught.
        report += check(statements, f"{username} {url}", lambda w=web, u=url: w.get(u).get_data())
    assert not report, "\n".join(report)


def test_a_record_page_its_search_and_a_transition_find_their_rows_through_indexes(
    volume, new_web, statements
):
    cast = People(new_web)
    pat, lina = cast["pat"], cast["lina"]
    out = Removal.select().where(Removal.state == "out", Removal.for_user == pat_id()).first()
    record = Record.get_by_id(out.record_id)
    report = check(statements, "record page", lambda: pat.get(f"/records/{record.id}"))
    report += check(
        statements,
        "find by case-system ID",
        lambda: pat.post("/records", {"term": record.case_id.lower()}),
    )
    report += check(
        statements, "find by label", lambda: pat.post("/records", {"term": record.label_code})
    )
    waiting = (
        Removal.select()
        .where(Removal.state == "requested", Removal.team == out.team_id)
        .order_by(Removal.id)
        .first()
    )
    lina.get(f"/records/{waiting.record_id}")
    report += check(
        statements,
        "htmx approve",
        lambda: lina.post(
            f"/removals/{waiting.id}/approve", {"version": waiting.version}, htmx=True
        ),
    )
    assert Removal.get_by_id(waiting.id).state == "approved_for_removal"
    assert not report, "\n".join(report)


def test_a_breach_case_its_report_and_the_register_csv_find_their_rows_through_indexes(
    volume, new_web, statements
):
    gov = People(new_web)["gov"]
    case = Breach.select().where(Breach.is_open()).order_by(Breach.id).first()
    report = check(statements, "case page", lambda: gov.get(f"/breaches/{case.id}"))
    # A theft with its police details, the Caldicott Guardian's agreement and the ICO's
    # referral on record: the facts the page names people for.
    told = (
        Breach.select()
        .where(
            Breach.police_officer.is_null(False),
            Breach.caldicott_agreed_by.is_null(False),
            Breach.ico_recorded_by.is_null(False),
        )
        .order_by(Breach.id)
        .first()
    )
    report += check(statements, "case page, facts", lambda: gov.get(f"/breaches/{told.id}"))
    report += check(statements, "breach report", lambda: gov.get(f"/breaches/{case.id}/report"))
    report += check(
        statements,
        "register CSV",
        lambda: gov.get("/breaches/register.csv").get_data(),  # streamed: read it all
    )
    assert not report, "\n".join(report)


def pat_id() -> int:
    from models.people import User

    return User.by_username("pat").id


def test_a_remote_working_agreement_and_its_decision_find_their_rows_through_indexes(
    volume, new_web, statements
):
    cast = People(new_web)
    lina = cast["lina"]
    asked = (
        RemoteAgreement.select()
        .where(RemoteAgreement.state == "asked", RemoteAgreement.team == lina_team())
        .order_by(RemoteAgreement.id)
        .first()
    )
    report = check(statements, "agreement page", lambda: lina.get(f"/remote-working/{asked.id}"))
    report += check(
        statements,
        "agree",
        lambda: lina.post(
            f"/remote-working/{asked.id}/agree", {"version": asked.version}, htmx=True
        ),
    )
    assert RemoteAgreement.get_by_id(asked.id).state == "agreed"
    assert not report, "\n".join(report)


def lina_team() -> int:
    from models.people import User

    return User.by_username("lina").team_id


def test_a_long_holders_home_page_reads_only_their_open_removals(volume, new_web, statements):
    """Years of papers taken out: Pat holds every finished removal of the volume (about 3,000)
    and a few open ones. Without statistics, SQLite once chose an index over all of a
    person's removals and read every finished one to find the open."""
    pat = pat_id()
    Removal.update(for_user=pat).where(Removal.closed_at.is_null(False)).execute()
    if is_postgres():
        db.execute_sql("ANALYZE")
    web = People(new_web)["pat"]
    web.get("/")
    report = check(statements, "pat / (a long holder)", lambda: web.get("/").get_data())
    assert not report, "\n".join(report)


def _rows_worked(sql: str, params: tuple) -> int:
    """A statement's work: SQLite's virtual-machine steps, PostgreSQL's rows through every
    step of its plan (EXPLAIN ANALYZE)."""
    if not is_postgres():
        return _sqlite_steps(sql, params)[0]
    with db.atomic() as transaction:
        (plan,) = db.execute_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).fetchone()
        transaction.rollback()
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def rows(node) -> int:
        own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        return own + sum(rows(child) for child in node.get("Plans", []))

    return rows(plan[0]["Plan"])


def _board_work(person, statements, counted) -> int:
    """The rows a second view of the person's board works through, in the statements
    `counted` picks (by their SQL)."""
    person.get("/board")
    with statements.counting():
        person.get("/board")
    return sum(
        _rows_worked(sql, params)
        for sql, params in zip(statements.statements, statements.parameters, strict=True)
        if counted(sql)
    )


def test_a_managers_board_reads_the_open_cases_however_many_have_closed(app, new_web, statements):
    """The cases a line manager sees through their reports pile up over the years, closed;
    the board counts and lists the open ones, and must not walk the closed ones to find
    them (it did, by the category and staff-member indexes, for their reports' losses)."""
    seed_volume(removals=50, breaches=60)
    lina = People(new_web)["lina"]

    def work() -> int:
        return _board_work(
            lina,
            statements,
            lambda sql: 'FROM "breach"' in sql and sql.lstrip().upper().startswith("SELECT"),
        )

    before = work()
    newest = Breach.select(fn.MAX(Breach.id)).scalar()
    seed_volume(removals=10, breaches=900)
    closed = (
        Breach.update(closed_at=Breach.discovered_at, state="closed")
        .where(Breach.id > newest)
        .execute()
    )
    assert closed == 900
    if is_postgres():
        db.execute_sql("ANALYZE")
    after = work()
    assert after <= before * 1.2 + 200, f"{before} -> {after} with 900 more closed cases"


def _open_the_teams_new_records(team: int, after_id: int) -> int:
    """Every record of the team whose removals came after `after_id` with its papers out or
    asked for (its latest removal opened again: a record has one open removal at most), due
    over four weeks, the first week's past; how many."""
    today = clock.uk_today()
    latest = (
        Removal.select(fn.MAX(Removal.id))
        .where(Removal.id > after_id, Removal.team == team)
        .group_by(Removal.record)
    )
    opened = Removal.select(Removal.id).where(Removal.id.in_(latest))
    day = Removal.id - Removal.id / 28 * 28  # the id modulo 28 (peewee's % is LIKE)
    for n in range(28):
        Removal.update(
            state="requested" if n % 3 == 1 else "out",
            closed_at=None,
            ladder_from=None,
            due_on=today + dt.timedelta(days=n - 7),
        ).where(Removal.id.in_(opened), day == n).execute()
    return opened.count()


def test_the_boards_figures_read_no_more_however_many_removals_are_open(app, new_web, statements):
    """A team's work in hand grows with the council: the board's figures (asked for, out,
    overdue) come from the tallies the database keeps, a row per state and due date, not a
    pass over every open removal (the sum read each of them: its work grew with them). Its
    lists stop at their page's end, as the plans test checks for every page."""
    seed_volume(removals=1000, breaches=0)
    team = User.by_username("lina").team_id
    assert _open_the_teams_new_records(team, 0) > 60  # every list on the board full already
    lina = People(new_web)["lina"]

    def work() -> int:
        return _board_work(lina, statements, lambda sql: '"removal' in sql and "SUM(" in sql)

    before = work()
    newest = Removal.select(fn.MAX(Removal.id)).scalar()
    seed_volume(removals=4_000, breaches=0)
    opened = _open_the_teams_new_records(team, newest)
    assert opened > 200
    if is_postgres():
        db.execute_sql("ANALYZE")
    after = work()
    assert after <= before * 1.2 + 200, f"{before} -> {after} with {opened} more open"
    # And the figures are the rows' own.
    in_team = (Removal.team == team) & Removal.state.in_(("requested", "out"))
    rows = Removal.select(Removal.state, Removal.due_on < clock.uk_today()).where(in_team)
    states = [(state, late) for state, late in rows.tuples()]
    assert invariants.board_figures(lina.get("/board").get_data(as_text=True)) == {
        "Waiting for approval": sum(state == "requested" for state, _ in states),
        "Papers out": sum(state == "out" for state, _ in states),
        "Overdue": sum(state == "out" and bool(late) for state, late in states),
        "Documents to check": 0,
        "Open breach cases": 0,
    }


def _open_cases_for(manager: User, report: User, after_id: int) -> int:
    """Every case after `after_id` open again, at the five open stages in turn: a loss of
    papers `report` held and reported, whom `manager` manages (so seen through two of the
    manager's relations); how many."""
    stage = Breach.id - Breach.id / len(OPEN_STATES) * len(OPEN_STATES)  # id modulo 5
    opened = 0
    for n, state in enumerate(OPEN_STATES):
        opened += (
            Breach.update(
                state=state,
                closed_at=None,
                reported_by=report.id,
                reporter_manager=manager.id,
                staff_member=report.id,
                category="loss",
            )
            .where(Breach.id > after_id, stage == n)
            .execute()
        )
    return opened


def test_the_boards_breach_stages_read_no_more_however_many_cases_are_open(
    app, new_web, statements
):
    """Open breach cases grow with the council. A director's board counts them at each stage
    from the tally the database keeps (models/breach_stages.py), a row per stage and team; a
    line manager's count stops past 99 at each stage and says "more than 99". Neither reads
    more as the open cases grow."""
    seed_volume(removals=50, breaches=60)
    cast = People(new_web)
    lina, pat = User.by_username("lina"), User.by_username("pat")

    def work(who: str) -> int:
        return _board_work(
            cast[who],
            statements,
            lambda sql: 'FROM "breach' in sql and sql.lstrip().upper().startswith("SELECT"),
        )

    newest = Breach.select(fn.MAX(Breach.id)).scalar()
    seed_volume(removals=10, breaches=600)
    assert _open_cases_for(lina, pat, newest) == 600  # 120 a stage: past the bound at each
    if is_postgres():
        db.execute_sql("ANALYZE")
    before = {who: work(who) for who in ("dana", "lina")}
    newest = Breach.select(fn.MAX(Breach.id)).scalar()
    seed_volume(removals=10, breaches=1_200)
    assert _open_cases_for(lina, pat, newest) == 1_200
    if is_postgres():
        db.execute_sql("ANALYZE")
    after = {who: work(who) for who in ("dana", "lina")}
    for who in before:
        assert after[who] <= before[who] * 1.2 + 200, f"{who}: {before} -> {after}"

    # What they read: the director every open case, exactly; the line manager "more than".
    invariants.assert_board_stages_agree(cast["dana"])
    html = cast["lina"].get("/board").get_data(as_text=True)
    assert set(invariants.board_stages(html).values()) == {"more than 99"}
    assert invariants.board_figures(html)["Open breach cases"] == "more than 495"


def test_the_board_reads_the_agreements_in_force_not_every_one_ever_made(
    volume, new_web, statements
):
    # Years of agreements that ended: the board lists those in force and the asks waiting.
    lina = People(new_web)["lina"]
    pat = User.by_username("pat")
    ended = clock.uk_today() - dt.timedelta(days=30)
    RemoteAgreement.insert_many(
        [
            {
                "team": pat.team_id,
                "for_user": pat.id,
                "requested_by": pat.id,
                "state": "expired",
                "place": "Home",
                "why": "Assessments",
                "ends_on": ended - dt.timedelta(days=n),
                "version": 1,
            }
            for n in range(2000)
        ]
    ).execute()
    lina.get("/board")
    report = check(statements, "lina /board", lambda: lina.get("/board"))
    assert not report, "\n".join(report)


def test_the_every_team_board_reads_the_first_agreements_in_force_not_them_all(
    volume, new_web, statements
):
    """Agreements in force grow with the council: the board of every team lists the twenty
    ending soonest, each state read along the (state, end date) index and stopped there (it
    sorted every agreement in force of every team)."""
    dana = People(new_web)["dana"]
    pat = User.by_username("pat")
    today = clock.uk_today()
    RemoteAgreement.insert_many(
        [
            {
                "team": pat.team_id,
                "for_user": pat.id,
                "requested_by": pat.id,
                "state": "agreed",
                "place": "Home",
                "why": "Assessments",
                "ends_on": today + dt.timedelta(days=10 + n % 300),
                "version": 1,
            }
            for n in range(2000)
        ]
    ).execute()
    if is_postgres():
        db.execute_sql("ANALYZE")
    dana.get("/board")
    report = check(statements, "dana /board", lambda: dana.get("/board"))
    assert not report, "\n".join(report)
    html = dana.get("/board").get_data(as_text=True)
    assert "Showing the 20 ending soonest." in html
