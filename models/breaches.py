"""Breach cases (every breach and near miss, kept for good) and the notifications made."""

from __future__ import annotations

import datetime as dt

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

from machines.breach import BREACH_CHAIN_ROLES
from models.base import BaseModel, VersionedModel
from models.dispatches import Dispatch
from models.people import Team, User
from models.records import Record, Removal

# Everyone in the breach chain sees every case (need to know by role); one list, the machine's.
BREACH_ROLES = BREACH_CHAIN_ROLES


def to_minute(at: dt.datetime) -> dt.datetime:
    """The time without its seconds: the precision people type and read times in."""
    return at.replace(second=0, microsecond=0)


class Breach(VersionedModel):
    reference = CharField(unique=True, max_length=20)
    state = CharField(default="reported", index=True)
    team = ForeignKeyField(Team, backref="breaches")
    reported_by = ForeignKeyField(User, backref="breaches_reported")
    reporter_manager = ForeignKeyField(User, null=True)
    reported_at = DateTimeField(index=True)
    # What happened
    what_happened = TextField()
    happened_at = DateTimeField()
    discovered_at = DateTimeField(index=True)  # awareness: starts the 72-hour ICO clock
    category = CharField(index=True)
    data_categories = TextField(default="")  # comma-separated keys
    people_affected = IntegerField(default=0)
    records_affected = IntegerField(default=0)
    children_or_vulnerable = BooleanField(default=False)
    special_category = BooleanField(default=False)
    data_left_control = BooleanField(default=True)
    police_reference = CharField(null=True)
    no_police_reference_reason = TextField(null=True)
    police_recorded_at = DateTimeField(null=True)
    line_manager_told = BooleanField(default=False)
    # Links to custody and the case (case-system ID only)
    removal = ForeignKeyField(Removal, null=True, backref="breaches")
    record = ForeignKeyField(Record, null=True, backref="breaches")
    case_id = CharField(null=True, max_length=20)
    dispatch = ForeignKeyField(Dispatch, null=True, backref="breaches")
    # Notified
    notified_at = DateTimeField(null=True)
    media_advised = BooleanField(null=True)
    media_reason = TextField(null=True)
    # Risk assessed
    likelihood = IntegerField(null=True)
    severity = IntegerField(null=True)
    reportable = BooleanField(null=True)
    high_risk = BooleanField(null=True)
    likely_outcomes = TextField(null=True)
    actions_taken = TextField(null=True)
    override_reason = TextField(null=True)
    assessed_at = DateTimeField(null=True)
    # Service user informed
    informed_in_person_on = DateField(null=True)
    informed_in_writing_on = DateField(null=True)
    exemption_reason = TextField(null=True)
    skip_reason = TextField(null=True)
    informed_at = DateTimeField(null=True)
    # Decided
    decided_by = ForeignKeyField(User, null=True)
    caldicott_consulted = CharField(null=True)
    legal_advice = BooleanField(null=True)
    disciplinary = BooleanField(null=True)
    ico_referred = BooleanField(null=True)
    ico_referred_at = DateTimeField(null=True)
    ico_reference = CharField(null=True)
    not_referred_reason = TextField(null=True)
    delay_reason = TextField(null=True)
    regulator = CharField(null=True)
    decided_at = DateTimeField(null=True)
    # Closed
    closed_by = ForeignKeyField(User, null=True)
    report_complete = BooleanField(default=False)
    lessons_learned = TextField(null=True)
    closed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("team", "state"), False),)

    @property
    def data_category_list(self) -> list[str]:
        return [c for c in (self.data_categories or "").split(",") if c]

    def visible_to(self, user: User) -> bool:
        """Need to know: the reporter, the reporter's line manager, or the breach chain."""
        return user.id in (self.reported_by_id, self.reporter_manager_id) or user.has_role(
            *BREACH_ROLES
        )

    @classmethod
    def visible_query(cls, user: User):
        query = cls.select()
        if not user.has_role(*BREACH_ROLES):
            query = query.where((cls.reported_by == user.id) | (cls.reporter_manager == user.id))
        return query

    @classmethod
    def next_reference(cls, now: dt.datetime) -> str:
        prefix = f"BR-{now:%Y}-"
        count = cls.select(fn.COUNT(cls.id)).where(cls.reference.startswith(prefix)).scalar()
        return f"{prefix}{count + 1:04d}"

    @classmethod
    def open_case(
        cls,
        cleaned: dict,
        reporter: User,
        now: dt.datetime,
        *,
        case_id: str | None = None,
        removal: Removal | None = None,
        dispatch: Dispatch | None = None,
    ) -> Breach:
        """Create a case in `reported` with its audit event; call inside a write transaction."""
        from models.audit import AuditEvent

        fields = {k: v for k, v in cleaned.items() if k in cls._meta.fields}
        # People type times to the minute (datetime-local), and the checks compare what they
        # type with these: a case opened automatically (now, to the microsecond) would
        # otherwise refuse a notification typed in the very minute of its discovery.
        for key in ("happened_at", "discovered_at"):
            if isinstance(fields.get(key), dt.datetime):
                fields[key] = to_minute(fields[key])
        fields["data_categories"] = ",".join(cleaned.get("data_categories") or [])
        if fields.get("police_reference"):
            fields["police_recorded_at"] = now
        breach = cls.create(
            reference=cls.next_reference(now),
            team=reporter.team_id,
            reported_by=reporter.id,
            reporter_manager=reporter.line_manager_id,
            reported_at=now,
            case_id=case_id or (removal.record.case_id if removal else None),
            record=removal.record_id if removal else None,
            removal=removal,
            dispatch=dispatch,
            **fields,
        )
        AuditEvent.append(
            at=now,
            actor_id=reporter.id,
            entity_type="breach",
            entity_id=breach.id,
            event="report",
            target="reported",
            summary={
                "category": breach.category,
                "reference": breach.reference,
                "removal": removal.id if removal else None,
                "dispatch": dispatch.id if dispatch else None,
            },
        )
        return breach

    @classmethod
    def open_for_lost_removal(cls, removal: Removal, reporter: User, now: dt.datetime) -> Breach:
        """The breach case a lost removal opens, pre-filled from the removal."""
        record = removal.record
        cleaned = {
            "what_happened": (
                f"Papers reported lost while out of the office: {removal.papers} "
                f"({record.description}, label {record.label_code}). "
                f"Last seen: {removal.last_seen_where or 'not known'}."
            ),
            "happened_at": removal.last_seen_at or now,
            "discovered_at": now,
            "category": "loss",
            "data_categories": [],
            "records_affected": 1,
            "people_affected": 1,
            "data_left_control": True,
        }
        return cls.open_case(cleaned, reporter, now, removal=removal)

    # Called by the breach machine's notify action.
    def record_notifications(self, notifications: dict, actor, now: dt.datetime) -> None:
        for recipient, entry in notifications.items():
            Notification.create(
                breach=self,
                recipient=recipient,
                who=entry["who"],
                at=entry["at"],
                recorded_by=actor.id,
                recorded_at=now,
            )


class Notification(BaseModel):
    """One person or body told about a breach: who was told and when."""

    breach = ForeignKeyField(Breach, backref="notifications", on_delete="CASCADE")
    recipient = CharField()
    who = CharField()
    at = DateTimeField()
    recorded_by = ForeignKeyField(User)
    recorded_at = DateTimeField()
