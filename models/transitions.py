"""Running one transition: load, version check, machine, save and audit in one transaction."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from statemachine.exceptions import TransitionNotAllowed

from machines.common import Actor, enabled_events, transition_table
from models.audit import AuditEvent
from models.base import Stale, VersionedModel, write_transaction


class Refused(Exception):
    """The machine does not allow this event from the current state (409)."""


class Forbidden(Exception):
    """The event exists here, but this person may not send it (403)."""


@dataclass
class Audit:
    """The machine's listener that saves the row and appends the audit event after a transition.

    It is the only writer of audit events for lifecycle changes; both writes happen inside
    the transaction `apply_transition` opened, so neither exists without the other.
    """

    actor: Actor
    entity_type: str
    now: dt.datetime
    summary: dict = field(default_factory=dict)
    kiosk_id: int | None = None
    model: VersionedModel | None = None

    def after_transition(self, event: str, source, target) -> None:
        self.model.save_versioned()
        AuditEvent.append(
            at=self.now,
            actor_id=self.actor.id,
            kiosk_id=self.kiosk_id,
            entity_type=self.entity_type,
            entity_id=self.model.id,
            event=str(event),
            source=source.id,
            target=target.id,
            summary=self.summary,
            entity_version=self.model.version,
        )


def apply_transition(
    *,
    load: Callable[[], VersionedModel],
    factory: Callable,
    event: str,
    actor: Actor,
    entity_type: str,
    now: dt.datetime,
    values: dict,
    summary: dict,
    expected_version: int | None,
    kiosk_id: int | None = None,
) -> VersionedModel:
    """Send `event` to the row's machine and save it; raise Stale, Refused, Forbidden, InputError.

    `load` re-reads the row inside the write transaction, so the check and the change see
    the same state. Nothing is saved unless everything succeeds.
    """
    with write_transaction():
        obj = load()
        audit = Audit(actor, entity_type, now, summary, kiosk_id, obj)
        machine = _ready(obj, factory, event, actor, now, expected_version, [audit], kiosk_id)
        try:
            # The kiosk is a fact guards may weigh (papers scanned in hand at the team base).
            machine.send(event, actor=actor, now=now, kiosk_id=kiosk_id, **values)
        except TransitionNotAllowed as error:
            raise Forbidden(event) from error
        return obj


def check_transition(
    *,
    load: Callable[[], VersionedModel],
    factory: Callable,
    event: str,
    actor: Actor,
    now: dt.datetime,
    values: dict,
    expected_version: int | None,
    kiosk_id: int | None = None,
) -> None:
    """Everything `apply_transition` would refuse, without changing anything: raise Stale,
    Refused, Forbidden, or InputError with every error the machine's validators find.

    A form that could not read some fields still asks this, so a person sees all their
    errors at once (the machine's as well as the form's), not in two rounds.
    """
    obj = load()
    machine = _ready(obj, factory, event, actor, now, expected_version, [], kiosk_id)
    given = {"actor": actor, "now": now, "kiosk_id": kiosk_id, **values}
    for validator in _validators(machine, event):
        accepted = inspect.signature(validator).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        validator(obj, **{k: v for k, v in given.items() if takes_any or k in accepted})


def _ready(obj, factory, event, actor, now, expected_version, listeners, kiosk_id=None):
    """The row's machine, once the version, the state and the guards allow `event`."""
    if expected_version is not None and obj.version != expected_version:
        raise Stale(f"{type(obj).__name__} {obj.id} is at version {obj.version}")
    machine = factory(obj, listeners=listeners)
    machine_class = type(machine)
    if event not in {step.event for step in transition_table(machine_class)[obj.state]}:
        raise Refused(event)
    # The library runs validators before guards: check the guards first, so a person
    # without the right gets 403 rather than a list of fields to fill in.
    if event not in enabled_events(machine_class, obj, actor, now, kiosk_id=kiosk_id):
        raise Forbidden(event)
    return machine


def _validators(machine, event: str) -> list[Callable]:
    """The validator methods of `event`'s transitions out of the machine's current state."""
    state = machine.current_state_value
    names = {
        spec.func
        for source in machine.states
        if source.id == state
        for transition in source.transitions
        if event in {e.id for e in transition.events}
        for spec in transition.validators
    }
    return [getattr(machine, name) for name in sorted(names)]
