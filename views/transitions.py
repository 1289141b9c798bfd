"""A page's attempt at a transition, with the answers every lifecycle's pages share.

The machine and `models.transitions` decide; this reads the event's form, asks, and turns the
refusals into what a person sees: their input's errors, every one at once (422), someone
else got there first or the state does not allow it (409, with a message at the status
panel), or not theirs to do (403).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from statemachine import StateMachine

from machines import clock
from machines.common import (
    Actor,
    InputError,
    event_labels,
    machine_for,
    state_labels,
)
from models.audit import AuditEvent
from models.base import Stale, VersionedModel
from models.prepared import get_by_id
from models.transitions import Forbidden, Refused, apply_transition, check_transition
from views.access import visible_or_404
from views.display import event_words, naming_people
from views.forms import FormErrors, GovForm, form_version
from views.forms.fields import Text
from views.htmx import is_htmx

DONE = 200
# The longest note or reason any lifecycle takes; each machine holds its own to its limit.
SHARED_NOTE_MAX = 2_000


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

    # The fields whose values the audit event records as typed (never service users'
    # details); a form whose record needs more (dates in ISO form) overrides summary().
    audited: tuple[str, ...] = ()

    def summary(self) -> dict:
        """What the audit event records of the input."""
        return {name: self[name].data for name in self.audited}

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


class WithNote(EventForm):
    """An event with an optional note (approve, agree): the machine limits its length."""

    note = Text("Note", limit=SHARED_NOTE_MAX)
    audited = ("note",)


class WithReason(EventForm):
    """An event with a reason (decline, cancel, withdraw): the machine says when one is
    required and limits its length."""

    reason = Text("Reason", limit=SHARED_NOTE_MAX)
    audited = ("reason",)


@dataclass(frozen=True)
class Confirm:
    """What the confirmation page asks before an event nothing undoes, and what it warns.

    `bad_news` events (a loss, a refusal) get a red warning button, as GOV.UK Frontend asks
    for actions with serious consequences; routine endings (a return, a cancellation) do not.
    """

    question: str
    warning: str
    bad_news: bool = False


@dataclass(frozen=True)
class Lifecycle:
    """What the pages of one lifecycle need to run its events."""

    model: type[VersionedModel]
    factory: Callable
    # The form class of an event for a row (what a form asks can depend on the row).
    form_for: Callable[[str, VersionedModel], type[EventForm]]
    stale: str
    # The 409 message when the state does not allow the event, given the fresh row.
    refused: Callable[[VersionedModel, str], str]
    # The events nothing undoes (the machine's final_events that people send): the page shows
    # what will happen and asks the person to confirm, in these words, before they are sent.
    confirms: Mapping[str, Confirm] = field(default_factory=dict)
    # What the audit event adds when someone acts for another person ("on behalf of").
    acting_for: Callable[[VersionedModel, str, Actor], dict] = lambda row, event, actor: {}
    event_labels: Mapping[str, str] = field(default_factory=dict)  # the buttons' words
    # Why a guard stops this person for a reason about them rather than their role (their
    # training has lapsed): 409 with those words, where None is 403. Given the fresh row.
    blocked: Callable[[VersionedModel, str, Actor, dt.datetime], str | None] = (
        lambda row, event, actor, now: None
    )
    events: Collection[str] = ()  # those its pages post (any other is 404), when known

    @classmethod
    def of(
        cls,
        model: type[VersionedModel],
        machine_class: type[StateMachine],
        forms: Mapping[str, type[EventForm]],
        noun: str,
        **more,
    ) -> Lifecycle:
        """The usual lifecycle of `machine_class`'s rows: one form per event, and the usual 409
        words about its `noun` ("this dispatch") when someone else changed it or its state does
        not allow the event."""
        return cls(
            model=model,
            factory=functools.partial(machine_for, machine_class),
            form_for=lambda event, row: forms[event],
            stale=changed_meanwhile(noun),
            refused=cannot_now(noun, state_labels(machine_class)),
            event_labels=event_labels(machine_class),
            events=frozenset(forms),
            **more,
        )

    @property
    def entity_type(self) -> str:
        """What the audit trail calls its rows (AuditEvent.about names a row by its table)."""
        return self.model._meta.table_name

    def unconfirmed(self, event: str) -> bool:
        """True when `event` needs confirming and this POST is not the confirmation."""
        return event in self.confirms and request.form.get("confirmed") != "yes"


def status_panel(
    events: list[str],
    event_labels: dict[str, str],
    state_labels: dict[str, str],
    errors: dict | None = None,
    form: dict | None = None,
    confirms: Mapping[str, Confirm] | None = None,
) -> dict:
    """What every lifecycle's status panel reads: the buttons the machine offers this person
    (`events`), the words for them and for the states, a form sent back with its errors, and
    which events ask first (their forms post the page, not htmx: the confirmation page
    replaces it). Each page adds its row and whatever else its panel shows."""
    return {
        "events": events,
        "event_labels": event_labels,
        "state_labels": state_labels,
        "errors": errors or {},
        "form": form or {},
        "asks_first": frozenset(confirms or ()),
    }


@dataclass
class Outcome:
    status: int
    errors: FormErrors
    typed: dict = field(default_factory=dict)  # the form as typed, to show again
    form: EventForm | None = None  # the form read (its answers, for a confirmation page)
    confirm: bool = False  # it would be done, once the person confirms it: nothing changed
    said: str | None = None  # what a page says was done, once it is

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
) -> Outcome:
    """Read the event's form and apply it with the version the form carried.

    Returns DONE, or 422/409 with the errors; not the person's to do is 403, unless
    `forbidden` names a reason about the case rather than the person (then 409 with it).
    An event to confirm first (and not confirmed yet) is checked the same way but changes
    nothing: DONE with `confirm` means "it would be done", and the page asks the person.
    """
    preview = lifecycle.unconfirmed(event)
    form = lifecycle.form_for(event, row)(row)
    row_id = row.id
    errors = form.check()
    now = clock.now()
    arguments = {
        "load": lambda: get_by_id(lifecycle.model, row_id),
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
                return Outcome(DONE, FormErrors(), form.typed(), form, confirm=True)
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
            reason = lifecycle.blocked(lifecycle.model.get_by_id(row_id), event, actor, now)
        if reason is None:
            abort(403)
        errors, status = FormErrors(status=reason), 409
    if status == DONE:
        return Outcome(
            DONE, FormErrors(), form=form, said=event_words(lifecycle.entity_type, event)
        )
    return Outcome(status, errors.in_order(form.field_names), form.typed(), form)


def done_words(entity_type: str, events) -> str | None:
    """What a page says was just done, after a plain form post (no htmx) redirected to it
    with `?done=<event>`: the event's words, for one of this lifecycle's events only."""
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


def confirmation(
    outcome: Outcome,
    words: Confirm,
    *,
    caption: str,
    about: list[tuple[str, str]],
    button: str,
    back_href: str,
    template: str = "components/confirm.html",
    **extra,
):
    """The page that asks before an event nothing undoes (`words`): what it is about, the
    person's answers, and a form that posts them back to the same address with the
    confirmation."""
    return render_template(
        template,
        title=words.question,
        caption=caption,
        question=words.question,
        about=about,
        answers=outcome.form.answers(),
        warning=words.warning,
        action=url_for(request.endpoint, **request.view_args),
        carried=carried_fields(),
        button=button,
        warning_button=words.bad_news,
        back_href=back_href,
        **extra,
    )


def timeline(lifecycle: Lifecycle, row: VersionedModel) -> list:
    """The row's audit trail, newest first, as its page shows it."""
    events = AuditEvent.for_entity(lifecycle.entity_type, row.id).order_by(AuditEvent.id.desc())
    return naming_people(list(events))


@dataclass(frozen=True)
class RowPage:
    """What a lifecycle row's page is made of, for the functions its routes call: `show_row`
    (its GET) and `post_row_event` (the POST of each of its events).

    The status panel is the page's `_status_panel.html` fragment, beside it: the page
    includes it, and htmx gets it alone after an event.
    """

    lifecycle: Lifecycle
    template: str  # the page's
    title: Callable[[VersionedModel], str]
    panel: Callable[..., dict]  # the status panel's context, from (row, errors, form)
    # What the confirmation page says the row is: its caption, and rows of facts.
    described: Callable[[VersionedModel], tuple[str, list[tuple[str, str]]]]
    endpoint: str  # the page's GET route ("dispatches.show")
    row_arg: str  # the name of its one URL argument, the row's id ("dispatch_id")

    def url(self, row_id: int, **query) -> str:
        """The address of a row's page."""
        return url_for(self.endpoint, **{self.row_arg: row_id}, **query)


def render_row(page: RowPage, row: VersionedModel, errors=None, form=None, status=200, said=None):
    """The page: the status panel (with `errors` and the `form` as typed), the timeline."""
    return render_template(
        page.template,
        title=page.title(row),
        timeline=timeline(page.lifecycle, row),
        outcome=said,
        **page.panel(row, errors, form),
    ), status


def show_row(page: RowPage, row_id: int) -> tuple[str, int]:
    """GET the page of a row this person may see (else 404), saying what was just done
    when a form post redirected here with `?done=` the event."""
    row = visible_or_404(page.lifecycle.model, row_id)
    said = done_words(page.lifecycle.entity_type, page.lifecycle.events)
    return render_row(page, row, said=said)


def post_row_event(page: RowPage, row_id: int, event: str):
    """POST `event` for a row: 404 for a row this person may not see (before anything else)
    or an unknown event; the confirmation page first when nothing undoes the event; then
    the answer: htmx gets the status panel (saying what was done, or the errors); a plain
    form post gets the page with the errors or, once done, a redirect (303) to the page,
    which then says what was done."""
    row = visible_or_404(page.lifecycle.model, row_id)
    if event not in page.lifecycle.events:
        abort(404)
    outcome = run_event(page.lifecycle, row, event, current_user.as_actor())
    if outcome.confirm:
        caption, about = page.described(row)
        return confirmation(
            outcome,
            page.lifecycle.confirms[event],
            caption=caption,
            about=about,
            button=page.lifecycle.event_labels[event],
            back_href=page.url(row_id),
        )
    fresh = page.lifecycle.model.get_by_id(row_id)
    if is_htmx():
        panel = page.template.rpartition("/")[0] + "/_status_panel.html"
        context = page.panel(fresh, outcome.errors, outcome.typed)
        answer = render_template(panel, outcome=outcome.said, **context)
        if outcome.errors:
            return answer, outcome.status
        # The timeline below has a new event: it comes too, swapped out of band.
        events = render_template(
            "components/timeline_section.html",
            out_of_band=True,
            timeline=timeline(page.lifecycle, fresh),
        )
        return answer + events, outcome.status
    if outcome.errors:
        return render_row(page, fresh, outcome.errors, outcome.typed, outcome.status)
    return redirect(page.url(row_id, done=event), code=303)


def changed_meanwhile(noun: str, then: str = "Its status below is up to date.") -> str:
    """The 409 message when someone else changed the row since the page showed it."""
    return f"Someone else changed this {noun} while you were looking. {then}"


def cannot_now(noun: str, state_labels: dict[str, str]) -> Callable[[VersionedModel, str], str]:
    """The 409 message when the row's state (in words) does not allow the event."""
    return lambda row, event: (
        f"This {noun} is {state_labels[row.state].lower()}: it cannot be changed that way now."
    )
