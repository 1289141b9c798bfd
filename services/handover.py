"""Leavers and movers leave nothing orphaned: the work a person holds, and handing it over.

Before an administrator disables someone, or moves them to another team, the page lists what
they still hold (`open_work`): papers out of the office or asked for, requests waiting for
their approval, the people they line-manage, open breach cases they reported or whose
reporter they manage, and dispatches they drafted that are not finished. One successor takes
all of it over (their line manager by default), in the transaction that disables or moves
them (`hand_over`), with one audit event per object.

Removals, breach cases and dispatches are lifecycle rows: each hand-over moves the row's
`version` on (compare-and-set) and its audit event records that version and the row's state
as source and target, so `audit-verify` still finds every row at the version its events
account for (services/audit_anchor.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from machines.breach import BreachMachine
from machines.permissions import Can
from models.audit import AuditEvent
from models.base import Stale, VersionedModel
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import User
from models.records import Record, Removal
from services.accounts import AccountError, AccountStale

OPEN_REMOVAL_STATES = ("requested", "approved_for_removal", "out")
OPEN_DISPATCH_STATES = ("drafted", "checked", "sent")
OPEN_BREACH_STATES = tuple(s.id for s in BreachMachine.states if not s.final)

# What the person is to the object, in words, and which field of the object says so.
DUTIES = {
    "holder": ("holds the papers", "for_user"),
    "approver": ("is to approve the request", "requester_manager"),
    "manager": ("is the line manager", "line_manager"),
    "reporter": ("reported the case", "reported_by"),
    "reporter_manager": ("manages the reporter", "reporter_manager"),
    "drafter": ("drafted the dispatch", "drafted_by"),
}


@dataclass(frozen=True)
class WorkItem:
    duty: str  # a key of DUTIES
    entity: str  # "removal", "breach", "dispatch" or "user"
    obj: object
    label: str  # what a person reads: "Court bundle, vol 2 (case 1234567): out, due 3 March"

    @property
    def key(self) -> str:
        return f"{self.duty}:{self.entity}:{self.obj.id}"


@dataclass
class Work:
    items: list[WorkItem] = field(default_factory=list)

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
    waiting = (
        Removal.select(Removal, Record)
        .join(Record, on=(Removal.record == Record.id))
        .where(Removal.requester_manager == user.id, Removal.state == "requested")
        .order_by(Removal.id)
    )
    for removal in waiting:
        work.items.append(
            WorkItem("approver", "removal", removal, _removal_label(removal, REMOVAL_STATES))
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
    return work


def _removal_label(removal: Removal, states: dict[str, str]) -> str:
    return (
        f"{removal.record.description} (case {removal.record.case_id}): "
        f"{states[removal.state].lower()}, due {removal.due_on.day} {removal.due_on:%B %Y}"
    )


def _breach_label(case: Breach) -> str:
    from machines.breach import STATE_LABELS

    return f"{case.reference}: {STATE_LABELS[case.state].lower()}"


def _dispatch_label(dispatch: Dispatch) -> str:
    from machines.dispatch import STATE_LABELS

    return (
        f"{dispatch.description} (case {dispatch.case_id}): {STATE_LABELS[dispatch.state].lower()}"
    )


def successor_problem(item: WorkItem, successor: User) -> str | None:
    """Why the successor cannot take this item over, or None when they can."""
    obj = item.obj
    name = successor.display_name
    if item.duty == "holder" and not successor.can(Can.WORK_WITH_PAPERS):
        return f"{name} cannot hold papers (their roles do not include work with papers)"
    if item.duty == "approver":
        if not successor.can(Can.APPROVE_REMOVALS):
            return f"{name} cannot approve removals (they are not a line manager)"
        if successor.id == obj.for_user_id:
            return f"{name} asked for these papers, so cannot approve the request"
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
    if getattr(row, f"{column}_id") != user.id:
        raise AccountStale(f"{item.label} changed while you were looking at it.")
    setattr(row, column, successor.id)
    if item.duty == "holder":
        # The request's approver follows the new holder: their line manager, as when asking.
        row.requester_manager = successor.line_manager_id
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
