"""Dispatches: documents from one case sent by secure email or special delivery, checked first."""

from __future__ import annotations

import datetime as dt

from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from machines.permissions import Can
from machines.training import Training
from models.base import VersionedModel
from models.people import Team, User, who_and_when
from models.training import training_of


class Dispatch(VersionedModel):
    state = CharField(default="drafted", index=True)
    team = ForeignKeyField(Team, backref="dispatches")
    case_id = CharField(max_length=20, index=True)
    description = CharField(max_length=200)  # what is sent, never its content
    method = CharField()  # secure_email or special_delivery
    recipient_organisation = CharField(max_length=100)
    recipient_role = CharField(max_length=100)
    # A professional's address or email: stored, never put in URLs, logs, emails or the ICO draft.
    address = TextField()
    drafted_by = ForeignKeyField(User, backref="dispatches_drafted")
    drafted_at = DateTimeField()
    checked_by, checked_at = who_and_when()
    address_source = CharField(null=True)
    address_source_other = CharField(null=True)
    lawful_basis = CharField(null=True, max_length=200)
    sent_by, sent_at = who_and_when()
    tracking_reference = CharField(null=True)
    delivered_at = DateTimeField(null=True)
    delivery_evidence = CharField(null=True)
    misdirected_at = DateTimeField(null=True)
    cancelled_by, cancelled_at = who_and_when()
    cancel_reason = TextField(null=True)
    # When its free text was erased under the retention policy (services/retention.py).
    erased_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("team", "state"), False),)

    @property
    def drafter_training(self) -> Training:
        """The drafter's data protection training (the sending guard's fact)."""
        return training_of(self.drafted_by, with_exception=False)

    def visible_to(self, user: User) -> bool:
        return user.team_id == self.team_id or user.can(Can.SEE_EVERY_TEAM)

    def open_breach_for_misdirection(
        self, actor, now: dt.datetime, what_happened: str, facts: dict
    ) -> None:
        """Open a wrong-recipient breach case linked to this dispatch, in the same transaction,
        with the facts asked when it was reported (None where not known yet)."""
        # Breach is reached through its backref: models/breaches.py imports this module.
        breach_model = Dispatch.breaches.rel_model
        cleaned = {
            "what_happened": f"Documents sent to the wrong recipient: {self.description} "
            f"(sent by {self.method.replace('_', ' ')}). {what_happened}",
            "happened_at": self.sent_at or now,
            "discovered_at": now,
            "category": "wrong_recipient",
            "children_or_vulnerable": facts["children_or_vulnerable"],
            "special_category": facts["special_category"],
            "data_categories": [],
            "people_affected": 1,
            "records_affected": 1,
            "data_left_control": True,
        }
        breach_model.open_case(
            cleaned, User.get_by_id(actor.id), now, case_id=self.case_id, dispatch=self
        )

    @classmethod
    def for_case(cls, user: User, case_id: str):
        """Dispatches from one case that this person may see, newest first."""
        query = cls.select().where(cls.case_id == case_id)
        if not user.can(Can.SEE_EVERY_TEAM):
            query = query.where(cls.team == user.team_id)
        return query.order_by(cls.id.desc())

    @classmethod
    def to_check(cls, user: User):
        """The team's drafts waiting for a second person (never the drafter's own)."""
        return (
            cls.select(cls, User)
            .join(User, on=(cls.drafted_by == User.id))
            .where(cls.team == user.team_id, cls.state == "drafted", cls.drafted_by != user.id)
            .order_by(cls.drafted_at)
        )
