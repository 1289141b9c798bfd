"""Who may open a page: `@requires(Can.X)` on a view, from the one capability map."""

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
