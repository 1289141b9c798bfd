"""The governance register: every breach and near miss, filtered, paged, with its figures.

Filters travel in the query string: stage, category, team and dates carry no personal data,
and a filtered view can be bookmarked or shared. The same filters drive the CSV export
(`breaches.register_csv`), so the download matches what is on screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template, request, url_for
from wtforms.validators import ValidationError

from machines import breach_action, breach_report, clock
from machines.breach import STATE_LABELS
from machines.common import whole_number
from machines.permissions import Can
from models.base import MAX_ID
from models.breaches import Breach
from models.counters import ACTION_CHANGES, BREACH_CHANGES, change_stamps
from models.people import Team
from services.lessons import lessons_by_quarter, open_actions
from services.register_figures import (
    FiguresCache,
    chart_geometry,
    figures_of,
    format_hours,
    ico_deadline,
)
from services.training import council_share
from views.access import requires
from views.forms import FormErrors, GovForm
from views.forms.fields import ID_TEXT_MAX, Choice, GovDate, Text
from views.paging import page_links, page_of

bp = Blueprint("register", __name__)


@dataclass(frozen=True)
class Filters:
    """What the register is narrowed to; empty values mean 'any'."""

    state: str = ""
    category: str = ""
    team: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def query_args(self) -> dict[str, str | int]:
        """The filters as query-string arguments (for pagination and the CSV link)."""
        args: dict[str, str | int] = {}
        if self.state:
            args["state"] = self.state
        if self.category:
            args["category"] = self.category
        if self.team:
            args["team"] = self.team
        for name, day in (("from", self.date_from), ("to", self.date_to)):
            if day:
                args.update(
                    {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}
                )
        return args

    def apply(self, query):
        """Narrow a Breach query to these filters (dates are UK calendar days of discovery)."""
        if self.state:
            query = query.where(Breach.state == self.state)
        if self.category:
            query = query.where(Breach.category == self.category)
        if self.team:
            query = query.where(Breach.team == self.team)
        if self.date_from:
            query = query.where(Breach.discovered_at >= _uk_midnight(self.date_from))
        if self.date_to:
            query = query.where(
                Breach.discovered_at < _uk_midnight(self.date_to + dt.timedelta(days=1))
            )
        return query

    @property
    def active(self) -> bool:
        return bool(self.query_args())


def _uk_midnight(day: dt.date) -> dt.datetime:
    return clock.from_uk(dt.datetime.combine(day, dt.time()))


class RegisterFilters(GovForm):
    """The register's filters, from the query string; unknown values are reported, not applied."""

    state = Choice(choices=list(STATE_LABELS), invalid="Select a stage from the list")
    category = Choice(
        choices=[key for key, _ in breach_report.CATEGORIES],
        invalid="Select a category from the list",
    )
    team = Text("Team", limit=ID_TEXT_MAX, personal_data=True)  # a team's id
    date_from = GovDate("the ‘from’ date", required=False, name="from")
    date_to = GovDate("the ‘to’ date", required=False, name="to")

    def validate_team(self, field) -> None:
        if field.data and whole_number(field.data, MAX_ID) in (None, 0):
            raise ValidationError("Select a team from the list")

    def validate_date_to(self, field) -> None:
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("The ‘to’ date must be the same as or after the ‘from’ date")


def read_filters(args: Mapping[str, str]) -> tuple[Filters, FormErrors]:
    """Read the filters from query arguments; a value in error is not applied."""
    form = RegisterFilters(formdata=args)
    errors = form.check()
    good = {name: None if name in errors else value for name, value in form.values.items()}
    team = whole_number(good["team"], MAX_ID) if good["team"] else None
    return (
        Filters(good["state"] or "", good["category"] or "", team, good["from"], good["to"]),
        errors,
    )


def _figures_cache() -> FiguresCache:
    """One per app (each worker process has its own)."""
    return current_app.extensions.setdefault("register_figures", FiguresCache())


def _lessons_cache() -> FiguresCache:
    """One per app, kept against both the breach and the action stamps."""
    return current_app.extensions.setdefault("register_lessons", FiguresCache())


@bp.get("/register")
@requires(Can.READ_REGISTER)
def index():
    filters, errors = read_filters(request.args)
    teams = list(Team.select(Team.id, Team.name).order_by(Team.name))

    # Counted by the database, whatever the number of cases (services/register_figures.py),
    # and kept until a breach changes; the lessons by quarter count actions too, so they are
    # kept until a breach or an action changes.
    breaches_stamp, actions_stamp = change_stamps(BREACH_CHANGES, ACTION_CHANGES)
    figures = _figures_cache().figures(
        filters, breaches_stamp, lambda: figures_of(filters.apply(Breach.select()))
    )
    lessons = _lessons_cache().figures(
        filters,
        None if None in (breaches_stamp, actions_stamp) else (breaches_stamp, actions_stamp),
        lambda: lessons_by_quarter(filters.apply(Breach.select())),
    )
    total = figures.total

    listed = page_of(
        filters.apply(Breach.select(Breach, Team).join(Team)).order_by(
            Breach.discovered_at.desc(), Breach.id.desc()
        ),
        total=total,
    )
    page, pages, cases = listed.number, listed.pages, listed.rows
    args = filters.query_args()
    return render_template(
        "register/index.html",
        title="Breach register",
        errors=errors,
        filters=filters,
        teams=teams,
        cases=cases,
        page=page,
        pages=pages,
        figures=figures,
        training=council_share(clock.now()),
        chart=chart_geometry(figures.months),
        format_hours=format_hours,
        pagination=page_links(
            page, pages, lambda n: url_for("register.index", **args, page=n), "Register pages"
        ),
        csv_url=url_for("breaches.register_csv", **args),
        state_labels=STATE_LABELS,
        categories=dict(breach_report.CATEGORIES),
        ico_deadline=ico_deadline,
        lessons=lessons,
        open_actions=open_actions(clock.uk_today()),
        action_categories=breach_action.CATEGORY_LABELS,
        today=clock.uk_today(),
    ), 422 if errors else 200
