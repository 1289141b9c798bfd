"""Dispatches: documents from one case sent by secure email or special delivery, checked first."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from peewee import CharField, DateTimeField, ForeignKeyField, TextField, fn

from machines.common import Actor
from machines.dispatch import checkers_above
from machines.permissions import Can, roles_that
from machines.training import Training
from models.base import VersionedModel
from models.people import Team, User, UserRole, who_and_when
from models.prepared import Prepared
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

    @cached_property
    def checkers_above(self) -> frozenset[int]:
        """Who may give the second check from above the team (machines.dispatch.
        checkers_above): empty while a colleague of the drafter may. Read once per loaded
        row: a page or a list asks it for every person it weighs."""
        drafter = User.get_by_id(self.drafted_by_id)
        if self.state != "drafted" or _colleagues(self.team_id, drafter.id).exists():
            return frozenset()
        wanted = roles_that(Can.APPROVE_AS_FALLBACK) | roles_that(Can.WORK_WITH_PAPERS)
        people = _active_actors(
            (User.team == self.team_id)
            | (User.id == drafter.line_manager_id)
            | User.id.in_(UserRole.select(UserRole.user).where(UserRole.role.in_(sorted(wanted))))
        )
        return checkers_above(
            drafter.as_actor(),
            self.team_id,
            [p for p in people.values() if p.team_id == self.team_id],
            people.get(drafter.line_manager_id),
            people.values(),
        )

    @classmethod
    def drafts_without_a_colleague(cls):
        """Drafts whose team has no active member but the drafter who may check them: the
        few whose second check comes from above (checkers_above)."""
        colleagues = _colleagues(cls.team, cls.drafted_by)
        return cls.select().where(cls.state == "drafted", ~fn.EXISTS(colleagues))

    @classmethod
    def to_check_from_above(cls, user: User) -> list[Dispatch]:
        """The drafts this person may check from above the team, oldest first."""
        rows = _DRAFTS_FROM_ABOVE.rows()
        return [row for row in rows if user.id in row.checkers_above]

    @classmethod
    def nobody_can_check(cls) -> set[int]:
        """Drafts no active person may check: an account change must not leave one."""
        return {row.id for row in cls.drafts_without_a_colleague() if not row.checkers_above}

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


def _colleagues(team, drafter):
    """The team's active members, but the drafter, who may check a draft (a team and a
    drafter given as ids, or as a dispatch's columns for a correlated subquery)."""
    return (
        User.select(User.id)
        .join(UserRole)
        .where(
            User.team == team,
            User.active == True,  # noqa: E712
            User.id != drafter,
            UserRole.role.in_(sorted(roles_that(Can.WORK_WITH_PAPERS))),
        )
    )


def _active_actors(where) -> dict[int, Actor]:
    """The active people matching `where`, each with all their roles, as the machines see them."""
    rows = (
        User.select(User, UserRole.role)
        .join(UserRole)
        .where(User.active == True, where)  # noqa: E712
        .objects()
    )
    users: dict[int, User] = {}
    roles: dict[int, set[str]] = {}
    for row in rows:
        users.setdefault(row.id, row)
        roles.setdefault(row.id, set()).add(row.role)
    return {
        uid: Actor(uid, frozenset(roles[uid]), user.team_id, user.line_manager_id)
        for uid, user in users.items()
    }


# Asked on every home page (models/prepared.py: why each is compiled once).
_DRAFTS_FROM_ABOVE = Prepared(
    lambda: Dispatch.drafts_without_a_colleague().order_by(Dispatch.drafted_at, Dispatch.id)
)
