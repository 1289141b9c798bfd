"""Where every record is: the team's records (every team's, for those who work across teams)
with where each one's papers are now, filtered by whereabouts and holder, a page at a time,
and the same list as CSV. A fixed number of statements, however many records.

Filters travel in the query string (whereabouts, holder and team are ids and codes, never a
case-system ID): a filtered list can be bookmarked, and the CSV link carries the same filters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user
from peewee import JOIN, SQL, Tuple, fn
from wtforms.validators import ValidationError

from machines import clock
from machines.common import whole_number
from machines.permissions import Can
from models.base import MAX_ID, db
from models.people import Team, User
from models.records import WHEREABOUTS, Record, Removal, held_by, whereabouts_is
from models.removal_tallies import overdue_count
from models.tallies import Tally
from views.breach_reports import _cell as formula_safe
from views.display import where_now
from views.forms import FormErrors, GovForm
from views.forms.fields import ID_TEXT_MAX, Choice, Text
from views.paging import bounded_total, page_links, page_of

bp = Blueprint("whereabouts", __name__)

# Rows per round trip when streaming the CSV: memory stays flat, however many records.
CSV_CHUNK = 500
# Within a team, the order of the records' index (team, case ID, description): a page of one
# team's records walks the index. Across teams, teams by name first (see _page).
IN_TEAM_ORDER = (Record.case_id, Record.description, Record.id)
ORDER = (Team.name, *IN_TEAM_ORDER)


class WhereaboutsFilters(GovForm):
    where = Choice(choices=[key for key, _ in WHEREABOUTS], invalid="Select where from the list")
    holder = Text("Who has the papers", limit=ID_TEXT_MAX, personal_data=True)  # an id
    team = Text("Team", limit=ID_TEXT_MAX, personal_data=True)  # an id

    def validate_holder(self, field) -> None:
        if field.data and whole_number(field.data, MAX_ID) in (None, 0):
            raise ValidationError("Select who has the papers from the list")

    def validate_team(self, field) -> None:
        if field.data and whole_number(field.data, MAX_ID) in (None, 0):
            raise ValidationError("Select a team from the list")


@dataclass(frozen=True)
class Filters:
    where: str = ""
    holder: int | None = None
    team: int | None = None

    def query_args(self) -> dict:
        args = {"where": self.where, "holder": self.holder, "team": self.team}
        return {k: v for k, v in args.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.query_args())


def read_filters() -> tuple[Filters, FormErrors]:
    """The filters from the query string; a value in error is not applied."""
    form = WhereaboutsFilters(formdata=request.args)
    errors = form.check()

    def number(name):
        value = form[name].data
        return None if name in errors or not value else whole_number(value, MAX_ID)

    where = "" if "where" in errors else form.where.data or ""
    return Filters(where, number("holder"), number("team")), errors


def _teams_in_scope() -> list[int] | None:
    """The teams this person may list: their own, or every team (None) across teams."""
    if current_user.can(Can.SEE_EVERY_TEAM):
        return None
    if current_user.can(Can.WORK_WITH_PAPERS) and current_user.team_id:
        return [current_user.team_id]
    abort(403)


def _records(filters: Filters, teams: list[int] | None):
    return _narrowed(
        Record.with_whereabouts(Record.select(Record, Team).join(Team)), filters, teams
    )


def _narrowed(query, filters: Filters, teams: list[int] | None):
    if teams is not None:
        query = query.where(Record.team.in_(teams))
    if filters.team:
        query = query.where(Record.team == filters.team)
    if filters.where:
        shown = [filters.team] if filters.team else teams
        query = query.where(whereabouts_is(filters.where, clock.uk_today(), shown))
    if filters.holder:
        query = query.where(held_by(filters.holder))
    return query


def _page(filters: Filters, teams: list[int] | None):
    """A page of the list in one statement: it picks the page's record ids first, in order,
    without looking up each record's latest removal (unless a filter asks where they are),
    then reads where those records are. Sorting every record in scope joined to its latest
    removal and holder cost PostgreSQL 70 to 180 ms at volume; sorting ids costs little."""
    order = IN_TEAM_ORDER if teams is not None or filters.team else ORDER
    ids = _record_ids(filters, teams).order_by(*order)
    total, more = _count(filters, teams)
    return page_of(
        ids,
        total=total,
        more=more,
        rows=lambda page: list(
            Record.with_whereabouts(Record.select(Record, Team).join(Team))
            .where(Record.id.in_(page))
            .order_by(*order)
        ),
    )


def _record_ids(filters: Filters, teams: list[int] | None):
    """The ids of the records the filters pick (with each one's latest removal joined only
    when a filter asks it). Across teams, team by team in name order: without statistics
    SQLite would rather read every team's part of the index for a filter on where the papers
    are, and sort what it found; the CROSS JOIN makes it walk the teams first, each team's
    records along the index in the page's order, stopping at the page's end. (PostgreSQL plans
    it as the inner join it is.)"""
    if teams is None and not filters.team:
        ids = Team.select(Record.id).join(Record, JOIN.CROSS).where(Record.team == Team.id)
    else:
        ids = Record.select(Record.id).join(Team)
    if _asks_latest(filters):
        ids = Record.join_latest(ids)
    return _narrowed(ids, filters, teams)


def _asks_latest(filters: Filters) -> bool:
    """Whether the filters ask the latest removal itself (who holds the papers, when they
    are due back); where the papers are is kept on the record (`where_papers_are`)."""
    return bool(filters.holder) or filters.where == "overdue"


def _count(filters: Filters, teams: list[int] | None) -> tuple[int, bool]:
    """How many records the list has, and whether there are more than that. Unless a filter
    asks where they are, the teams' tallies (models/tallies.py: a row a team, however many
    records); papers overdue, the removals' tally by due date. Else the records the filter
    finds, along the index of where each record's papers are (models/kept_whereabouts.py):
    papers out are few, but those in the office, destroyed or lost grow with the years, so
    they are counted only a few pages past the one asked for (views/paging.py:
    bounded_total)."""
    if not filters.holder and filters.where in (None, "", "overdue"):
        if filters.team:
            if teams is not None and filters.team not in teams:
                return 0, False
            teams = [filters.team]
        if filters.where == "overdue":
            # The papers out past their date, from the removals the database tallies by due
            # date (models/removal_tallies.py): a row a date, not a record. A record has one
            # open removal at most, and an open one is its latest: one record a removal.
            return overdue_count(teams, clock.uk_today()), False
        return Tally.of("record", teams), False
    return bounded_total(_record_ids(filters, teams))


def _holders(teams: list[int] | None) -> list[User]:
    """Everyone who has papers out now, in scope: the holder filter's choices."""
    # Asked person by person (one index probe each): the people are few, while collecting
    # every removal out now to find who holds them reads more of them every year.
    holding = Removal.select(SQL("1")).where(Removal.for_user == User.id, Removal.state == "out")
    if teams is not None:
        holding = holding.where(Removal.team.in_(teams))
    query = (
        User.select(User.id, User.display_name)
        .where(fn.EXISTS(holding))
        .order_by(User.display_name, User.id)
    )
    return list(query)


@bp.get("/records/where")
def index():
    teams = _teams_in_scope()
    filters, errors = read_filters()
    listed = _page(filters, teams)
    args = filters.query_args()
    every_team = teams is None
    return render_template(
        "records/where.html",
        title="Where every record is",
        errors=errors,
        filters=filters,
        records=listed.rows,
        total=listed.total,
        more=listed.more,
        holders=_holders(teams),
        teams=list(Team.select(Team.id, Team.name).order_by(Team.name)) if every_team else [],
        every_team=every_team,
        whereabouts=WHEREABOUTS,
        today=clock.uk_today(),
        pagination=page_links(
            listed.number,
            listed.pages,
            lambda n: url_for("whereabouts.index", **args, page=n),
            "Pages of records",
        ),
        pages=listed.pages,
        csv_url=url_for("whereabouts.export", **args),
        where_now=where_now,
    ), 422 if errors else 200


CSV_HEADER = [
    "Case-system ID",
    "Description",
    "Label code",
    "Team",
    "Where",
    "Where now",
    "Holder",
    "Out since (UTC)",
    "Due back or to be destroyed by",
    "Destroyed (UTC)",
    "Reported lost (UTC)",
]


def _csv_rows(query, today, teams: list[int]) -> Iterator[str]:
    """The CSV a chunk at a time, read after the view has returned (and, on PostgreSQL, after
    the request gave its connection back): so it takes a connection of its own when it needs
    one and gives it back at the end, or when the download is abandoned (the server closes
    the body). It needs nothing else of the request."""
    opened_here = db.is_closed()
    if opened_here:
        db.connect()
    ours = db.connection() if opened_here else None
    try:
        yield from _csv_chunks(query, today, teams)
    finally:
        # An abandoned download can be closed late (a test client that never reads it is
        # collected during a later request): give back only our own connection, idle.
        idle = ours is not None and not db.is_closed() and not db.in_transaction()
        if idle and db.connection() is ours:
            db.close()


def _csv_chunks(query, today, teams: list[int]) -> Iterator[str]:
    """Team by team in name order, each team's records a batch at a time, each batch seeking
    past the last row sent on the records' index: memory stays flat (PostgreSQL's driver
    would otherwise hold every row of one statement at once), and no batch re-reads rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    yield out.getvalue()
    for team_id in teams:
        after = None
        while True:
            batch = query.where(Record.team == team_id)
            if after is not None:
                batch = batch.where(
                    Tuple(Record.case_id, Record.description, Record.id)
                    > Tuple(after.case_id, after.description, after.id)
                )
            rows = list(batch.order_by(*IN_TEAM_ORDER).limit(CSV_CHUNK))
            out.seek(0)
            out.truncate()
            for record in rows:
                writer.writerow(_csv_row(record, today))
            if rows:
                yield out.getvalue()
            if len(rows) < CSV_CHUNK:
                break
            after = rows[-1]


def _csv_row(record: Record, today) -> list:
    latest = record.latest if record.latest is not None and record.latest.id else None
    out_now = record.whereabouts == "out"
    return [
        formula_safe(v)
        for v in (
            record.case_id,
            record.description,
            record.label_code,
            record.team.name,
            record.whereabouts,
            where_now(record, today),
            latest.holder.display_name if out_now else "",
            latest.taken_out_at if out_now else "",
            latest.due_on if out_now else "",
            latest.destroyed_at if latest is not None else "",
            latest.lost_at if latest is not None else "",
        )
    ]


@bp.get("/records/where.csv")
def export():
    """The list as CSV, narrowed by the same filters; streamed a chunk at a time."""
    teams = _teams_in_scope()
    filters, errors = read_filters()
    if errors:
        abort(400)  # never hand over a wider export than the person asked for
    query = _records(filters, teams)
    in_order = Team.select(Team.id).order_by(Team.name, Team.id)
    if teams is not None:
        in_order = in_order.where(Team.id.in_(teams))
    if filters.team:
        in_order = in_order.where(Team.id == filters.team)
    today = clock.uk_today()
    return Response(
        _csv_rows(query, today, [team_id for (team_id,) in in_order.tuples()]),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=records-{today}.csv"},
    )
