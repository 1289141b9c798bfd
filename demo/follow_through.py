"""The demo's follow-through after a breach decision (issue 26 items 2 and 3): one case
referred to the ICO with its follow-up report due and an action open, and one closed with
the ICO's outcome, its question answered and its action done.

Through the machines like the rest of the demo, so audit-verify passes on it.
"""

from __future__ import annotations

import datetime as dt

from machines import clock
from machines.breach_action import Person, breach_action_machine
from machines.breach_rules import NO_ONE
from machines.ico_follow_up import ico_item_machine
from machines.risk import default_grid
from models.base import write_transaction
from models.breaches import Breach
from models.follow_through import BreachAction, IcoItem
from models.people import User


def seed_follow_through(people: dict[str, User], now: dt.datetime, send, step, told) -> None:
    """`send`, `step` and `told` are demo.activity's helpers (a transition, a breach step,
    the notification list)."""
    ash, rita, dpo = people["ash"], people["rita"], people["dpo"]
    lina, pat = people["lina"], people["pat"]
    days_ago = lambda n: now - dt.timedelta(days=n)  # noqa: E731

    # Three weeks ago a referral to the ICO; the follow-up report is due in five days and
    # the team's new lockable bags are on order.
    open_case = _referred_case(people, "1000455", days_ago(21), "IC-204518-K7Q2", step, told)
    item = _item(
        open_case,
        rita,
        days_ago(12),
        send,
        kind="follow_up_report",
        asked="Whether the papers were opened before they were handed in.",
        due_on=_day(now) + dt.timedelta(days=5),
    )
    assert item.state == "open"
    _action(
        open_case,
        ash,
        days_ago(12),
        send,
        category="equipment",
        description="Lockable bags for every practitioner in Children North",
        owner=lina,
        due_on=_day(now) + dt.timedelta(days=14),
    )

    # Last quarter: referred, the ICO asked a question, the council answered, the ICO gave
    # advice; the retraining was done and the case closed.
    closed = _referred_case(people, "1000456", days_ago(80), "IC-198320-B4M9", step, told)
    question = _item(
        closed,
        dpo,
        days_ago(70),
        send,
        kind="question",
        asked="How many of the people affected are children?",
        received_on=_day(days_ago(71)),
        due_on=_day(days_ago(60)),
    )
    send(
        lambda: IcoItem.get_by_id(question.id),
        ico_item_machine,
        "answer",
        dpo,
        "ico_item",
        days_ago(62),
        {
            "answer": "One child; the papers were recovered unread.",
            "answered_on": _day(days_ago(62)),
        },
        {"answered_on": _day(days_ago(62)).isoformat()},
    )
    action = _action(
        closed,
        ash,
        days_ago(70),
        send,
        category="training",
        description="Data protection refresher for the Children North team",
        owner=pat,
        due_on=_day(days_ago(40)),
    )
    send(
        lambda: BreachAction.get_by_id(action.id),
        breach_action_machine,
        "complete",
        pat,
        "breach_action",
        days_ago(45),
        {"evidence": "Refresher held on the team day; attendance sheet filed."},
    )
    step(
        closed,
        "record_ico_outcome",
        rita,
        days_ago(30),
        {
            "ico_outcome": "advice",
            "ico_outcome_on": _day(days_ago(31)),
            "ico_outcome_note": "Advice to check that every bag used for papers locks.",
        },
    )
    step(
        closed,
        "close",
        rita,
        days_ago(28),
        {
            "report_complete": True,
            "lessons_learned": "Lockable bags checked at every take-out; team retrained.",
        },
    )


def _day(at: dt.datetime) -> dt.date:
    return clock.to_uk(at).date()


def _referred_case(people, case_id: str, discovered: dt.datetime, reference, step, told):
    """A bag left on a bus, found and handed in: reported, referred within a day, decided."""
    pat, lina, cal, ash, rita = (people[n] for n in ("pat", "lina", "cal", "ash", "rita"))
    later = lambda hours: discovered + dt.timedelta(hours=hours)  # noqa: E731
    with write_transaction():
        case = Breach.open_case(
            {
                "what_happened": "A bag of case papers was left on a bus and handed in to the"
                " depot the next day.",
                "happened_at": discovered - dt.timedelta(hours=2),
                "discovered_at": discovered,
                "category": "wrong_recipient",
                "data_categories": ["basic_identifiers", "health"],
                "people_affected": 1,
                "records_affected": 1,
                "children_or_vulnerable": True,
                "special_category": True,
                "data_left_control": True,
            },
            pat,
            later(1),
            case_id=case_id,
        )
    step(
        case,
        "notify",
        pat,
        later(3),
        {
            "notifications": told("wrong_recipient", later(2)),
            "media_advised": False,
            "media_reason": "One bag, recovered; no press interest expected.",
        },
    )
    step(
        case,
        "assess_risk",
        lina,
        later(6),
        {
            "likelihood": 3,
            "severity": 3,
            "likely_outcomes": "Distress if the papers were read.",
            "actions_taken": "Bag recovered from the depot the next day.",
            "reportable_override": None,
            "reportable_reason": "Out of the council's control overnight.",
            "grid": default_grid(),
        },
    )
    step(
        case,
        "refer_to_ico",
        rita,
        later(20),
        {
            "ico_referred_at": later(19),
            "ico_reference": reference,
            "ico_told_by": "Rita, Information and Records Manager",
            "delay_reason": "",
        },
    )
    step(case, "record_meeting", lina, later(30), {"informed_in_person_on": _day(later(26))})
    step(case, "inform_service_user", lina, later(50), {"informed_in_writing_on": _day(later(48))})
    step(
        case,
        "caldicott_agree",
        cal,
        later(70),
        {"caldicott_advice": "No investigation: retrain the team.", "agreed": True},
    )
    step(
        case,
        "decide",
        ash,
        later(80),
        {
            "legal_advice": False,
            "disciplinary": False,
            "not_referred_reason": "",
            "staff_member": NO_ONE,
            "refer_to_regulator": False,
        },
    )
    return Breach.get_by_id(case.id)


def _item(case: Breach, who: User, at: dt.datetime, send, **values) -> IcoItem:
    def created() -> IcoItem:
        item = IcoItem(breach=case)
        item.save(force_insert=True)
        return item

    summary = {"kind": values["kind"], "due_on": values["due_on"].isoformat()}
    return send(created, ico_item_machine, "record", who, "ico_item", at, values, summary)


def _action(case: Breach, who: User, at: dt.datetime, send, owner: User, **values):
    def created() -> BreachAction:
        action = BreachAction(breach=case)
        action.save(force_insert=True)
        return action

    values["owner"] = Person(owner.id, owner.display_name)
    summary = {
        "category": values["category"],
        "owner": owner.display_name,
        "due_on": values["due_on"].isoformat(),
    }
    return send(created, breach_action_machine, "add", who, "breach_action", at, values, summary)
