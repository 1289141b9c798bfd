"""The team board: what a line manager watches. It refreshes one fragment every 30 seconds."""

from __future__ import annotations

import datetime as dt
import functools

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from peewee import fn

from machines import clock
from machines.breach import STATE_LABELS as BREACH_STATES
from machines.breach_clocks import case_clock
from machines.dispatch import METHODS
from machines.permissions import Can
from machines.removal import PURPOSES
from models.breach_stages import (
    BOUND,
    bounded_stages,
    first_open_seen_through_reports,
    tallied_stages,
)
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import Team, User
from models.prepared import Prepared
from models.records import Removal
from models.reminders import confirm_location_cutoff, confirm_location_tasks_due_by
from models.remote_working import RemoteAgreement
from models.removal_tallies import open_figures
from services.training import shares_by_team
from views.access import requires
from views.forms import id_arg
from views.htmx import targets
from views.paging import page_of_window

bp = Blueprint("boards", __name__)


def _scope() -> tuple[list[int] | None, Team | None]:
    """The teams this board shows: a line manager's own; directors any one, or all (None)."""
    if current_user.can(Can.WATCH_EVERY_TEAM):
        team_id = id_arg("team")
        if request.args.get("team") and team_id is None:
            abort(404)  # no such team: a number too big, or not a number at all
        if team_id:
            team = Team.get_or_none(Team.id == team_id) or abort(404)
            return [team.id], team
        return None, None
    return [current_user.team_id], current_user.team


TASKS_SHOWN = 10
REMOTE_SHOWN = 20


def _in_scope(field, teams):
    return True if teams is None else field.in_(teams)


def _counts(teams, today):
    # The figures come from the tallies the database keeps (models/removal_tallies.py): a row
    # per state, team and due date, however many removals are open. Drafts waiting for a
    # second person's check are counted inside the same statement.
    to_check_count = Dispatch.select(fn.COUNT(Dispatch.id)).where(
        Dispatch.state == "drafted", _in_scope(Dispatch.team, teams)
    )
    return open_figures(teams, today).select_extend(to_check_count.alias("to_check")).dicts()


def _pending(teams):
    # The every-team board names each row's team: joined then, not looked up per row.
    return (
        Removal.with_people(with_team=teams is None)
        .where(Removal.state == "requested", _in_scope(Removal.team, teams))
        .order_by(Removal.requested_at)
        .limit(10)
    )


def _papers_out(teams, offset, limit):
    return (
        Removal.with_people(with_team=teams is None)
        .where(Removal.state == "out", _in_scope(Removal.team, teams))
        .order_by(Removal.due_on, Removal.id)
        .limit(limit)
        .offset(offset)
    )


def _to_check(teams):
    Drafter = User.alias()
    return (
        Dispatch.select(Dispatch, Drafter, Team)
        .join(Drafter, on=(Dispatch.drafted_by == Drafter.id), attr="drafted_by")
        .switch(Dispatch)
        .join(Team, on=(Dispatch.team == Team.id), attr="team")
        .where(Dispatch.state == "drafted", _in_scope(Dispatch.team, teams))
        .order_by(Dispatch.drafted_at, Dispatch.id)
        .limit(10)
    )


def _tasks(teams, cutoff):
    # The longest overdue first; a board is a summary (the papers-out table pages the rest).
    return confirm_location_tasks_due_by(teams, cutoff).limit(TASKS_SHOWN + 1)


def _remote(teams, today):
    # Who works remotely, and asks waiting: the agreements in force end soonest first.
    return RemoteAgreement.first_current(teams, today, REMOTE_SHOWN + 1)


@functools.cache
def _statements(every_team: bool) -> dict[str, Prepared]:
    """The board's statements for one team or for every team, each compiled once
    (models/prepared.py): a board refreshes every 30 seconds on every manager's screen."""
    team = {} if every_team else {"team": int}

    def scoped(build):
        # The one team's id is a value of the statement, as its list of teams.
        return lambda team=None, **values: build(None if every_team else [team], **values)

    return {
        "counts": Prepared(scoped(_counts), **team, today=dt.date),
        "pending": Prepared(scoped(_pending), **team),
        "papers_out": Prepared(scoped(_papers_out), **team, offset=int, limit=int),
        "to_check": Prepared(scoped(_to_check), **team),
        "tasks": Prepared(scoped(_tasks), **team, cutoff=dt.date),
        "remote": Prepared(scoped(_remote), **team, today=dt.date),
    }


def _open_cases(teams):
    """Every open case in the board's teams, for those with a breach role."""
    return Breach.select().where(Breach.is_open(), _in_scope(Breach.team, teams))


@functools.cache
def _case_statements(every_team: bool, every_breach: bool) -> dict[str, Prepared]:
    """The board's open breach cases: how many at each stage, and the ten found first."""
    kinds = {**({} if every_breach else {"user": int}), **({} if every_team else {"team": int})}

    # How many at each stage (models/breach_stages.py): for a breach role the tally the
    # database keeps by stage and team, and the oldest ten of the team's open cases; for a
    # line manager a count bounded at BOUND, and the oldest ten they see through their
    # reports, each of those relations walked in that order (Breach.visible_query's cases).
    if every_breach:
        return {
            "stages": Prepared(
                lambda team=None: tallied_stages(None if every_team else [team]), **kinds
            ),
            "open": Prepared(
                lambda team=None: (
                    _open_cases(None if every_team else [team])
                    .order_by(Breach.discovered_at)
                    .limit(10)
                ),
                **kinds,
            ),
        }
    return {
        "stages": Prepared(lambda user, team=None: bounded_stages(user), **kinds),
        "open": Prepared(
            lambda user, team=None: first_open_seen_through_reports(user, 10), **kinds
        ),
    }


def board_data(teams: list[int] | None) -> dict:
    """Everything on the board in a fixed number of queries, whatever the volume."""
    today = clock.uk_today()
    now = clock.now()
    statements = _statements(teams is None)
    scope = {} if teams is None else {"team": teams[0]}
    counts = statements["counts"].rows(**scope, today=today)[0]
    pending = statements["pending"].rows(**scope)
    papers_out = page_of_window(
        counts["out"] or 0,
        lambda offset, limit: statements["papers_out"].rows(**scope, offset=offset, limit=limit),
    )
    # Need to know: a line manager sees the cases their own reports raised (and the losses
    # and thefts of papers the people they manage held), not every case in the team
    # (Breach.visible_query); directors hold a breach role and see them all,
    # narrowed to the board's team. (Narrowing a line manager's few cases by team as well
    # would only lead SQLite to read the whole team's cases by the team index instead.)
    every_breach = current_user.can(Can.HANDLE_EVERY_BREACH)
    cases = _case_statements(teams is None, every_breach)
    whose = {**({} if every_breach else {"user": current_user.id}), **scope}
    stages = {state: int(total) for state, total in cases["stages"].rows(**whose) if total}
    # A line manager's count stops past BOUND at each stage (models/breach_stages.py): there,
    # the stage says "more than BOUND", and the figure "more than" the sum with BOUND for it.
    bound = None if every_breach else BOUND
    bounded = bound is not None and any(total > bound for total in stages.values())
    open_breaches = cases["open"].rows(**whose)
    to_check = statements["to_check"].rows(**scope)
    cutoff = confirm_location_cutoff(today, current_app.config["REMINDER_CONFIRM_AFTER_DAYS"])
    tasks = statements["tasks"].rows(**scope, cutoff=cutoff)
    remote = statements["remote"].rows(**scope, today=today)
    training = shares_by_team(teams, now)
    team_names = dict(
        Team.select(Team.id, Team.name).where(Team.id.in_(list(training))).tuples()
        if training
        else []
    )
    return {
        "training": sorted(
            ((team_names[team_id], share) for team_id, share in training.items()),
            key=lambda named: named[0],
        ),
        "remote": remote[:REMOTE_SHOWN],
        "more_remote": len(remote) > REMOTE_SHOWN,
        "counts": {k: v or 0 for k, v in counts.items()},
        "pending": pending,
        "papers_out": papers_out.rows,
        "page": papers_out.number,
        "pages": papers_out.pages,
        "stages": stages,
        "stages_bounded": bounded,
        "open_cases_shown": sum(min(total, bound or total) for total in stages.values()),
        "stage_bound": bound,
        "open_breaches": open_breaches,
        "clocks": {b.id: case_clock(b, now) for b in open_breaches},
        "to_check": to_check,
        "tasks": tasks[:TASKS_SHOWN],
        "more_tasks": len(tasks) > TASKS_SHOWN,
        "refreshed_at": now,
    }


@bp.get("/board")
@requires(Can.WATCH_BOARD)
def board():
    teams, team = _scope()
    context = {
        **board_data(teams),
        "team": team,
        "teams": list(Team.select().order_by(Team.name))
        if current_user.can(Can.WATCH_EVERY_TEAM)
        else [],
        "purposes": dict(PURPOSES),
        "methods": dict(METHODS),
        "breach_states": BREACH_STATES,
        "query": request.args.to_dict(),
    }
    if targets("board-body"):
        return render_template("boards/_board_body.html", **context)
    title = f"Team board: {team.name}" if team else "Board: every team"
    return render_template("boards/board.html", title=title, **context)
