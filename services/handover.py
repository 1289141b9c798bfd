"""Leavers and movers leave nothing orphaned: the work a person holds, and handing it over.

Before an administrator disables someone, or moves them to another team, the page lists what
they still hold (`open_work`): papers out of the office or asked for; requests for papers
and asks to work remotely whose approval route names them (machines.removal.approvers_for:
put to them as the requester's own line manager, so they decide it, more time and where the
papers are; or put to the team's line managers when they are the last one left); the people
they line-manage; open breach cases they reported or whose reporter they manage; dispatches
they drafted that are not finished; and their own remote working agreements. One successor
takes all of it over (their line manager by default), in the transaction that disables or
moves them (`hand_over`), with one audit event per object.

A remote working agreement is the person's own permission to work away from the office on
their team's records: it is withdrawn, not given to the successor (who never asked for it).

Removals, breach cases, dispatches and agreements are lifecycle rows: each hand-over moves
the row's `version` on (compare-and-set) and its audit event records that version and the
row's state as source and target, so `audit-verify` still finds every row at the version its
events account for (services/audit_anchor.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from machines.breach import BreachMachine
from machines.permissions import Can, grants
from machines.removal import FALLBACK, OWN_MANAGER, TEAM_MANAGERS, may_see_team
from models.audit import AuditEvent
from models.base import Stale, VersionedModel
from models.breaches import Breach
from models.dispatches import Dispatch
from models.follow_through import BreachAction
from models.people import User
from models.records import Record, Removal, _holders_of, approvers_of
from models.remote_working import RemoteAgreement
from services.account_errors import AccountError, AccountStale

OPEN_REMOVAL_STATES = ("requested", "approved_for_removal", "out")
OPEN_DISPATCH_STATES = ("drafted", "checked", "sent")
OPEN_BREACH_STATES = tuple(s.id for s in BreachMachine.states if not s.final)
# Asked (waiting for a decision) or agreed (in force until it ends or is withdrawn).
OPEN_AGREEMENT_STATES = ("asked", "agreed")
AGREEMENT_ENDED = "Withdrawn by an administrator: the person left or moved to another team"

# What the person is to the object, in words, and which field of the object says so.
DUTIES = {
    "holder": ("holds the papers", "for_user"),
    "approver": ("is to approve the request", "requester_manager"),
    "overseer": (
        "decides more time for papers out and confirms where they are",
        "requester_manager",
    ),
    "agreement_approver": (
        "decides on working remotely (agrees, declines or withdraws it)",
        "requester_manager",
    ),
    # Asked of the team's line managers, and no other is left: the successor is asked instead.
    "last_team_approver": (
        "is the team's last line manager to decide these requests",
        "requester_manager",
    ),
    # Asked of an Assistant Director or Director (the team had no line manager to ask), and
    # this is the last of them: the successor is asked instead.
    "last_senior_approver": (
        "is the last Assistant Director or Director to decide these requests",
        "requester_manager",
    ),
    "manager": ("is the line manager", "line_manager"),
    "reporter": ("reported the case", "reported_by"),
    "reporter_manager": ("manages the reporter", "reporter_manager"),
    "drafter": ("drafted the dispatch", "drafted_by"),
    "action_owner": ("owns an action to prevent the next breach", "owner"),
    # Not handed over: withdrawn in the same transaction (see the module's docstring).
    "remote_worker": ("works remotely: these agreements are withdrawn, not handed over", None),
}


@dataclass(frozen=True)
class WorkItem:
    duty: str  # a key of DUTIES
    entity: str  # "removal", "breach", "dispatch", "remote_agreement" or "user"
    obj: object
    label: str  # what a person reads: "Court bundle, vol 2 (case 1234567): out, due 3 March"

    @property
    def key(self) -> str:
        return f"{self.duty}:{self.entity}:{self.obj.id}"


@dataclass
class Work:
    items: list[WorkItem] = field(default_factory=list)
    # Handed over for a move to another team (all of it), not for a change of roles.
    moving: bool = False

    @property
    def fingerprint(self) -> str:
        """What the page showed, to post back: the hand-over refuses when it has changed."""
        return ",".join(sorted(item.key for item in self.items))

    def by_duty(self) -> dict[str, list[WorkItem]]:
        grouped: dict[str, list[WorkItem]] = {}
        for item in self.items:
            grouped.setdefault(item.duty, []).append(item)
        return grouped


def open_work(user: User) -> Work:
    """Everything the person holds that someone must take over, in a fixed order."""
    from machines.removal import STATE_LABELS as REMOVAL_STATES

    work = Work()
    held = (
        Removal.select(Removal, Record)
        .join(Record, on=(Removal.record == Record.id))
        .where(Removal.for_user == user.id, Removal.state.in_(OPEN_REMOVAL_STATES))
        .order_by(Removal.id)
    )
    for removal in held:
        work.items.append(
            WorkItem("holder", "removal", removal, _removal_label(removal, REMOVAL_STATES))
        )
    # Requests whose route names this person: asked of their own line manager. (Rows asked
    # before routes were stored have none, and the same rule applies to them.)
    waiting = (
        Removal.select(Removal, Record)
        .join(Record, on=(Removal.record == Record.id))
        .where(
            Removal.requester_manager == user.id,
            Removal.state.in_(OPEN_REMOVAL_STATES),
            _names_the_manager(Removal),
        )
        .order_by(Removal.id)
    )
    for removal in waiting:
        duty = "approver" if removal.state == "requested" else "overseer"
        work.items.append(
            WorkItem(duty, "removal", removal, _removal_label(removal, REMOVAL_STATES))
        )
    reports = (
        User.select()
        .where(User.line_manager == user.id, User.active == True)  # noqa: E712
        .order_by(User.display_name, User.id)
    )
    for person in reports:
        work.items.append(
            WorkItem("manager", "user", person, f"{person.display_name} ({person.staff_number})")
        )
    for duty, column in (
        ("reporter", Breach.reported_by),
        ("reporter_manager", Breach.reporter_manager),
    ):
        cases = Breach.select().where(column == user.id, Breach.state.in_(OPEN_BREACH_STATES))
        for case in cases.order_by(Breach.id):
            work.items.append(WorkItem(duty, "breach", case, _breach_label(case)))
    dispatches = Dispatch.select().where(
        Dispatch.drafted_by == user.id, Dispatch.state.in_(OPEN_DISPATCH_STATES)
    )
    for dispatch in dispatches.order_by(Dispatch.id):
        work.items.append(WorkItem("drafter", "dispatch", dispatch, _dispatch_label(dispatch)))
    actions = BreachAction.owned_by(user)
    for action in actions:
        work.items.append(WorkItem("action_owner", "breach_action", action, _action_label(action)))
    to_decide = RemoteAgreement.with_people().where(
        RemoteAgreement.requester_manager == user.id,
        RemoteAgreement.state.in_(OPEN_AGREEMENT_STATES),
        _names_the_manager(RemoteAgreement),
    )
    for agreement in to_decide.order_by(RemoteAgreement.id):
        work.items.append(
            WorkItem(
                "agreement_approver",
                "remote_agreement",
                agreement,
                _agreement_label(agreement, agreement.person),
            )
        )
    work.items += _left_to_this_person(user)
    own = RemoteAgreement.select().where(
        RemoteAgreement.for_user == user.id, RemoteAgreement.state.in_(OPEN_AGREEMENT_STATES)
    )
    for agreement in own.order_by(RemoteAgreement.id):
        work.items.append(
            WorkItem("remote_worker", "remote_agreement", agreement, _agreement_label(agreement))
        )
    return work


# The approval routes that ask whoever holds a capability, rather than a named person: when
# the last holder leaves, the requests on that route wait for no one unless handed over.
SHARED_ROUTES = {
    "last_team_approver": (TEAM_MANAGERS, Can.APPROVE_REMOVALS),
    "last_senior_approver": (FALLBACK, Can.APPROVE_AS_FALLBACK),
}


def work_for_change(user: User, team_id: int | None, roles: list[str]) -> Work:
    """What an administrator's edit must hand over before it is saved: for a move to another
    team, everything but the requests put to the seniors when the person stays one; for a
    change of roles that takes away deciding the requests put to a team's line managers or to
    the seniors, those of them nobody else is left to decide."""
    kept = [
        duty
        for duty, (route, capability) in SHARED_ROUTES.items()
        if grants(frozenset(roles), capability)
        # A team's line managers decide for their own team only: a move leaves its requests.
        and (route != TEAM_MANAGERS or team_id == user.team_id)
    ]
    if team_id != user.team_id:
        # The seniors decide for every team: one who moves and stays senior keeps theirs.
        # An action stays with its owner wherever they work.
        items = [
            item
            for item in open_work(user).items
            if item.duty not in kept and item.duty != "action_owner"
        ]
        return Work(items, moving=True)
    return Work(_left_to_this_person(user, [d for d in SHARED_ROUTES if d not in kept]))


def _left_to_this_person(user: User, duties: Iterable[str] = SHARED_ROUTES) -> list[WorkItem]:
    """Requests asked of the team's line managers (no own manager could see the papers), or
    of the Assistant Directors and Directors (the team had no line manager), when this person
    is the last of them: without a successor they would wait for no one. `duties` narrows
    it to those of SHARED_ROUTES asked about."""
    items = []
    for duty in duties:
        route, capability = SHARED_ROUTES[duty]
        # A team's line managers are asked within their team; the seniors for every team.
        team_id = user.team_id if route == TEAM_MANAGERS else None
        if not user.can(capability) or (route == TEAM_MANAGERS and team_id is None):
            continue
        others = {p.id for p in _holders_of(capability, team_id)} - {user.id}
        items += _asked_on_route(user, duty, route, team_id, others)
    return items


def _asked_on_route(
    user: User, duty: str, route: str, team_id: int | None, others: set[int]
) -> list[WorkItem]:
    """The open requests on `route` (in the team, when given) that nobody but this person,
    of `others`, could decide: the requesters never decide their own."""
    from machines.removal import STATE_LABELS as REMOVAL_STATES

    removals = (
        Removal.select(Removal, Record)
        .join(Record, on=(Removal.record == Record.id))
        .where(
            Removal.approval_route == route,
            Removal.state.in_(OPEN_REMOVAL_STATES),
            Removal.for_user != user.id,  # their own: handed over as papers they hold
        )
    )
    agreements = RemoteAgreement.with_people().where(
        RemoteAgreement.approval_route == route,
        RemoteAgreement.state.in_(OPEN_AGREEMENT_STATES),
        RemoteAgreement.for_user != user.id,  # their own: withdrawn
    )
    if team_id is not None:
        removals = removals.where(Removal.team == team_id)
        agreements = agreements.where(RemoteAgreement.team == team_id)
    items = []
    for removal in removals.order_by(Removal.id):
        if not others - {removal.for_user_id, removal.requested_by_id}:
            label = _removal_label(removal, REMOVAL_STATES)
            items.append(WorkItem(duty, "removal", removal, label))
    for agreement in agreements.order_by(RemoteAgreement.id):
        if not others - {agreement.for_user_id, agreement.requested_by_id}:
            label = _agreement_label(agreement, agreement.person)
            items.append(WorkItem(duty, "remote_agreement", agreement, label))
    return items


def _names_the_manager(model):
    return (model.approval_route == OWN_MANAGER) | model.approval_route.is_null()


def _removal_label(removal: Removal, states: dict[str, str]) -> str:
    return (
        f"{removal.record.description} (case {removal.record.case_id}): "
        f"{states[removal.state].lower()}, due {removal.due_on.day} {removal.due_on:%B %Y}"
    )


def _breach_label(case: Breach) -> str:
    from machines.breach import STATE_LABELS

    return f"{case.reference}: {STATE_LABELS[case.state].lower()}"


def _action_label(action: BreachAction) -> str:
    # The case's reference and the date, not what was typed: the administrator may not see
    # the case.
    return f"An action on breach {action.breach.reference}, due {action.due_on:%-d %B %Y}"


def _dispatch_label(dispatch: Dispatch) -> str:
    from machines.dispatch import STATE_LABELS

    return (
        f"{dispatch.description} (case {dispatch.case_id}): {STATE_LABELS[dispatch.state].lower()}"
    )


def _agreement_label(agreement: RemoteAgreement, person: User | None = None) -> str:
    from machines.remote_working import STATE_LABELS

    whose = f"{person.display_name} ({person.staff_number}): " if person else ""
    until = (
        f", until {agreement.ends_on.day} {agreement.ends_on:%B %Y}" if agreement.ends_on else ""
    )
    return (
        f"{whose}working remotely from {agreement.place}: "
        f"{STATE_LABELS[agreement.state].lower()}{until}"
    )


def successor_problem(item: WorkItem, successor: User) -> str | None:
    """Why the successor cannot take this item over, or None when they can."""
    obj = item.obj
    name = successor.display_name
    if item.duty == "holder" and not successor.can(Can.WORK_WITH_PAPERS):
        return f"{name} cannot hold papers (their roles do not include work with papers)"
    if item.duty in ("approver", "overseer", "agreement_approver", *SHARED_ROUTES):
        may_decide = successor.can(Can.APPROVE_REMOVALS) or (
            item.duty == "last_senior_approver" and successor.can(Can.APPROVE_AS_FALLBACK)
        )
        if not may_decide:
            return f"{name} cannot approve removals (they are not a line manager)"
        if successor.id in (obj.for_user_id, obj.requested_by_id):
            what = "these papers" if item.entity == "removal" else "to work remotely"
            return f"{name} asked for {what}, so cannot decide it"
        if not may_see_team(successor.as_actor(), obj.team_id):
            return f"{name} cannot see {obj.team.name}'s records, so cannot decide their requests"
    if item.duty == "manager" and successor.id == obj.id:
        return f"{name} cannot be their own line manager"
    if item.duty == "reporter_manager" and successor.id == obj.reported_by_id:
        return f"{name} reported {obj.reference}, so cannot review it as the reporter's manager"
    if item.duty == "drafter":
        if not successor.can(Can.WORK_WITH_PAPERS):
            return f"{name} cannot send documents (their roles do not include work with papers)"
        if successor.id == obj.checked_by_id:
            return f"{name} made the second check of this dispatch, so cannot also send it"
    return None


def hand_over(
    actor: User,
    user: User,
    work: Work,
    successor_id: int | None,
    work_seen: str | None,
    now: dt.datetime,
) -> list[WorkItem]:
    """Give all of `user`'s open work to the successor; call inside the account change's
    transaction. Raise AccountStale when the work is not what the page showed, AccountError
    when no one suitable was chosen."""
    if work_seen is None or work_seen != work.fingerprint:
        raise AccountStale(
            f"What {user.display_name} holds changed while you were looking at it. Check the "
            "list below again and choose who takes it over."
        )
    if all(item.duty == "remote_worker" for item in work.items):
        for item in work.items:
            _withdraw(actor, item, now)  # nothing passes to anyone: no one need be chosen
        return work.items
    successor = User.get_or_none(User.id == successor_id) if successor_id else None
    if successor is None or not successor.active or successor.id == user.id:
        raise AccountError({"successor_id": "Select who takes over this work"})
    if successor.can(Can.KIOSK_DEVICE):
        raise AccountError({"successor_id": "A team-base kiosk cannot take over anyone's work"})
    problems = [p for item in work.items if (p := successor_problem(item, successor))]
    if problems:
        raise AccountError({"successor_id": problems[0] + ": choose someone else"})
    for item in work.items:
        _hand_over_one(actor, user, successor, item, now)
    return work.items


def _hand_over_one(actor: User, user: User, successor: User, item: WorkItem, now: dt.datetime):
    if item.duty == "remote_worker":
        _withdraw(actor, item, now)
        return
    column = DUTIES[item.duty][1]
    summary = {"handed_over": item.duty, "from_user": user.id, "to_user": successor.id,
               "to": successor.display_name}  # fmt: skip
    if item.entity == "user":
        User.update({column: successor.id}).where(User.id == item.obj.id).execute()
        AuditEvent.append(
            at=now,
            actor_id=actor.id,
            entity_type="user",
            entity_id=item.obj.id,
            event="hand_over",
            summary={
                **summary,
                "changed": {"line_manager": [user.display_name, successor.display_name]},
            },
        )
        return
    row: VersionedModel = type(item.obj).get_by_id(item.obj.id)
    if item.duty in SHARED_ROUTES:
        if row.approval_route != SHARED_ROUTES[item.duty][0]:
            raise AccountStale(f"{item.label} changed while you were looking at it.")
        # Named on the request from now on, as a requester's own manager is (may_approve).
        row.approval_route = OWN_MANAGER
    elif getattr(row, f"{column}_id") != user.id:
        raise AccountStale(f"{item.label} changed while you were looking at it.")
    setattr(row, column, successor.id)
    if item.duty == "holder":
        # The request's approver follows the new holder, by the rule used when asking.
        row.requester_manager = successor.line_manager_id
        row.approval_route = approvers_of(successor, row.team_id)[0].route
    try:
        row.save_versioned()
    except Stale:
        raise AccountStale(f"{item.label} changed while you were looking at it.") from None
    AuditEvent.append(
        at=now,
        actor_id=actor.id,
        entity_type=item.entity,
        entity_id=row.id,
        event="hand_over",
        source=row.state,
        target=row.state,
        summary=summary,
        entity_version=row.version,
    )


def _withdraw(actor: User, item: WorkItem, now: dt.datetime) -> None:
    """End the person's own agreement, as its withdrawal would, audited at its new version."""
    row: RemoteAgreement = RemoteAgreement.get_by_id(item.obj.id)
    if row.state != item.obj.state:
        raise AccountStale(f"{item.label} changed while you were looking at it.")
    source = row.state
    row.state = "withdrawn"
    row.withdrawn_by = actor.id
    row.withdrawn_at = now
    row.withdraw_reason = AGREEMENT_ENDED
    row.closed_at = now
    try:
        row.save_versioned()
    except Stale:
        raise AccountStale(f"{item.label} changed while you were looking at it.") from None
    AuditEvent.append(
        at=now,
        actor_id=actor.id,
        entity_type="remote_agreement",
        entity_id=row.id,
        event="withdraw",
        source=source,
        target=row.state,
        summary={"reason": AGREEMENT_ENDED, "handed_over": item.duty},
        entity_version=row.version,
    )
