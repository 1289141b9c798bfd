"""Running one transition: load, version check, machine, save and audit in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from statemachine.exceptions import TransitionNotAllowed

from machines.common import Actor, InputError
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
        if expected_version is not None and obj.version != expected_version:
            raise Stale(f"{entity_type} {obj.id} is at version {obj.version}")
        audit = Audit(actor, entity_type, now, summary, kiosk_id, obj)
        machine = factory(obj, listeners=[audit])
        if event not in {e.id for e in machine.allowed_events}:
            raise Refused(event)
        # The library runs validators before guards: check the guards first, so a person
        # without the right gets 403 rather than a list of fields to fill in.
        if event not in enabled_event_ids(machine, actor, now):
            raise Forbidden(event)
        try:
            machine.send(event, actor=actor, now=now, **values)
        except TransitionNotAllowed as error:
            raise Forbidden(event) from error
        except InputError:
            raise
        return obj


def enabled_event_ids(machine, actor: Actor, now: dt.datetime) -> list[str]:
    """The events whose guards pass for this person now: exactly the buttons to render."""
    return [e.id for e in machine.enabled_events(actor=actor, now=now)]
