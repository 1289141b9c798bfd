"""A page's attempt at a transition, with the answers every lifecycle's pages share.

The machine and `models.transitions` decide; this reads the event's form, asks, and turns the
refusals into what a person sees: their input's errors, every one at once (422), someone
else got there first or the state does not allow it (409, with a message at the status
panel), or not theirs to do (403).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import abort, request

from machines.common import Actor, InputError
from models.base import Stale, VersionedModel
from models.transitions import Forbidden, Refused, apply_transition, check_transition
from services import clock
from views.forms import FormErrors, GovForm, form_version

DONE = 200


class EventForm(GovForm):
    """The form of one event: its fields become the machine's keyword arguments.

    `row` is the row as the page showed it (the version the form carries).
    """

    def __init__(self, row=None, **kwargs):
        super().__init__(**kwargs)
        self.row = row

    def machine_values(self) -> dict:
        """What the machine is sent (by default every field's value, by field name)."""
        return self.values

    def summary(self) -> dict:
        """What the audit event records of the input (never service users' details)."""
        return {}

    def answers(self) -> list[tuple[str, str]]:
        """What the person entered, in words, for the page that asks them to confirm it."""
        from views.display import answer_words

        return [
            (field.label.text[:1].upper() + field.label.text[1:], answer_words(field.data))
            for field in self
            if field.label.text and field.data not in (None, "", [], False)
        ]


class NoInput(EventForm):
    """An event that asks for nothing but the button."""


@dataclass(frozen=True)
class Lifecycle:
    """What the pages of one lifecycle need to run its events."""

    entity_type: str
    model: type[VersionedModel]
    factory: Callable
    # The form class of an event for a row (what a form asks can depend on the row).
    form_for: Callable[[str, VersionedModel], type[EventForm]]
    stale: str
    # The 409 message when the state does not allow the event, given the fresh row.
    refused: Callable[[VersionedModel, str], str]
    # Events nothing undoes (the machine's final_events): the page shows what will happen
    # and asks the person to confirm before they are sent.
    confirm_first: frozenset[str] = frozenset()
    # What the audit event adds when someone acts for another person ("on behalf of").
    acting_for: Callable[[VersionedModel, str, Actor], dict] = lambda row, event, actor: {}

    def unconfirmed(self, event: str) -> bool:
        """True when `event` needs confirming and this POST is not the confirmation."""
        return event in self.confirm_first and request.form.get("confirmed") != "yes"


@dataclass
class Outcome:
    status: int
    errors: FormErrors
    typed: dict = field(default_factory=dict)  # the form as typed, to show again
    form: EventForm | None = None  # the form read (its answers, for a confirmation page)

    @property
    def done(self) -> bool:
        return self.status == DONE


def run_event(
    lifecycle: Lifecycle,
    row: VersionedModel,
    event: str,
    actor: Actor,
    *,
    kiosk_id: int | None = None,
    forbidden: Callable[[], str | None] = lambda: None,
    preview: bool = False,
) -> Outcome:
    """Read the event's form and apply it with the version the form carried.

    Returns DONE, or 422/409 with the errors; not the person's to do is 403, unless
    `forbidden` names a reason about the case rather than the person (then 409 with it).
    `preview`: check everything the same way but change nothing (DONE means "it would be
    done": the page then asks the person to confirm).
    """
    form = lifecycle.form_for(event, row)(row)
    row_id = row.id
    errors = form.check()
    now = clock.now()
    arguments = {
        "load": lambda: lifecycle.model.get_by_id(row_id),
        "factory": lifecycle.factory,
        "event": event,
        "actor": actor,
        "now": now,
        "values": form.machine_values(),
        "expected_version": form_version(),
        "kiosk_id": kiosk_id,
    }
    status = 422
    try:
        if errors or preview:
            check_transition(**arguments)  # the machine's errors as well; nothing changes
            if not errors:
                return Outcome(DONE, FormErrors(), form.typed(), form)
        else:
            apply_transition(
                **arguments,
                entity_type=lifecycle.entity_type,
                summary={**form.summary(), **lifecycle.acting_for(row, event, actor)},
            )
            status = DONE
    except InputError as error:
        for name, message in error.errors.items():
            errors.add(name, message, anchor=form[name].anchor if name in form else None)
    except Stale:
        errors, status = FormErrors(status=lifecycle.stale), 409
    except Refused:
        fresh = lifecycle.model.get_by_id(row_id)
        errors, status = FormErrors(status=lifecycle.refused(fresh, event)), 409
    except Forbidden:
        reason = forbidden()
        if reason is None:
            abort(403)
        errors, status = FormErrors(status=reason), 409
    if status == DONE:
        return Outcome(DONE, FormErrors(), form=form)
    return Outcome(status, errors.in_order(form.field_names), form.typed(), form)


def done_words(entity_type: str, events) -> str | None:
    """What a page says was just done, after a plain form post (no htmx) redirected to it
    with `?done=<event>`: the event's words, for one of this lifecycle's events only."""
    from views.display import event_words

    done = request.args.get("done")
    return event_words(entity_type, done) if done in events else None


def carried_fields() -> list[tuple[str, str]]:
    """The POST's fields, to carry through a confirmation page as hidden inputs (all but the
    CSRF token, which the page writes afresh, and the confirmation itself)."""
    return [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in ("csrf_token", "confirmed")
    ]
