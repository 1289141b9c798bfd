"""Running one transition: load, version check, machine, save and audit in one transaction."""

from __future__ import annotations

import datetime as dt
import inspect
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from statemachine.exceptions import TransitionNotAllowed

from machines.common import Actor, check_stored_state, enabled_events, transition_table
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
        with _ready(obj, factory, event, actor, now, expected_version, audit, kiosk_id) as machine:
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
    with _ready(obj, factory, event, actor, now, expected_version, None, kiosk_id) as machine:
        given = {"actor": actor, "now": now, "kiosk_id": kiosk_id, **values}
        for validator in _validators(machine, event):
            accepted = inspect.signature(validator).parameters
            takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
            validator(obj, **{k: v for k, v in given.items() if takes_any or k in accepted})


@contextmanager
def _ready(obj, factory, event, actor, now, expected_version, audit, kiosk_id=None):
    """The row's machine, once the version, the state and the guards allow `event`."""
    if expected_version is not None and obj.version != expected_version:
        raise Stale(f"{type(obj).__name__} {obj.id} is at version {obj.version}")
    with _machine(factory, obj, audit) as machine:
        machine_class = type(machine)
        if event not in {step.event for step in transition_table(machine_class)[obj.state]}:
            raise Refused(event)
        # The library runs validators before guards: check the guards first, so a person
        # without the right gets 403 rather than a list of fields to fill in.
        if event not in enabled_events(machine_class, obj, actor, now, kiosk_id=kiosk_id):
            raise Forbidden(event)
        yield machine


# -- a machine kept per thread and lifecycle -----------------------------------------------
#
# python-statemachine builds a machine by resolving every callback of its class against the
# machine, its model and its listeners: about 2 ms, a fifth of an approve, and the same work
# every time. So each thread keeps one machine per lifecycle, built once with a stand-in for
# its model (`RowInHand`: every attribute read or written is the row's now in hand) and a
# listener that passes `after_transition` to this transition's Audit. The library sees one
# model and one listener for the machine's life, as it documents; the rows change between
# transitions, never during one.


class RowInHand:
    """A kept machine's model: reads and writes go to the row of the transition running."""

    __slots__ = ("_row",)

    def __init__(self, row) -> None:
        object.__setattr__(self, "_row", row)

    def __getattr__(self, name: str):
        return getattr(object.__getattribute__(self, "_row"), name)

    def __setattr__(self, name: str, value) -> None:
        setattr(object.__getattribute__(self, "_row"), name, value)


class AuditInHand:
    """A kept machine's listener: the Audit of the transition running (none when checking)."""

    audit: Audit | None = None

    def after_transition(self, event: str, source, target) -> None:
        if self.audit is not None:
            self.audit.after_transition(event, source, target)


class _Kept(threading.local):
    def __init__(self) -> None:
        self.machines: dict[Callable, tuple] = {}


_KEPT = _Kept()


@contextmanager
def _machine(factory: Callable, obj, audit: Audit | None) -> Iterator:
    """`factory`'s machine working on `obj`, kept for this thread's next row when done.

    `factory` is a lifecycle's lasting function (a module's, or its Lifecycle's partial): the
    keep holds one machine for each. The row's own methods are never the machine's callbacks
    (the machines hold every one), so the stand-in offers the library none.

    It is taken out of the keep while in use, so a transition that runs another of the same
    lifecycle inside it (none does today) builds its own. A machine that reached a final
    state has stopped (the library refuses it any event), so it is not kept.
    """
    kept = _KEPT.machines.get(factory)
    if kept is not None:
        check_stored_state(type(kept[0]), obj)
        del _KEPT.machines[factory]
    else:
        row, listener = RowInHand(obj), AuditInHand()
        kept = (factory(row, listeners=[listener]), row, listener)  # checks obj's state
    machine, row, listener = kept
    object.__setattr__(row, "_row", obj)
    listener.audit = audit
    try:
        yield machine
    finally:
        object.__setattr__(row, "_row", None)
        listener.audit = None
        if not machine.is_terminated:
            _KEPT.machines[factory] = kept


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
