"""Data protection training: the period in force, each person's standing, and the exceptions a
line manager allows (one removal each) while a person's training has lapsed.

The rules are machines/training.py's; this module reads the facts they need. Each exception is
a row a removal uses up: allowed (used_at empty) until the removal it allowed goes out.
"""

from __future__ import annotations

import datetime as dt

from peewee import DateTimeField, ForeignKeyField, IntegerField, TextField

from machines.training import DEFAULT_VALID_MONTHS, Training
from models.audit import AuditEvent
from models.base import BaseModel
from models.people import User
from models.prepared import Prepared

# TRAINING_VALID_MONTHS, set by create_app beside the database it binds (a process serves one
# council, as it serves one database).
_period = {"months": DEFAULT_VALID_MONTHS}


def set_training_period(months: int) -> None:
    _period["months"] = months


def training_period() -> int:
    return _period["months"]


class TrainingException(BaseModel):
    """A line manager's leave for one removal by a person whose training has lapsed."""

    person = ForeignKeyField(User, backref="training_exceptions", on_delete="CASCADE")
    allowed_by = ForeignKeyField(User)
    allowed_at = DateTimeField()
    reason = TextField()
    used_at = DateTimeField(null=True)
    # The removal it allowed (no foreign key: models/records.py builds on this module).
    used_by_removal = IntegerField(null=True)

    @classmethod
    def open_for(cls, person_id: int | None) -> TrainingException | None:
        if person_id is None:
            return None
        rows = _OPEN_EXCEPTION.rows(person_id=person_id)
        return rows[0] if rows else None

    @classmethod
    def allow(cls, person: User, by: User, reason: str, now: dt.datetime) -> TrainingException:
        """Record it with its audit event, in the caller's transaction."""
        exception = cls.create(person=person.id, allowed_by=by.id, allowed_at=now, reason=reason)
        AuditEvent.append(
            at=now,
            actor_id=by.id,
            entity_type="user",
            entity_id=person.id,
            event="allow_training_exception",
            summary={"exception": exception.id, "reason": reason},
        )
        return exception

    def use(self, removal_id: int, actor_id: int | None, now: dt.datetime) -> bool:
        """Mark it used by this removal; False when another removal used it first."""
        used = (
            TrainingException.update(used_at=now, used_by_removal=removal_id)
            .where(TrainingException.id == self.id, TrainingException.used_at.is_null())
            .execute()
        )
        if used == 1:
            AuditEvent.append(
                at=now,
                actor_id=actor_id,
                entity_type="user",
                entity_id=self.person_id,
                event="use_training_exception",
                summary={"exception": self.id, "removal": removal_id},
            )
        return used == 1


# Asked on every home page (models/prepared.py: why compiled once).
_OPEN_EXCEPTION = Prepared(
    lambda person_id: (
        TrainingException.select()
        .where((TrainingException.person == person_id) & TrainingException.used_at.is_null())
        .limit(1)
    ),
    person_id=int,
)


# One exception waiting per person: a second manager's click (or a double submit) cannot add
# another while one is unused.
TrainingException.add_index(
    TrainingException.index(
        TrainingException.person,
        unique=True,
        where=TrainingException.used_at.is_null(),
        name="training_exception_one_open_per_person",
    )
)


def training_of(person: User | None, with_exception: bool = True) -> Training:
    """A person's standing under the period in force (no date and no person: not trained)."""
    if person is None:
        return Training(None, training_period())
    exception = TrainingException.open_for(person.id) if with_exception else None
    return Training(
        person.trained_on, training_period(), exception.id if exception is not None else None
    )


def training_by_person(people: list[User]) -> dict[int, Training]:
    """Each person's standing, their open exceptions read in one query."""
    ids = [p.id for p in people]
    open_ids = (
        {
            row.person_id: row.id
            for row in TrainingException.select(
                TrainingException.id, TrainingException.person
            ).where(TrainingException.person.in_(ids), TrainingException.used_at.is_null())
        }
        if ids
        else {}
    )
    months = training_period()
    return {p.id: Training(p.trained_on, months, open_ids.get(p.id)) for p in people}
