"""Breach journeys over HTTP: the cast, reporting, and walking a case through its steps."""

from __future__ import annotations

import datetime as dt

from machines import clock
from machines.breach_report import required_recipients
from models.audit import AuditEvent
from models.breaches import Breach
from tests.http.journeys import ago, date_fields, typed

CHAIN = {
    "dir": "director",
    "ad": "assistant_director",
    "cg": "caldicott_guardian",
    "irm": "records_manager",
    "bim": "business_improvement",
    "gov": "governance",
    "dpo": "dpo",
}
EVENTS = (
    "notify",
    "refer_to_ico",
    "assess_risk",
    "record_meeting",
    "inform_service_user",
    "record_exemption",
    "skip_informing",
    "caldicott_agree",
    "decide",
    "close",
)


def breach_staff(people):
    """Pat and Sam report to Lina (Children North); Alex to Mo (Adults East); one person for
    each role of the breach chain (team "Directorate")."""
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    alex = people.add("alex", "practitioner", team="Adults East", manager=mo)
    users = {"lina": lina, "pat": pat, "sam": sam, "mo": mo, "alex": alex}
    for username, role in CHAIN.items():
        users[username] = people.add(username, role, team="Directorate")
    return users


def report(web, category="unauthorised_disclosure", discovered_hours_ago=1, **extra):
    web.get("/breaches/new")
    data = {
        "category": category,
        "what_happened": "Assessment emailed to a colleague outside the team by mistake",
        "happened_at": ago(hours=discovered_hours_ago + 1),
        "discovered_at": ago(hours=discovered_hours_ago),
        "data_categories": ["basic_identifiers", "health"],
        "people_affected": "3",
        "records_affected": "2",
        "children_or_vulnerable": "yes",
        **extra,
    }
    return web.post("/breaches/new", typed(data))


def latest() -> Breach:
    return Breach.select().order_by(Breach.id.desc()).get()


def fresh(breach) -> Breach:
    return Breach.get_by_id(breach.id)


def send(web, breach, event, htmx=False, **data):
    data.setdefault("version", Breach.get_by_id(breach.id).version)
    return web.post(f"/breaches/{breach.id}/{event}", typed(data), htmx=htmx)


def ico_summary(web, breach, **data):
    """Post the summary for the ICO from its draft page (the Information and Records
    Manager's), confirmed free of personal data unless the test says otherwise."""
    data.setdefault("version", fresh(breach).version)
    data.setdefault("ico_summary", "Assessment papers left on a train; not recovered")
    data.setdefault("no_personal_data", "yes")
    return web.post(f"/breaches/{breach.id}/ico-draft", data)


def police(web, breach, **data):
    """Post the police details (only the fields given, so tests can leave one out)."""
    data.setdefault("version", fresh(breach).version)
    return web.post(f"/breaches/{breach.id}/police", typed(data))


def police_done(reference="CR/1/26") -> dict:
    """Police details that complete the rule: a crime reference, when, and the manager told."""
    return {
        "police_reference": reference,
        "police_told_at": ago(minutes=30),
        "line_manager_told": "yes",
    }


def audit_count(breach) -> int:
    return (
        AuditEvent.select()
        .where(AuditEvent.entity_type == "breach", AuditEvent.entity_id == breach.id)
        .count()
    )


def audit_events(breach) -> list[str]:
    return [
        e.event
        for e in AuditEvent.select()
        .where(AuditEvent.entity_type == "breach", AuditEvent.entity_id == breach.id)
        .order_by(AuditEvent.id)
    ]


def notify_data(breach, minutes_ago=5) -> dict:
    data = {}
    for key, label in required_recipients(breach.category):
        data[f"{key}_who"] = f"{label} on duty"
        data[f"{key}_at"] = ago(minutes=minutes_ago)
    return {**data, "media_advised": "no", "media_reason": "No risk to the council's reputation"}


ASSESS = {
    "likelihood": "3",
    "severity": "3",
    "likely_outcomes": "Distress to the family",
    "actions_taken": "Recipient asked to delete the email and confirmed it",
    "reportable_override": "grid",
    "reportable_reason": "The email was opened by someone outside the team",
}


def meeting_data(day: dt.date | None = None) -> dict:
    return date_fields("informed_in_person_on", day or clock.uk_today())


def letter_data(day: dt.date | None = None) -> dict:
    return date_fields("informed_in_writing_on", day or clock.uk_today())


def refer_data(**extra) -> dict:
    return {
        "ico_referred_at": ago(minutes=2),
        "ico_reference": "IC-123456-A1B2",
        "ico_told_by": "Dpo Tester",
        **extra,
    }


AGREE = {"caldicott_advice": "No investigation; the team's training is enough", "agreed": "yes"}


def decide_data(**extra) -> dict:
    return {
        "disciplinary": "no",
        "staff_member": "no_one",
        "refer_to_regulator": "no",
        **extra,
    }


CLOSE = {"report_complete": "yes", "lessons_learned": "Check the address before sending"}


def outcome_data(**extra) -> dict:
    """The ICO's outcome, as the Information and Records Manager records it (today)."""
    return {
        "ico_outcome": "advice",
        **date_fields("ico_outcome_on", clock.uk_today()),
        "ico_outcome_note": "Advice on checking addresses before sending",
        **extra,
    }


# (event, who sends it, the form) in lifecycle order.
STEPS = (
    ("notify", "pat", notify_data),
    ("assess_risk", "lina", lambda b: ASSESS),
    ("refer_to_ico", "dpo", lambda b: refer_data()),
    ("record_meeting", "pat", lambda b: meeting_data()),
    ("inform_service_user", "pat", lambda b: letter_data()),
    ("caldicott_agree", "cg", lambda b: AGREE),
    ("decide", "ad", lambda b: decide_data()),
    ("record_ico_outcome", "irm", lambda b: outcome_data()),
    ("close", "irm", lambda b: CLOSE),
)
STATE_AFTER = {
    "notify": "notified",
    "assess_risk": "risk_assessed",
    "refer_to_ico": "risk_assessed",
    "record_meeting": "risk_assessed",
    "inform_service_user": "service_user_informed",
    "caldicott_agree": "service_user_informed",
    "decide": "decided",
    "record_ico_outcome": "decided",
    "close": "closed",
}


STATE_BEFORE = {
    "notify": "reported",
    "assess_risk": "notified",
    "refer_to_ico": "risk_assessed",
    "record_meeting": "risk_assessed",
    "inform_service_user": "risk_assessed",
    "caldicott_agree": "service_user_informed",
    "decide": "service_user_informed",
    "record_ico_outcome": "decided",
    "close": "decided",
}


def _done(event: str, breach: Breach) -> bool:
    """An in-state step the case has had already."""
    return {
        "refer_to_ico": bool(breach.ico_referred),
        "record_meeting": breach.informed_in_person_on is not None,
        "caldicott_agree": breach.caldicott_agreed_at is not None,
        # Only a referred case has an outcome to record (and closes once it has).
        "record_ico_outcome": bool(breach.ico_outcome) or not breach.ico_referred,
    }.get(event, False)


def walk(cast, breach, to: str, reporter: str = "pat", skip=()) -> Breach:
    """Move the case on, step by step, until it is in state `to` (the in-state steps of that
    state not taken: a walk to "service_user_informed" stops before the Caldicott Guardian's
    agreement). `skip` leaves steps out (an ICO referral, say)."""
    for event, who, form in STEPS:
        now = fresh(breach)
        if now.state == to:
            break
        if event in skip or STATE_BEFORE[event] != now.state or _done(event, now):
            continue
        who = reporter if who == "pat" else who
        response = send(cast[who], breach, event, **form(fresh(breach)))
        assert response.status_code == 303, (event, response.get_data(as_text=True)[:3000])
    assert fresh(breach).state == to
    return fresh(breach)


def page(web, breach) -> str:
    return web.get(f"/breaches/{breach.id}").get_data(as_text=True)


def has_form(html: str, breach, event: str) -> bool:
    return f'action="/breaches/{breach.id}/{event}"' in html
