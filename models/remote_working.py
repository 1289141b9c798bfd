"""Remote working agreements: a member of staff's agreement to work on records from home or
another base by remote electronic access, until a date (machines/remote_working.py)."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

from peewee import CharField, DateField, DateTimeField, ForeignKeyField, TextField

from machines.permissions import Can
from machines.removal import may_decide
from models.people import Team, User, who_and_when
from models.records import ApprovalRequest


class RemoteAgreement(ApprovalRequest):
    """One agreement, asked of and decided by the removal's approvers (ApprovalRequest)."""

    # No index of its own (migration 30): the (team, state, end date) index below starts with
    # it, and given both, SQLite without statistics took this one for the board's list and
    # read every agreement the team ever had.
    team = ForeignKeyField(Team, backref="remote_agreements", index=False)
    state = CharField(default="draft", index=True)
    for_user = ForeignKeyField(User, backref="remote_agreements")
    place = CharField(max_length=200, default="")  # where the person works from
    why = TextField(default="")
    ends_on = DateField(null=True)
    asked_at = DateTimeField(null=True)
    withdrawn_by, withdrawn_at = who_and_when()
    withdraw_reason = TextField(null=True)
    closed_at = DateTimeField(null=True)
    erased_at = DateTimeField(null=True)  # free text erased under the retention policy

    class Meta:
        indexes = (
            (("team", "state", "ends_on"), False),
            (("for_user", "state"), False),
            # The board of every team's agreements in force (first_current; migration 34).
            (("state", "ends_on", "id"), False),
        )

    def visible_to(self, user: User) -> bool:
        """The person, whoever may agree it, the team's managers, and those who watch every
        team; nobody else (it is about a member of staff, not a case)."""
        return (
            user.id == self.for_user_id
            or may_decide(self, user.as_actor())
            or (user.can(Can.MANAGE_TEAM_WORK) and user.team_id == self.team_id)
            or user.can(Can.WATCH_EVERY_TEAM)
        )

    @classmethod
    def with_people(cls):
        Person = User.alias()
        return cls.select(cls, Person).join(Person, on=(cls.for_user == Person.id), attr="person")

    @classmethod
    def of(cls, user: User):
        """This person's agreements, newest first."""
        return cls.with_people().where(cls.for_user == user).order_by(cls.id.desc())

    @classmethod
    def waiting_for(cls, user: User):
        """Asks this person may agree (the same rule as a request for papers)."""
        return cls.asked_of(user, cls.state == "asked", cls.asked_at)

    @classmethod
    def current(cls, teams: list[int] | None, today: dt.date):
        """Agreements in force (agreed, end date not passed) and asks waiting, in these teams
        (None: every team): the board's list. One query, the person joined."""
        query = (
            cls._with_team()
            # The states as an IN the (team, state, end date) index can take: with the OR alone
            # every agreement of the team was read, the expired ones of every year too.
            # Agreed ones past their end are few: the scheduled expiry ends them.
            .where(
                cls.state.in_(("asked", "agreed")),
                (cls.state == "asked") | (cls.ends_on >= today),
            )
        )
        if teams is not None:
            query = query.where(cls.team.in_(teams))
        return query.order_by(cls.ends_on, cls.id)

    @classmethod
    def _with_team(cls):
        return (
            cls.with_people()
            .select_extend(Team)
            .switch(cls)
            .join(Team, on=(cls.team == Team.id), attr="team")
        )

    @classmethod
    def first_current(cls, teams: list[int] | None, today: dt.date, limit: int):
        """The first `limit` of `current`, in its order. In these teams (or every team), the
        agreements in force and the asks waiting are each read along the (team, state, end
        date) index (the (state, end date) one) in that order and stopped at `limit`: ordering
        the two states together sorted every agreement in force in the teams, and those grow
        with the council."""
        in_teams = True if teams is None else cls.team.in_(teams)
        walk = (cls.state,) if teams is None else (cls.team, cls.state)
        parts = [
            cls.select(cls.id)
            .where(in_teams, state)
            .order_by(*walk, cls.ends_on, cls.id)
            .limit(limit)
            for state in (
                (cls.state == "agreed") & (cls.ends_on >= today),
                cls.state == "asked",
            )
        ]
        firsts = reduce(or_, [cls.select(part.c.id).from_(part) for part in parts])
        # Those ids alone: with the teams and states here too, SQLite walks the index again.
        return cls._with_team().where(cls.id.in_(firsts)).order_by(cls.ends_on, cls.id).limit(limit)

    @classmethod
    def past_end(cls, today: dt.date):
        """Agreed agreements whose end date has passed: for the scheduled expiry."""
        return cls.select().where(cls.state == "agreed", cls.ends_on < today).order_by(cls.id)


# Asks to decide (as for a request for papers: models/records.py may_approve_sql).
RemoteAgreement.add_index(
    RemoteAgreement.index(
        RemoteAgreement.requester_manager, RemoteAgreement.state, RemoteAgreement.team
    )
)
RemoteAgreement.add_index(
    RemoteAgreement.index(RemoteAgreement.approval_route, RemoteAgreement.state)
)
