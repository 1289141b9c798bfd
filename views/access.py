"""Who may open a page: `@requires(Can.X)` on a view, from the one capability map, and
`visible_or_404` for a row that is only some people's to see."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from machines.permissions import Can


def requires(capability: Can) -> Callable:
    """Refuse the view with 403 unless the signed-in person's roles grant `capability`."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.can(capability):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_capability = capability  # the navigation reads it
        return guarded

    return decorate


def visible_or_404(model, row_id: int):
    """The row, or 404 when there is none or it is not the signed-in person's to see: the two
    look the same, so someone without need to know cannot tell whether it exists."""
    row = model.get_or_none(model.id == row_id)
    if row is None or not row.visible_to(current_user):
        abort(404)
    return row
