"""Who may open a page: `@requires(Can.X)` on a view, from the one capability map, and
`visible_or_404` for a row that is only some people's to see.

The rule `requires` puts on a view is kept on it (`may_open`), so the navigation and every
link to the page ask the same rule the page does: nobody follows a link to "You do not have
access"."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app
from flask_login import current_user

from machines.permissions import Can
from models.prepared import by_id


def requires(*capabilities: Can, in_a_team: bool = False) -> Callable:
    """Refuse the view with 403 unless the signed-in person's roles grant one of
    `capabilities` (and, with `in_a_team`, they belong to a team: the pages of a team's own
    work)."""

    def lets_in(user) -> bool:
        allowed = any(user.can(capability) for capability in capabilities)
        return allowed and (not in_a_team or user.team_id is not None)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not lets_in(current_user):
                abort(403)
            return view(*args, **kwargs)

        guarded.may_open = lets_in  # the navigation and may_open() read it
        return guarded

    return decorate


def may_open(endpoint: str) -> bool:
    """Whether the signed-in person may open the page at `endpoint` (its @requires rule; a
    page without one is everyone's). Templates ask it before they link to a page."""
    rule = getattr(current_app.view_functions.get(endpoint), "may_open", None)
    return rule is None or rule(current_user)


def visible_or_404(model, row_id: int):
    """The row, or 404 when there is none or it is not the signed-in person's to see: the two
    look the same, so someone without need to know cannot tell whether it exists."""
    row = by_id(model, row_id)
    if row is None or not row.visible_to(current_user):
        abort(404)
    return row
