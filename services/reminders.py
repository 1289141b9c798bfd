"""Emails, each sent once, however many servers run `flask send-reminders` at once.

The outbox is a query: what should have gone and has no claim yet. Each message is claimed by
inserting its row in models.reminders.Reminder before it is sent, so only one process sends
it. Messages carry no personal data: the kind of message, the case-system ID (or breach
reference), the date and a link. No names, no record descriptions.

Besides the reminders (papers due and overdue, the ICO's 72 hours, a missing crime
reference), a breach case reported through Safekeep is announced to each holder of the roles
on the procedure's notification list (the Governance Team and the Information and Records
Manager for a near miss), and each announcement sent goes on the case's notification list by
itself. The request that reports a case never waits for a mail server: cron does the sending.

The news about a request (one waits for your decision, yours was decided) and an agreement
ending carries the link alone: it is sent from here, by cron, never from the request.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from peewee import JOIN, fn

from machines import clock
from machines.breach_clocks import ICO_HOURS, ico_deadline, police_reminder_due
from machines.breach_report import POLICE_CATEGORIES, emailed_roles, lost_or_stolen
from machines.permissions import Can, Role, roles_that
from machines.removal import FALLBACK, OWN_MANAGER, TEAM_MANAGERS
from models.audit import AuditEvent
from models.base import Stale, write_transaction
from models.breaches import Breach, Notification
from models.deliveries import DELIVERED, Delivery
from models.people import User, UserRole
from models.records import Record, Removal
from models.reminders import Key, Reminder, confirm_location_cutoff, ladder_start
from models.remote_working import RemoteAgreement
from services import deliveries
from services import follow_through_reminders as follow_through
from services.channel import Mailer, MessageRefused, Receipt
from services.message_kinds import (  # noqa: F401 - the kinds are this module's vocabulary too
    ACTION_DUE,
    AGREEMENT_ENDING,
    APPROVAL_NEEDED,
    BREACH_REPORTED,
    CONFIRM_LOCATION,
    DECIDED,
    DELIVERY_FAILED,
    DUE_TOMORROW,
    ICO_DEADLINE,
    ICO_ITEM_DUE,
    KIND_LABELS,
    KINDS,
    LINE_MANAGER_TOLD,
    OVERDUE,
    POLICE_REFERENCE,
    TRAINING_LAPSED,
    TRAINING_LAPSING,
)
from services.training import Lapse, lapse_news

log = logging.getLogger(__name__)

# A remote working agreement's holder is told this many days before its last day.
AGREEMENT_WARNING_DAYS = 3
# A decision older than this when the command first sees it (a new install, cron stopped for
# days) is not news any more: the requester has seen it on their home page.
DECISION_NEWS = dt.timedelta(days=2)

CONFIRM_AFTER_DAYS = 3  # default for REMINDER_CONFIRM_AFTER_DAYS
ICO_WARNING_HOURS = 24
# A report is announced while it is news: a run after a long outage still catches up, an
# upgrade does not email about last year's cases, and a newcomer is not told of old ones.
ANNOUNCE_WITHIN = dt.timedelta(days=7)


@dataclass(frozen=True)
class Due:
    """A reminder that should exist: who gets what about which subject."""

    kind: str
    subject_type: str
    subject_id: int
    recipient_id: int
    email: str | None
    subject: str
    lines: tuple[str, ...]
    link: str
    # The breach reference or the case-system ID the message is about ("" for a request).
    reference: str = ""
    # An announcement of a report: the notification-list roles it tells the person as.
    roles: tuple[str, ...] = ()

    round: int = 0

    @property
    def key(self) -> Key:
        return (self.kind, self.subject_type, self.subject_id, self.recipient_id, self.round)

    @property
    def body(self) -> str:
        return _letter(list(self.lines), self.link)

    @property
    def client_reference(self) -> str:
        """Safekeep's name for the message (Notify keeps it): the claim's key, no words."""
        return "safekeep-" + "-".join(str(part) for part in self.key)

    @property
    def personalisation(self) -> dict[str, str]:
        """What a Notify template may use: what the SMTP e-mail says, and its parts."""
        return {
            "subject": self.subject,
            "body": self.body,
            "message": "\n".join(self.lines),
            "link": self.link,
            "reference": self.reference,
        }


# -- Wording -------------------------------------------------------------------------------


def _day(value: dt.date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def _time(value: dt.datetime) -> str:
    """A stored naive UTC time as UK local time in GOV.UK style: 3:15pm on Tuesday 3 June 2025."""
    local = clock.to_uk(value)
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d}{'am' if local.hour < 12 else 'pm'} on {_day(local.date())}"


def _letter(lines: list[str], link: str) -> str:
    # No greeting by name: the message carries nothing personal beyond the link and IDs.
    return (
        "\n".join(
            ["Hello,", "", *lines, "", link, "", "This is an automatic message from Safekeep."]
        )
        + "\n"
    )


def _removal_due(kind: str, row: dict, base_url: str, today: dt.date) -> Due:
    done = "destroyed" if row["due_kind"] == "destroy" else "returned"
    facts = [f"Case-system ID: {row['case_id']}", f"To be {done} by: {_day(row['due_on'])}"]
    if kind == DUE_TOMORROW:
        subject = f"Safekeep: papers to be {done} tomorrow"
        lines = [f"Papers you took out of the office are due to be {done} tomorrow.", "", *facts]
    elif kind == OVERDUE:
        subject = "Safekeep: papers overdue"
        own = row["recipient_id"] == row["holder_id"]
        whose = "you took" if own else "a member of your team took"
        lines = [f"Papers {whose} out of the office are overdue.", "", *facts]
    else:
        days = (today - row["due_on"]).days
        subject = "Safekeep task: confirm where overdue papers are"
        lines = [
            f"Papers a member of your team took out of the office are {days} "
            f"day{'s' if days != 1 else ''} overdue.",
            "Confirm the location of the papers or report them missing.",
            "",
            *facts,
        ]
    return Due(
        kind=kind,
        subject_type="removal",
        subject_id=row["removal_id"],
        recipient_id=row["recipient_id"],
        email=row["email"],
        subject=subject,
        lines=tuple(lines),
        link=f"{base_url}/records/{row['record_id']}",
        reference=row["case_id"],
        round=row["round"],
    )


def _breach_due(row: dict, base_url: str) -> Due:
    deadline = ico_deadline(row["discovered_at"])
    lines = [
        f"The {ICO_HOURS} hours for telling the ICO about a breach case end within a day.",
        "Report it to the ICO before then, or record why it is not reportable.",
        "",
        f"Breach reference: {row['reference']}",
        f"ICO deadline: {_time(deadline)}",
    ]
    return Due(
        kind=ICO_DEADLINE,
        subject_type="breach",
        subject_id=row["breach_id"],
        recipient_id=row["recipient_id"],
        email=row["email"],
        subject=f"Safekeep: ICO deadline within {ICO_WARNING_HOURS} hours ({row['reference']})",
        lines=tuple(lines),
        link=f"{base_url}/breaches/{row['breach_id']}",
        reference=row["reference"],
    )


# What a request is about, in the words of its news (never what it holds).
REQUEST_WORDS = {
    "removal": "to take papers out of the office",
    "agreement": "to work remotely",
}


def _request_due(kind: str, subject_type: str, row: dict, base_url: str) -> Due:
    what = REQUEST_WORDS[subject_type]
    if kind == APPROVAL_NEEDED:
        subject = "Safekeep: a request waits for your decision"
        lines = [f"A request {what} is waiting for your decision."]
    else:
        subject = "Safekeep: your request has been decided"
        lines = [f"Your request {what} has been decided."]
    return Due(
        kind=kind,
        subject_type=subject_type,
        subject_id=row["subject_id"],
        recipient_id=row["recipient_id"],
        email=row["email"],
        subject=subject,
        lines=tuple(lines),
        link=base_url + _link(subject_type, row),
    )


def _link(subject_type: str, row: dict) -> str:
    if subject_type == "removal":
        return f"/records/{row['link_id']}"
    return f"/remote-working/{row['link_id']}"


def _agreement_ending_due(row: dict, base_url: str) -> Due:
    lines = [
        f"Your agreement to work remotely ends on {_day(row['ends_on'])}.",
        "Ask again before then if you still need it.",
    ]
    return Due(
        kind=AGREEMENT_ENDING,
        subject_type="agreement",
        subject_id=row["subject_id"],
        recipient_id=row["recipient_id"],
        email=row["email"],
        subject="Safekeep: your remote working agreement ends soon",
        lines=tuple(lines),
        link=base_url + _link("agreement", row),
    )


# What the ICO is owed and an action, in the words of its reminder (never what was typed).
FOLLOW_THROUGH_WORDS = {
    ICO_ITEM_DUE: ("An answer the ICO is owed", "/ico-items/"),
    ACTION_DUE: ("An action you own to prevent the next breach", "/actions/"),
}
STAGE_WORDS = {
    follow_through.SOON: ("is due on", "due soon"),
    follow_through.TODAY: ("is due today,", "due today"),
    follow_through.OVERDUE: ("was due on", "overdue"),
}


def _follow_through_due(kind: str, row: dict, base_url: str) -> Due:
    what, path = FOLLOW_THROUGH_WORDS[kind]
    when, short = STAGE_WORDS[row["stage"]]
    lines = [
        f"{what} {when} {_day(row['due_on'])}.",
        "Record it on Safekeep once it is done.",
        "",
        f"Breach reference: {row['reference']}",
    ]
    noun = "ICO follow-up" if kind == ICO_ITEM_DUE else "breach action"
    return Due(
        kind=kind,
        subject_type=follow_through.SUBJECT_TYPES[kind],
        subject_id=row["subject_id"],
        recipient_id=row["recipient_id"],
        email=row["email"],
        subject=f"Safekeep: {noun} {short} ({row['reference']})",
        lines=tuple(lines),
        link=f"{base_url}{path}{row['subject_id']}",
        reference=row["reference"],
        round=row["round"],
    )


# -- What is due: one query per kind, reminders already sent or being sent left out in SQL ---


def _removal_rows(kind: str, now: dt.datetime, recipient_is, *conditions) -> list[dict]:
    """Out removals meeting the conditions, one row per (removal, recipient) not yet claimed."""
    Holder = User.alias("holder")
    Recipient = User.alias("recipient")
    claimed = Reminder._key(
        kind, "removal", Removal.id, Recipient.id, Removal.reminder_round
    ) & Reminder._live(now)
    query = (
        Removal.select(
            Removal.id.alias("removal_id"),
            Removal.reminder_round.alias("round"),
            Removal.due_on,
            Removal.due_kind,
            Removal.for_user.alias("holder_id"),
            Record.id.alias("record_id"),
            Record.case_id,
            Recipient.id.alias("recipient_id"),
            Recipient.email,
        )
        .join(Record, on=(Removal.record == Record.id))
        .switch(Removal)
        .join(Holder, on=(Removal.for_user == Holder.id))
        .join(Recipient, on=recipient_is(Holder, Recipient))
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(
            Removal.state == "out",
            Removal.closed_at.is_null(),
            Recipient.active == True,  # noqa: E712
            Reminder.id.is_null(),
            *conditions,
        )
        # One order for every process: racing claims then queue on the same keys in turn.
        .order_by(Removal.id, Recipient.id)
        .dicts()
    )
    return list(query)


def _holder(holder, recipient):
    return recipient.id == holder.id


def _holder_and_manager(holder, recipient):
    return (recipient.id == holder.id) | (recipient.id == holder.line_manager)


def _manager(holder, recipient):
    return recipient.id == holder.line_manager


# The two kinds of request a person asks someone to agree (their rows share the approver
# fields: machines.removal.may_approve), and what their emails link to.
REQUESTS = {"removal": Removal, "agreement": RemoteAgreement}


def _request_rows(
    kind: str, now: dt.datetime, subject_type: str, recipient_is, *conditions
) -> list[dict]:
    """Requests meeting the conditions, one row per (request, active recipient) not claimed."""
    model = REQUESTS[subject_type]
    Recipient = User.alias("recipient")
    claimed = Reminder._key(kind, subject_type, model.id, Recipient.id) & Reminder._live(now)
    link_id = model.record if model is Removal else model.id
    query = (
        model.select(
            model.id.alias("subject_id"),
            link_id.alias("link_id"),
            Recipient.id.alias("recipient_id"),
            Recipient.email,
        )
        .join(Recipient, on=recipient_is(model, Recipient))
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(Recipient.active == True, Reminder.id.is_null(), *conditions)  # noqa: E712
        .order_by(model.id, Recipient.id)
        .dicts()
    )
    return list(query)


def _asked(model, recipient):
    """The people a waiting request asks (machines.removal.approvers_for, by its route)."""
    holding = UserRole.select(UserRole.user)
    team_managers = holding.where(UserRole.role.in_(sorted(roles_that(Can.APPROVE_REMOVALS))))
    seniors = holding.where(UserRole.role.in_(sorted(roles_that(Can.APPROVE_AS_FALLBACK))))
    return (
        (recipient.id != model.for_user)
        & (recipient.id != model.requested_by)
        & (
            ((model.approval_route == OWN_MANAGER) & (recipient.id == model.requester_manager))
            | (
                (model.approval_route == TEAM_MANAGERS)
                & (recipient.team == model.team)
                & recipient.id.in_(team_managers)
            )
            | ((model.approval_route == FALLBACK) & recipient.id.in_(seniors))
        )
    )


def _requester(model, recipient):
    return recipient.id == model.for_user


def _agreement_ending_rows(now: dt.datetime, today: dt.date) -> list[dict]:
    """Agreements in force ending within AGREEMENT_WARNING_DAYS, once each, to the person."""
    Recipient = User.alias("recipient")
    Agreement = RemoteAgreement
    claimed = Reminder._key(
        AGREEMENT_ENDING, "agreement", Agreement.id, Recipient.id
    ) & Reminder._live(now)
    query = (
        Agreement.select(
            Agreement.id.alias("subject_id"),
            Agreement.id.alias("link_id"),
            Agreement.ends_on,
            Recipient.id.alias("recipient_id"),
            Recipient.email,
        )
        .join(Recipient, on=(Recipient.id == Agreement.for_user))
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(
            Agreement.state == "agreed",
            Agreement.ends_on >= today,
            Agreement.ends_on <= today + dt.timedelta(days=AGREEMENT_WARNING_DAYS),
            Recipient.active == True,  # noqa: E712
            Reminder.id.is_null(),
        )
        .order_by(Agreement.id, Recipient.id)
        .dicts()
    )
    return list(query)


def _ico_rows(now: dt.datetime) -> list[dict]:
    """Undecided, possibly reportable breaches whose 72 hours end within the warning
    (never a near miss where no data left the council's control: it has no ICO deadline)."""
    Recipient = User.alias("recipient")
    role_holders = UserRole.select(UserRole.user).where(
        UserRole.role.in_(sorted(roles_that(Can.RECEIVE_ICO_WARNINGS)))
    )
    claimed = Reminder._key(ICO_DEADLINE, "breach", Breach.id, Recipient.id) & Reminder._live(now)
    # deadline = discovered_at + 72h; now < deadline <= now + 24h, as bounds on discovered_at.
    earliest = now - dt.timedelta(hours=ICO_HOURS)
    latest = earliest + dt.timedelta(hours=ICO_WARNING_HOURS)
    query = (
        Breach.select(
            Breach.id.alias("breach_id"),
            Breach.reference,
            Breach.discovered_at,
            Recipient.id.alias("recipient_id"),
            Recipient.email,
        )
        .join(Recipient, on=Recipient.id.in_(role_holders))
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(
            Breach.closed_at.is_null(),
            # Once decided, referral to the ICO (or the reason not to) is on record.
            Breach.state.not_in(("decided", "closed")),
            fn.COALESCE(Breach.ico_referred, False) == False,  # noqa: E712
            fn.COALESCE(Breach.reportable, True) == True,  # noqa: E712
            # A near miss that kept the data in is no personal data breach: no ICO deadline.
            ~((Breach.category == "near_miss") & (Breach.data_left_control == False)),  # noqa: E712
            Breach.discovered_at > earliest,
            Breach.discovered_at <= latest,
            Recipient.active == True,  # noqa: E712
            Reminder.id.is_null(),
        )
        .order_by(Breach.id, Recipient.id)
        .dicts()
    )
    return list(query)


def _announcements(now: dt.datetime, base_url: str) -> list[Due]:
    """Each case reported through Safekeep (its "report" audit event) within ANNOUNCE_WITHIN,
    to each active holder of a role on its notification list who was there when it was
    reported, unless the list already has that role (told in person) or it is claimed."""
    Recipient = User.alias("recipient")
    every_role = sorted(
        {role for category in ("loss", "near_miss") for role in emailed_roles(category)}
    )
    claimed = Reminder._key(BREACH_REPORTED, "breach", Breach.id, Recipient.id) & Reminder._live(
        now
    )
    rows = list(
        Breach.select(
            Breach.id.alias("breach_id"),
            Breach.reference,
            Breach.category,
            UserRole.role,
            Recipient.id.alias("recipient_id"),
            Recipient.email,
        )
        .join(
            AuditEvent,
            on=(AuditEvent.entity_type == "breach")
            & (AuditEvent.entity_id == Breach.id)
            & (AuditEvent.event == "report"),
        )
        .switch(Breach)
        .join(UserRole, on=UserRole.role.in_(every_role))
        .join(Recipient, on=(Recipient.id == UserRole.user))
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(
            AuditEvent.at > now - ANNOUNCE_WITHIN,
            Recipient.active == True,  # noqa: E712
            Recipient.created_at <= Breach.reported_at,
            Reminder.id.is_null(),
        )
        .order_by(Breach.id, Recipient.id, UserRole.role)
        .dicts()
    )
    told: dict[int, set[str]] = {}
    for breach_id, recipient in (
        Notification.select(Notification.breach, Notification.recipient)
        .where(Notification.breach.in_(sorted({r["breach_id"] for r in rows})))
        .tuples()
    ):
        told.setdefault(breach_id, set()).add(recipient)
    roles: dict[tuple[int, int], list[str]] = {}
    first: dict[tuple[int, int], dict] = {}
    for row in rows:
        key = (row["breach_id"], row["recipient_id"])
        wanted = set(emailed_roles(row["category"])) - told.get(row["breach_id"], set())
        if row["role"] in wanted:
            roles.setdefault(key, []).append(row["role"])
            first.setdefault(key, row)
    dues = []
    for key, row in first.items():
        what = "A near miss" if row["category"] == "near_miss" else "A breach"
        lines = [
            f"{what} has been reported in Safekeep. You are on the list of people to be told.",
            "",
            f"Breach reference: {row['reference']}",
        ]
        dues.append(
            Due(
                kind=BREACH_REPORTED,
                subject_type="breach",
                subject_id=row["breach_id"],
                recipient_id=row["recipient_id"],
                email=row["email"],
                subject=f"Safekeep: {what.lower()[2:]} reported ({row['reference']})",
                lines=tuple(lines),
                link=f"{base_url}/breaches/{row['breach_id']}",
                reference=row["reference"],
                roles=tuple(roles[key]),
            )
        )
    return dues


def _line_manager_news(now: dt.datetime, base_url: str) -> list[Due]:
    """A loss or theft reported within ANNOUNCE_WITHIN, to the line manager of the person
    whose papers they were (the procedure passes the details to them), unless the case
    already records them told."""
    Staff, Recipient = User.alias("staff"), User.alias("recipient")
    claimed = Reminder._key(LINE_MANAGER_TOLD, "breach", Breach.id, Recipient.id) & Reminder._live(
        now
    )
    rows = (
        Breach.select(
            Breach.id,
            Breach.reference,
            Breach.category,
            Recipient.id.alias("recipient_id"),
            Recipient.email.alias("email"),
        )
        .join(Staff, on=(Staff.id == fn.COALESCE(Breach.staff_member, Breach.reported_by)))
        .join(Recipient, on=(Recipient.id == Staff.line_manager))
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(
            Breach.category.in_(sorted(POLICE_CATEGORIES)),
            Breach.line_manager_told == False,  # noqa: E712
            Breach.reported_at > now - ANNOUNCE_WITHIN,
            Breach.state != "closed",
            Recipient.active == True,  # noqa: E712
            Reminder.id.is_null(),
        )
        .order_by(Breach.id)
        .dicts()
    )
    dues = []
    for row in rows:
        gone = lost_or_stolen(row["category"])
        lines = [
            f"Papers held by someone you line manage have been reported {gone}.",
            "The council's procedure asks that their line manager is told. The details are "
            "on the breach case.",
            "",
            f"Breach reference: {row['reference']}",
        ]
        dues.append(
            Due(
                kind=LINE_MANAGER_TOLD,
                subject_type="breach",
                subject_id=row["id"],
                recipient_id=row["recipient_id"],
                email=row["email"],
                subject=f"Safekeep: papers reported {gone} ({row['reference']})",
                lines=tuple(lines),
                link=f"{base_url}/breaches/{row['id']}",
                reference=row["reference"],
            )
        )
    return dues


def _police_reminders(now: dt.datetime, base_url: str) -> list[Due]:
    """A loss or theft without a crime reference one working day after its discovery: to the
    reporter and their line manager, once each."""
    Recipient = User.alias("recipient")
    claimed = Reminder._key(POLICE_REFERENCE, "breach", Breach.id, Recipient.id) & Reminder._live(
        now
    )
    rows = (
        Breach.select(Breach, Recipient.id.alias("recipient_id"), Recipient.email.alias("email"))
        .join(
            Recipient,
            on=(Recipient.id == Breach.reported_by) | (Recipient.id == Breach.reporter_manager),
        )
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(
            Breach.category.in_(sorted(POLICE_CATEGORIES)),
            (Breach.police_reference.is_null()) | (Breach.police_reference == ""),
            Breach.state != "closed",
            # A working day is a day at least; the machine's rule decides the rest.
            Breach.discovered_at <= now - dt.timedelta(days=1),
            Recipient.active == True,  # noqa: E712
            Reminder.id.is_null(),
        )
        .order_by(Breach.id, Recipient.id)
        .objects()
    )
    dues = []
    for breach in rows:
        if not police_reminder_due(breach, now):
            continue
        lines = [
            "A loss or theft reported more than a working day ago has no police crime "
            "reference on record.",
            "Add it to the case when the police give it (or say why there is none yet).",
            "",
            f"Breach reference: {breach.reference}",
        ]
        dues.append(
            Due(
                kind=POLICE_REFERENCE,
                subject_type="breach",
                subject_id=breach.id,
                recipient_id=breach.recipient_id,
                email=breach.email,
                subject=f"Safekeep: no crime reference yet ({breach.reference})",
                lines=tuple(lines),
                link=f"{base_url}/breaches/{breach.id}#police",
                reference=breach.reference,
            )
        )
    return dues


def _undelivered_news(now: dt.datetime, base_url: str) -> list[Due]:
    """A message about a breach case raised as undelivered (services/deliveries.py), to the
    next person in the chain: the recipient's line manager, or with none active, each
    Assistant Director (who decides on the case). Never to the recipient themselves."""
    Failed, Recipient = User.alias("failed"), User.alias("recipient")
    assistant_directors = UserRole.select(UserRole.user).where(
        UserRole.role == Role.ASSISTANT_DIRECTOR
    )
    claimed = Reminder._key(
        DELIVERY_FAILED, "delivery", Delivery.id, Recipient.id
    ) & Reminder._live(now)
    Manager = User.alias("manager")
    rows = (
        Delivery.select(
            Delivery.id,
            Breach.id.alias("breach_id"),
            Breach.reference,
            Recipient.id.alias("recipient_id"),
            Recipient.email,
        )
        .join(Breach, on=(Delivery.subject_type == "breach") & (Delivery.subject_id == Breach.id))
        .switch(Delivery)
        .join(Failed, on=(Failed.id == Delivery.recipient))
        .join(
            Manager,
            JOIN.LEFT_OUTER,
            on=(Manager.id == Failed.line_manager) & (Manager.active == True),  # noqa: E712
        )
        .join(
            Recipient,
            on=(Recipient.id == Manager.id)
            | (Manager.id.is_null() & Recipient.id.in_(assistant_directors)),
        )
        .join(Reminder, JOIN.LEFT_OUTER, on=claimed)
        .where(
            Delivery.raised_at > now - ANNOUNCE_WITHIN,
            Delivery.followed_up_at.is_null(),
            Delivery.status != DELIVERED,
            Breach.closed_at.is_null(),
            Recipient.active == True,  # noqa: E712
            Recipient.id != Delivery.recipient,
            Reminder.id.is_null(),
        )
        .order_by(Delivery.id, Recipient.id)
        .dicts()
    )
    dues = []
    for row in rows:
        lines = [
            "An e-mail from Safekeep about a breach case did not reach the person it was for.",
            "They may not know about the case. The case's notification list says who it was: "
            "tell them another way, and record when they were told.",
            "",
            f"Breach reference: {row['reference']}",
        ]
        dues.append(
            Due(
                kind=DELIVERY_FAILED,
                subject_type="delivery",
                subject_id=row["id"],
                recipient_id=row["recipient_id"],
                email=row["email"],
                subject=f"Safekeep: an e-mail about {row['reference']} was not delivered",
                lines=tuple(lines),
                link=f"{base_url}/breaches/{row['breach_id']}#notifications",
                reference=row["reference"],
            )
        )
    return dues


def _training_dues(kind: str, now: dt.datetime, base_url: str) -> list[Due]:
    """Training lapsing within 30 days (to the person), or lapsed (to them and their line
    manager). The round is the training date: training again starts the reminders again."""
    lapsed = kind == TRAINING_LAPSED
    dues = []
    for lapse in lapse_news(now):
        if lapse.lapsed != lapsed:
            continue
        dues.append(_training_due(kind, lapse, lapse.person_id, lapse.email, base_url))
        if lapsed and lapse.manager_id is not None:
            dues.append(_training_due(kind, lapse, lapse.manager_id, lapse.manager_email, base_url))
    if not dues:
        return []
    claimed = set(
        Reminder.select(Reminder.subject_id, Reminder.recipient, Reminder.round)
        .where(
            Reminder.kind == kind,
            Reminder.subject_type == "training",
            Reminder.subject_id.in_(sorted({due.subject_id for due in dues})),
            Reminder._live(now),
        )
        .tuples()
    )
    return [d for d in dues if (d.subject_id, d.recipient_id, d.round) not in claimed]


def _training_due(
    kind: str, lapse: Lapse, recipient_id: int, email: str | None, base_url: str
) -> Due:
    # No name, even to the manager: the home page the link opens says whose it is.
    if recipient_id != lapse.person_id:
        subject = "Safekeep: data protection training lapsed in your team"
        lines = [
            "The data protection training of someone you line-manage lapsed on "
            f"{_day(lapse.lapses_on)}.",
            "They cannot take papers out or send documents until they complete it again.",
            "If papers must go out before then, you can allow one removal from your home page.",
        ]
        link = "/"
    elif kind == TRAINING_LAPSED:
        subject = "Safekeep: your data protection training has lapsed"
        lines = [
            f"Your data protection training lapsed on {_day(lapse.lapses_on)}.",
            "You cannot take papers out or send documents until you complete it again.",
            "If papers must go out before then, ask your line manager.",
        ]
        link = "/account"
    else:
        subject = "Safekeep: your data protection training lapses soon"
        lines = [
            f"Your data protection training lapses on {_day(lapse.lapses_on)}.",
            "Complete it again before then to keep taking papers out and sending documents.",
        ]
        link = "/account"
    return Due(
        kind=kind,
        subject_type="training",
        subject_id=lapse.person_id,
        recipient_id=recipient_id,
        email=email,
        subject=subject,
        lines=tuple(lines),
        link=base_url + link,
        round=lapse.trained_on.toordinal(),
    )


def due_reminders(kind: str, now: dt.datetime, base_url: str, confirm_after_days: int) -> list[Due]:
    """Every reminder of this kind that should go and is not sent or being sent."""
    today = clock.to_uk(now).date()
    if kind in (TRAINING_LAPSING, TRAINING_LAPSED):
        return _training_dues(kind, now, base_url)
    if kind == DELIVERY_FAILED:
        return _undelivered_news(now, base_url)
    if kind == BREACH_REPORTED:
        return _announcements(now, base_url)
    if kind == LINE_MANAGER_TOLD:
        return _line_manager_news(now, base_url)
    if kind == POLICE_REFERENCE:
        return _police_reminders(now, base_url)
    if kind == ICO_DEADLINE:
        return [_breach_due(row, base_url) for row in _ico_rows(now)]
    if kind in (ICO_ITEM_DUE, ACTION_DUE):
        return [
            _follow_through_due(kind, row, base_url)
            for row in follow_through.due_rows(kind, now, today)
        ]
    if kind == APPROVAL_NEEDED:
        waiting = {"removal": "requested", "agreement": "asked"}
        return [
            _request_due(kind, subject_type, row, base_url)
            for subject_type, model in REQUESTS.items()
            for row in _request_rows(
                kind, now, subject_type, _asked, model.state == waiting[subject_type]
            )
        ]
    if kind == DECIDED:
        return [
            _request_due(kind, subject_type, row, base_url)
            for subject_type, model in REQUESTS.items()
            for row in _request_rows(
                kind,
                now,
                subject_type,
                _requester,
                model.decided_by.is_null(False),
                model.decided_at > now - DECISION_NEWS,
            )
        ]
    if kind == AGREEMENT_ENDING:
        return [_agreement_ending_due(row, base_url) for row in _agreement_ending_rows(now, today)]
    if kind == DUE_TOMORROW:
        rows = _removal_rows(kind, now, _holder, Removal.due_on == today + dt.timedelta(days=1))
    elif kind == OVERDUE:
        rows = _removal_rows(kind, now, _holder_and_manager, ladder_start() < today)
    elif kind == CONFIRM_LOCATION:
        cutoff = confirm_location_cutoff(today, confirm_after_days)
        rows = _removal_rows(kind, now, _manager, ladder_start() <= cutoff)
    else:
        raise ValueError(f"Unknown reminder kind: {kind}")
    return [_removal_due(kind, row, base_url, today) for row in rows]


# -- Sending -------------------------------------------------------------------------------


def send_reminders(
    now: dt.datetime, mailer: Mailer, base_url: str, confirm_after_days: int = CONFIRM_AFTER_DAYS
) -> dict[str, int]:
    """Claim and send every reminder now due; return how many of each kind went, and failures.

    Safe to run on several servers at once: each reminder is claimed by one insert, and only
    the process whose insert created the row sends it. Run outside a transaction: each claim
    must be committed (visible to the other runs) before its email goes.

    Raises MailerUnavailable when the mail server (or GOV.UK Notify) cannot be used; the
    reminder being sent then is given back, and it and the rest go on a later run. A message
    refused MAX_ATTEMPTS times is given up and, about a breach case, raised to people.
    """
    confirm_location_cutoff(now.date(), confirm_after_days)  # a bad setting fails before any send
    # Messages to the breach chain silent past the hour are raised here too (not only by
    # poll-notify), so their follow-up goes in this run, whether or not the poll runs.
    deliveries.raise_overdue(now)
    base_url = base_url.rstrip("/")
    counts = dict.fromkeys(KINDS, 0) | {"skipped_no_email": 0, "failed": 0, "given_up": 0}
    channel = getattr(mailer, "channel", "smtp")
    for kind in KINDS:
        for due in due_reminders(kind, now, base_url, confirm_after_days):
            email = (due.email or "").strip()
            if not email:
                counts["skipped_no_email"] += 1
                continue
            if not Reminder.claim(due.key, now):
                continue  # another run has it
            try:
                receipt = mailer.deliver(email, due.kind, due.personalisation, due.client_reference)
            except MessageRefused as error:
                counts["failed"] += 1
                log.warning(
                    "Reminder %s to user %s about %s %s not sent: %s",
                    due.kind,
                    due.recipient_id,
                    due.subject_type,
                    due.subject_id,
                    error,
                )
                if deliveries.record_refused(due.key, channel, now):
                    # Given up: the claim stays, so no later run sends it again.
                    Reminder.mark_sent(due.key, now)
                    counts["given_up"] += 1
                else:
                    Reminder.release(due.key)
                continue
            except BaseException:
                # MailerUnavailable, or anything unexpected: never leave a claim unsent.
                Reminder.release(due.key)
                raise
            _sent(due, receipt, now)
            counts[kind] += 1
    return counts


def _sent(due: Due, receipt: Receipt, now: dt.datetime) -> None:
    """Mark the message sent, with its Delivery row; news of a case goes on its
    notification list with it."""
    for attempt in (1, 2):
        try:
            with write_transaction():
                Reminder.mark_sent(due.key, now)
                delivery = deliveries.record_sent(due.key, receipt, now)
                if due.kind not in (BREACH_REPORTED, LINE_MANAGER_TOLD):
                    return
                breach = Breach.get_by_id(due.subject_id)
                recipient = User.get_by_id(due.recipient_id)
                if due.kind == LINE_MANAGER_TOLD:
                    breach.record_line_manager_emailed(recipient, now, delivery)
                else:
                    breach.record_emailed(recipient, list(due.roles), now, delivery)
            return
        except Stale:
            # Someone saved the case between the read and the write (PostgreSQL): read again.
            if attempt == 2:
                raise


def summary(counts: dict[str, int]) -> str:
    """One line for the cron log: how many of each kind went, and what did not."""
    parts = [f"{counts[kind]} {KIND_LABELS[kind]}" for kind in KINDS]
    line = f"Reminders sent: {', '.join(parts)}."
    if counts["failed"]:
        retried = counts["failed"] - counts.get("given_up", 0)
        if retried:
            line += f" {retried} refused by the mail server, to retry next run."
        if counts.get("given_up"):
            line += f" {counts['given_up']} refused {deliveries.MAX_ATTEMPTS} times: given up."
    if counts["skipped_no_email"]:
        line += f" {counts['skipped_no_email']} not sent: no email address."
    return line
