"""After the decision on a breach case: what the ICO is still owed (machines/ico_follow_up.py)
and the actions that prevent the next breach (machines/breach_action.py).

Both belong to a case and are seen by those who may open it (need to know); an action is
also seen by its owner, who may not otherwise see the case.
"""

from __future__ import annotations

import datetime as dt

from peewee import CharField, DateField, DateTimeField, ForeignKeyField, TextField

from machines.permissions import Can, roles_that
from models.base import VersionedModel
from models.breaches import Breach
from models.people import User, UserRole, who_and_when


class IcoItem(VersionedModel):
    """One thing the ICO is owed after a referral: the follow-up report or an answer."""

    breach = ForeignKeyField(Breach, backref="ico_items")
    state = CharField(default="draft", index=True)
    kind = CharField(max_length=20, default="")
    asked = TextField(default="")  # the question, or what was not yet known at 72 hours
    received_on = DateField(null=True)  # a question: when the ICO asked it
    due_on = DateField(null=True)
    due_change_reason = TextField(null=True)
    recorded_by, recorded_at = who_and_when()
    answer = TextField(null=True)
    answered_on = DateField(null=True)
    answered_by, answered_at = who_and_when()
    erased_at = DateTimeField(null=True)  # free text erased with its case (retention)

    class Meta:
        table_name = "ico_item"
        indexes = ((("state", "due_on"), False),)

    def visible_to(self, user: User) -> bool:
        """Need to know: whoever may open the case."""
        return self.breach.visible_to(user)

    @classmethod
    def open_for(cls, breach_id: int):
        return cls.select().where(cls.breach == breach_id, cls.state == "open")

    @classmethod
    def of_case(cls, breach_id: int):
        return (
            cls.select()
            .where(cls.breach == breach_id, cls.state != "draft")
            .order_by(cls.due_on, cls.id)
        )

    @classmethod
    def owed(cls, user: User):
        """Every open item, soonest due first, for those who handle the ICO (else none)."""
        if not user.can(Can.FOLLOW_UP_WITH_ICO):
            return cls.select().where(False)
        return (
            cls.select(cls, Breach)
            .join(Breach, on=(cls.breach == Breach.id), attr="breach")
            .where(cls.state == "open")
            .order_by(cls.due_on, cls.id)
        )

    @classmethod
    def handlers(cls):
        """The active people who answer the ICO."""
        holders = UserRole.select(UserRole.user).where(
            UserRole.role.in_(sorted(roles_that(Can.FOLLOW_UP_WITH_ICO)))
        )
        return User.select().where(User.id.in_(holders), User.active == True)  # noqa: E712


class BreachAction(VersionedModel):
    """One action to prevent the next breach, with its owner, due date and evidence."""

    breach = ForeignKeyField(Breach, backref="actions")
    state = CharField(default="draft", index=True)
    category = CharField(max_length=20, default="")
    description = CharField(max_length=500, default="")
    owner = ForeignKeyField(User, null=True, backref="breach_actions")
    due_on = DateField(null=True)
    added_by, added_at = who_and_when()
    evidence = TextField(null=True)
    not_needed_reason = TextField(null=True)
    closed_by, closed_at = who_and_when()
    erased_at = DateTimeField(null=True)  # free text erased with its case (retention)

    class Meta:
        table_name = "breach_action"
        indexes = ((("owner", "state", "due_on"), False), (("state", "due_on"), False))

    def visible_to(self, user: User) -> bool:
        """Whoever may open the case, and the action's owner."""
        return user.id == self.owner_id or self.breach.visible_to(user)

    @classmethod
    def open_for(cls, breach_id: int):
        return cls.select().where(cls.breach == breach_id, cls.state == "open")

    @classmethod
    def of_case(cls, breach_id: int):
        Owner = User.alias()
        return (
            cls.select(cls, Owner)
            .join(Owner, on=(cls.owner == Owner.id), attr="owner")
            .where(cls.breach == breach_id, cls.state != "draft")
            .order_by(cls.due_on, cls.id)
        )

    @classmethod
    def owned_by(cls, user: User):
        """This person's open actions, soonest due first, with their case."""
        return cls.owned_by_id(user.id)

    @classmethod
    def owned_by_id(cls, user_id: int):
        return (
            cls.select(cls, Breach)
            .join(Breach, on=(cls.breach == Breach.id), attr="breach")
            .where(cls.owner == user_id, cls.state == "open")
            .order_by(cls.due_on, cls.id)
        )

    @classmethod
    def open_everywhere(cls):
        """Every open action, soonest due first, with its case and owner (the register)."""
        Owner = User.alias()
        return (
            cls.select(cls, Breach, Owner)
            .join(Breach, on=(cls.breach == Breach.id), attr="breach")
            .switch(cls)
            .join(Owner, on=(cls.owner == Owner.id), attr="owner")
            .where(cls.state == "open")
            .order_by(cls.due_on, cls.id)
        )

    @classmethod
    def overdue_count(cls, today: dt.date) -> int:
        return cls.select().where(cls.state == "open", cls.due_on < today).count()
