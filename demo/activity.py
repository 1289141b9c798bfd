"""A few days of activity for the demo council, so `make run` opens on a working office.

Every change goes through the machines (`apply_transition`), so the demo's audit trail is
a real hash chain and `flask --app app audit-verify` passes on it. Case-system IDs are made
up; there are no names or addresses of service users, as in real use.
"""

from __future__ import annotations

import datetime as dt

from demo.follow_through import seed_follow_through
from machines import clock
from machines.breach import breach_machine
from machines.breach_report import required_recipients
from machines.breach_rules import NO_ONE
from machines.remote_working import remote_working_machine
from machines.removal import removal_machine
from machines.risk import default_grid
from models.audit import AuditEvent
from models.base import write_transaction
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import User
from models.records import Record, Removal, approvers_of
from models.remote_working import RemoteAgreement
from models.transitions import apply_transition

SAFEGUARDS = {
    "lockable_bag": True,
    "laptop_protected": True,
    "no_usb_stick": True,
    "notebook_secure": True,
}


def _record(case_id: str, description: str, by: User, at: dt.datetime) -> Record:
    with write_transaction():
        record = Record.create(
            case_id=case_id,
            description=description,
            team=by.team_id,
            created_by=by,
            created_at=at,
        )
        AuditEvent.append(
            at=at,
            actor_id=by.id,
            entity_type="record",
            entity_id=record.id,
            event="add_record",
            summary={"case_id": case_id},
        )
    return record


def _removal(
    record: Record,
    holder: User,
    purpose: str,
    due_in_days: int,
    at: dt.datetime,
    papers: str,
    purpose_other: str | None = None,
) -> Removal:
    today = clock.to_uk(at).date()  # the day it was asked for
    route = approvers_of(holder, record.team_id)[0].route

    def create() -> Removal:
        return Removal.create(
            record=record,
            team=record.team_id,
            for_user=holder.id,
            requested_by=holder.id,
            requester_manager=holder.line_manager_id,
            approval_route=route,
            purpose=purpose,
            purpose_other=purpose_other,
            papers=papers,
            due_kind="return",
            due_on=today + dt.timedelta(days=due_in_days),
        )

    return _send(
        create,
        removal_machine,
        "request",
        holder,
        "removal",
        at,
        summary={"purpose": purpose, "papers": papers},
    )


def _send(load, factory, event, actor: User, entity: str, at, values=None, summary=None):
    return apply_transition(
        load=load,
        factory=factory,
        event=event,
        actor=actor.as_actor(),
        entity_type=entity,
        now=at,
        values=values or {},
        summary=summary or {},
        expected_version=None,
    )


def seed_demo_activity() -> None:
    """Records, removals in each state, a dispatch waiting for its check, two breach cases."""
    people = {u.username: u for u in User.select()}
    pat, sam, mo = people["pat"], people["sam"], people["mo"]
    now = clock.now()
    days_ago = lambda n: now - dt.timedelta(days=n)  # noqa: E731 - reads better inline

    bundle = _record("1000451", "Court bundle, care proceedings", pat, days_ago(9))
    visit = _record("1000452", "Home visit notes, 2026", pat, days_ago(9))
    review = _record("1000453", "Looked-after child review papers", sam, days_ago(8))
    _record("1000454", "Assessment and chronology", sam, days_ago(8))
    _record("2000871", "Care Act assessment", mo, days_ago(7))

    # Overdue: taken to court a week ago, due back three days ago.
    out = _removal(bundle, pat, "court", 4, days_ago(7), "Court bundle volumes 1–2")
    _send(
        lambda: Removal.get_by_id(out.id),
        removal_machine,
        "take_out",
        pat,
        "removal",
        days_ago(7),
        SAFEGUARDS,
        {"safeguards": "all four attested"},
    )

    # Waiting for Lina: working at home needs the line manager's agreement.
    _removal(
        visit,
        pat,
        "other",
        2,
        days_ago(1),
        "Visit notes and chronology",
        purpose_other="Writing up the assessment at home",
    )

    # Sam took papers to a looked-after child review yesterday; they are due back tomorrow.
    review_removal = _removal(
        review, sam, "professional_meeting", 2, days_ago(1), "Review report and care plan"
    )
    _send(
        lambda: Removal.get_by_id(review_removal.id),
        removal_machine,
        "take_out",
        sam,
        "removal",
        days_ago(1),
        SAFEGUARDS,
        {"safeguards": "all four attested"},
    )

    # Sam works from home on a court report this week, agreed by Lina.
    _remote_agreement(sam, people["lina"], "Home", "Court report for the final hearing", 4, now)

    # A dispatch Pat drafted, waiting for a colleague's check.
    with write_transaction():
        dispatch = Dispatch.create(
            team=pat.team_id,
            case_id="1000451",
            description="Parenting assessment for court",
            method="secure_email",
            recipient_organisation="Cafcass",
            recipient_role="Children's guardian",
            address="guardian@cafcass.example.org",
            drafted_by=pat.id,
            drafted_at=days_ago(0),
        )
        AuditEvent.append(
            at=days_ago(0),
            actor_id=pat.id,
            entity_type="dispatch",
            entity_id=dispatch.id,
            event="draft",
            target="drafted",
            entity_version=dispatch.version,
            summary={"method": "secure_email"},
        )

    _demo_breaches(people, now)


def _told_everyone(category: str, at: dt.datetime) -> dict:
    return {
        key: {"who": f"Duty {label.lower()}", "at": at}
        for key, label in required_recipients(category)
    }


def _demo_breaches(people: dict[str, User], now: dt.datetime) -> None:
    """An open case with the ICO clock running and a near miss from last month, closed."""
    sam, pat, lina = people["sam"], people["pat"], people["lina"]
    ash, rita, cal = people["ash"], people["rita"], people["cal"]
    hours_ago = lambda n: now - dt.timedelta(hours=n)  # noqa: E731

    # A letter went to the wrong address 30 hours ago: notified, waiting for its risk assessment.
    with write_transaction():
        letter = Breach.open_case(
            {
                "what_happened": "A review letter was posted to a previous address held on the"
                " case record.",
                "happened_at": hours_ago(50),
                "discovered_at": hours_ago(30),
                "category": "wrong_recipient",
                "data_categories": ["basic_identifiers", "health"],
                "people_affected": 1,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": True,
                "data_left_control": True,
            },
            sam,
            hours_ago(29),
            case_id="1000453",
        )
    _breach_step(
        letter,
        "notify",
        sam,
        hours_ago(26),
        {
            "notifications": _told_everyone("wrong_recipient", hours_ago(27)),
            "media_advised": False,
            "media_reason": "One letter to one household; no press interest expected.",
        },
    )

    # Last month: a bundle was left on a printer and collected within minutes. Nothing left.
    month_ago = lambda days: now - dt.timedelta(days=days)  # noqa: E731
    with write_transaction():
        near = Breach.open_case(
            {
                "what_happened": "A court bundle was left on the office printer and found by a"
                " colleague in the same team a few minutes later.",
                "happened_at": month_ago(30),
                "discovered_at": month_ago(30),
                "category": "near_miss",
                "data_categories": ["basic_identifiers"],
                "people_affected": 1,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": False,
                "data_left_control": False,
            },
            pat,
            month_ago(30),
            case_id="1000451",
        )
    _breach_step(
        near,
        "notify",
        pat,
        month_ago(29),
        {
            "notifications": _told_everyone("near_miss", month_ago(29)),
            "media_advised": False,
            "media_reason": "Nothing left the office.",
        },
    )
    _breach_step(
        near,
        "assess_risk",
        lina,
        month_ago(28),
        {
            "likelihood": 1,
            "severity": 2,
            "likely_outcomes": "None: the papers stayed in the team.",
            "actions_taken": "Team reminded to use secure print release.",
            "reportable_override": None,
            "reportable_reason": "Found by a colleague within minutes: no one outside saw it.",
            "grid": default_grid(),
        },
    )
    _breach_step(
        near,
        "skip_informing",
        lina,
        month_ago(28),
        {
            "skip_reason": "The papers never left the team's control.",
        },
    )
    _breach_step(
        near,
        "caldicott_agree",
        cal,
        month_ago(26),
        {
            "caldicott_advice": "No referral or investigation: a team reminder is enough.",
            "agreed": True,
        },
    )
    _breach_step(
        near,
        "decide",
        ash,
        month_ago(25),
        {
            "legal_advice": False,
            "disciplinary": False,
            "not_referred_reason": "",
            "staff_member": NO_ONE,
            "refer_to_regulator": False,
        },
    )
    _breach_step(
        near,
        "close",
        rita,
        month_ago(24),
        {
            "report_complete": True,
            "lessons_learned": "Secure print release switched on for the team's printer.",
        },
    )
    seed_follow_through(people, now, _send, _breach_step, _told_everyone)


def _remote_agreement(
    person: User, approver: User, where: str, why: str, days: int, at: dt.datetime
) -> None:
    route = approvers_of(person, person.team_id)[0].route

    def create() -> RemoteAgreement:
        return RemoteAgreement.create(
            team=person.team_id,
            for_user=person.id,
            requested_by=person.id,
            requester_manager=person.line_manager_id,
            approval_route=route,
        )

    ends_on = clock.to_uk(at).date() + dt.timedelta(days=days)
    agreement = _send(
        create,
        remote_working_machine,
        "ask",
        person,
        "remote_agreement",
        at,
        {"where": where, "why": why, "ends_on": ends_on},
        {"where": where, "ends_on": ends_on.isoformat()},
    )
    _send(
        lambda: RemoteAgreement.get_by_id(agreement.id),
        remote_working_machine,
        "agree",
        approver,
        "remote_agreement",
        at,
    )


def _breach_step(breach: Breach, event: str, actor: User, at: dt.datetime, values: dict):
    # The timeline shows what the pages would have recorded (views/breaches.py's summaries).
    summary = {k: v for k, v in values.items() if k != "grid" and not isinstance(v, dict)}
    if "notifications" in values:
        summary = {
            "told": ", ".join(sorted(values["notifications"])),
            "media_advised": "yes" if values["media_advised"] else "no",
        }
    _send(
        lambda: Breach.get_by_id(breach.id),
        breach_machine,
        event,
        actor,
        "breach",
        at,
        values,
        summary,
    )
