"""A page's attempt at a transition, with the answers every lifecycle's pages share.

The machine and `models.transitions.apply_transition` decide; this turns their refusals into
what a person sees: their input's errors (422), someone else got there first or the state does
not allow it (409, with a message at the status panel), or not theirs to do (403).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort

from machines.common import Actor, InputError
from models.base import Stale, VersionedModel
from models.transitions import Forbidden, Refused, apply_transition
from services import clock
from views.forms import FormErrors, form_version

DONE = 200


def attempt(
    *,
    load: Callable[[], VersionedModel],
    factory: Callable,
    event: str,
    actor: Actor,
    entity_type: str,
    values: dict,
    summary: dict,
    errors: FormErrors,
    stale: str,
    refused: Callable[[], str],
    forbidden: Callable[[], str | None] = lambda: None,
    kiosk_id: int | None = None,
) -> int:
    """Apply `event` with the version the form carried; return DONE, or 422/409 with `errors`
    filled in. Not the person's to do: 403, unless `forbidden` names a reason that is about
    the case rather than the person (then 409 with that message)."""
    try:
        apply_transition(
            load=load,
            factory=factory,
            event=event,
            actor=actor,
            entity_type=entity_type,
            now=clock.now(),
            values=values,
            summary=summary,
            expected_version=form_version(),
            kiosk_id=kiosk_id,
        )
    except InputError as error:
        for field, message in error.errors.items():
            errors.add(field, message)
        return 422
    except Stale:
        errors.add("status", stale)
        return 409
    except Refused:
        errors.add("status", refused())
        return 409
    except Forbidden:
        reason = forbidden()
        if reason is None:
            abort(403)
        errors.add("status", reason)
        return 409
    return DONE
