"""After the referral and the decision (issue 26 items 2 and 3): what the ICO is owed, its
outcome, and the actions that prevent the next breach, each rule as a person meets it."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from machines import clock
from models.audit import AuditEvent
from models.breaches import Breach
from models.follow_through import BreachAction, IcoItem
from models.people import User
from services.lessons import Quarter
from tests import invariants
from tests.http.journeys import Cast, Page, date_fields, days_from_today, typed
from tests.http.journeys.accounts import person_form, work_seen
from tests.http.journeys.breaches import (
    AGREE,
    CLOSE,
    breach_staff,
    decide_data,
    fresh,
    has_form,
    latest,
    outcome_data,
    page,
    refer_data,
    report,
    send,
    walk,
)


@pytest.fixture
def staff(people):
    return breach_staff(people)


@pytest.fixture
def cast(new_web, staff):
    return Cast(new_web)


def decided_case(cast, referred: bool = True) -> Breach:
    """A case reported by Pat, walked to the decision (referred to the ICO unless not)."""
    report(cast["pat"])
    if referred:
        return walk(cast, latest(), "decided")
    breach = walk(cast, latest(), "service_user_informed", skip=("refer_to_ico",))
    assert send(cast["cg"], breach, "caldicott_agree", **AGREE).status_code == 303
    reason = "Contained within the hour: the recipient deleted it"
    decided = send(cast["ad"], breach, "decide", **decide_data(not_referred_reason=reason))
    assert decided.status_code == 303
    return fresh(breach)


def text(web, url: str) -> str:
    """A page's words, as a person reads them."""
    return Page.of(web.get(url)).text


def question(**extra) -> dict:
    return {
        "kind": "question",
        "asked": "How many of the people affected are children?",
        **date_fields("received_on", clock.uk_today()),
        **days_from_today("due_on", 14),
        **extra,
    }


def add_item(web, breach, **data) -> object:
    return web.post(f"/breaches/{breach.id}/ico/new", typed(data or question()))


def action_data(owner, **extra) -> dict:
    return {
        "category": "equipment",
        "description": "Lockable bags for the Children North team",
        "owner": str(owner.id),
        **days_from_today("due_on", 30),
        **extra,
    }


def add_action(web, breach, owner, **extra):
    return web.post(f"/breaches/{breach.id}/actions/new", typed(action_data(owner, **extra)))


def item_send(web, item, event, **data):
    data.setdefault("version", IcoItem.get_by_id(item.id).version)
    return web.post(f"/ico-items/{item.id}/{event}", typed(data))


def action_send(web, action, event, **data):
    data.setdefault("version", BreachAction.get_by_id(action.id).version)
    return web.post(f"/actions/{action.id}/{event}", typed(data))


def answer_data(**extra) -> dict:
    return {
        "answer": "Two of the three people affected are children",
        **date_fields("answered_on", clock.uk_today()),
        **extra,
    }


def events_of(entity_type: str, row_id: int) -> list[str]:
    return [
        e.event
        for e in AuditEvent.select()
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == row_id)
        .order_by(AuditEvent.id)
    ]


# -- the ICO's case reference ------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "error"),
    [
        ("ICO 1", "Enter the ICO case reference in the correct format, like IC-123456-A1B2"),
        ("IC-" + "1" * 70, "ICO case reference must be 60 characters or fewer"),
    ],
)
def test_the_ico_reference_is_refused_in_the_wrong_format_and_nothing_is_saved(
    cast, reference, error
):
    report(cast["pat"])
    breach = walk(cast, latest(), "risk_assessed", skip=("refer_to_ico",))
    response = send(cast["dpo"], breach, "refer_to_ico", **refer_data(ico_reference=reference))
    assert response.status_code == 422
    assert error in Page.of(response).errors
    assert not fresh(breach).ico_referred


def test_the_ico_reference_is_stored_in_capitals(cast):
    report(cast["pat"])
    breach = walk(cast, latest(), "risk_assessed", skip=("refer_to_ico",))
    send(cast["dpo"], breach, "refer_to_ico", **refer_data(ico_reference=" ic-123456-a1b2 "))
    assert fresh(breach).ico_reference == "IC-123456-A1B2"


# -- the ICO's follow-through --------------------------------------------------------------


def test_a_question_from_the_ico_is_recorded_answered_and_audited(cast):
    breach = decided_case(cast)
    response = add_item(cast["irm"], breach)
    assert response.status_code == 303
    item = IcoItem.get(IcoItem.breach == breach.id)
    assert (item.state, item.kind, item.due_on) == (
        "open",
        "question",
        clock.uk_today() + dt.timedelta(days=14),
    )
    assert "How many of the people affected are children?" in text(
        cast["irm"], f"/breaches/{breach.id}"
    )
    answered = item_send(cast["dpo"], item, "answer", **answer_data(), confirmed="yes")
    assert answered.status_code == 303
    item = IcoItem.get_by_id(item.id)
    assert (item.state, item.answer) == (
        "answered",
        "Two of the three people affected are children",
    )
    assert events_of("ico_item", item.id) == ["record", "answer"]


def test_the_follow_up_report_names_what_was_not_yet_known(cast):
    breach = decided_case(cast)
    data = {
        "kind": "follow_up_report",
        "asked": "Whether the recipient forwarded the email",
        **days_from_today("due_on", 7),
    }
    assert add_item(cast["irm"], breach, **data).status_code == 303
    item = IcoItem.get(IcoItem.breach == breach.id)
    assert (item.kind, item.received_on) == ("follow_up_report", None)


def test_a_question_without_its_facts_is_refused_with_every_error_and_nothing_saved(cast):
    breach = decided_case(cast)
    response = add_item(cast["irm"], breach, kind="question", asked="")
    assert response.status_code == 422
    assert Page.of(response).errors == [
        "Enter the ICO's question",
        "Enter the date the ICO asked",
        "Enter the date the answer is due",
    ]
    assert IcoItem.select().count() == 0


def test_a_question_too_long_is_refused_not_cut(cast):
    breach = decided_case(cast)
    response = add_item(cast["irm"], breach, **question(asked="x" * 2_001))
    assert response.status_code == 422
    assert "must be 2,000 characters or fewer" in " ".join(Page.of(response).errors)
    assert IcoItem.select().count() == 0


def test_only_whoever_handles_the_ico_records_its_questions(cast):
    breach = decided_case(cast)
    assert add_item(cast["ad"], breach).status_code == 403
    cast["ad"].get(f"/breaches/{breach.id}/ico/new", status=403)
    assert "Record a follow-up report due" not in text(cast["ad"], f"/breaches/{breach.id}")
    assert "Record a follow-up report due" in text(cast["irm"], f"/breaches/{breach.id}")
    assert IcoItem.select().count() == 0


def test_nothing_is_owed_to_the_ico_on_a_case_not_referred(cast):
    breach = decided_case(cast, referred=False)
    response = add_item(cast["irm"], breach)
    assert response.status_code == 409
    assert "This case was not referred to the ICO" in Page.of(response).errors[0]
    assert IcoItem.select().count() == 0


def test_someone_without_need_to_know_cannot_see_or_add_to_the_follow_up(cast):
    breach = decided_case(cast)
    add_item(cast["irm"], breach)
    item = IcoItem.get()
    # Alex neither reported the case nor manages its reporter nor is in the breach chain.
    cast["alex"].get(f"/ico-items/{item.id}", status=404)
    assert add_item(cast["alex"], breach).status_code == 404
    assert item_send(cast["alex"], item, "answer", **answer_data()).status_code == 404


@pytest.mark.postgres
def test_an_answer_on_a_stale_page_is_refused(cast):
    breach = decided_case(cast)
    add_item(cast["irm"], breach)
    item = IcoItem.get()
    response = item_send(cast["irm"], item, "answer", **answer_data(), version=item.version - 1)
    assert response.status_code == 409
    assert IcoItem.get_by_id(item.id).state == "open"


def test_an_answer_twice_is_refused(cast):
    breach = decided_case(cast)
    add_item(cast["irm"], breach)
    item = IcoItem.get()
    item_send(cast["irm"], item, "answer", **answer_data(), confirmed="yes")
    again = item_send(cast["dpo"], item, "answer", **answer_data(), confirmed="yes")
    assert again.status_code == 409


def test_the_ico_gives_more_time(cast):
    breach = decided_case(cast)
    add_item(cast["irm"], breach)
    item = IcoItem.get()
    same = item_send(cast["irm"], item, "change_due", **days_from_today("due_on", 14), reason="x")
    assert same.status_code == 422
    assert "Enter a due date different from the one recorded" in Page.of(same).errors
    moved = item_send(
        cast["irm"], item, "change_due", **days_from_today("due_on", 28), reason="ICO agreed"
    )
    assert moved.status_code == 303
    assert IcoItem.get_by_id(item.id).due_on == clock.uk_today() + dt.timedelta(days=28)


# -- the ICO's outcome and closing ---------------------------------------------------------


@pytest.mark.postgres
def test_a_referred_case_cannot_close_until_the_ico_outcome_is_recorded(cast):
    breach = decided_case(cast)
    assert not has_form(page(cast["irm"], breach), breach, "close")
    words = text(cast["irm"], f"/breaches/{breach.id}")
    assert "The case cannot close yet: the ICO's outcome is not recorded." in words
    refused = send(cast["irm"], breach, "close", **CLOSE)
    assert refused.status_code == 409
    assert "the ICO's outcome is not recorded" in Page.of(refused).errors[0]
    assert fresh(breach).state == "decided"

    assert send(cast["irm"], breach, "record_ico_outcome", **outcome_data()).status_code == 303
    assert fresh(breach).ico_outcome == "advice"
    assert has_form(page(cast["irm"], breach), breach, "close")
    assert send(cast["irm"], breach, "close", **CLOSE).status_code == 303
    assert fresh(breach).state == "closed"


def test_a_case_not_referred_closes_without_an_outcome(cast):
    breach = decided_case(cast, referred=False)
    assert send(cast["irm"], breach, "close", **CLOSE).status_code == 303


def test_the_outcome_waits_for_the_open_questions(cast):
    breach = decided_case(cast)
    add_item(cast["irm"], breach)
    assert not has_form(page(cast["irm"], breach), breach, "record_ico_outcome")
    words = text(cast["irm"], f"/breaches/{breach.id}")
    assert "Record the answers to the ICO's open items first" in words
    refused = send(cast["irm"], breach, "record_ico_outcome", **outcome_data())
    assert refused.status_code == 409
    assert fresh(breach).ico_outcome is None


def test_the_outcome_needs_an_answer_and_a_date(cast):
    breach = decided_case(cast)
    response = send(cast["irm"], breach, "record_ico_outcome", ico_outcome="fine")
    assert response.status_code == 422
    assert Page.of(response).errors == [
        "Select the ICO's outcome",
        "Enter the date of the ICO's outcome",
    ]
    assert fresh(breach).ico_outcome is None


def test_only_whoever_handles_the_ico_records_its_outcome(cast):
    breach = decided_case(cast)
    assert send(cast["ad"], breach, "record_ico_outcome", **outcome_data()).status_code == 403
    assert not has_form(page(cast["ad"], breach), breach, "record_ico_outcome")


# -- actions that prevent the next breach ------------------------------------------------


def test_an_action_is_added_done_with_evidence_and_audited(cast, staff):
    breach = decided_case(cast, referred=False)
    assert add_action(cast["ad"], breach, staff["alex"]).status_code == 303
    action = BreachAction.get()
    assert (action.state, action.owner_id) == ("open", staff["alex"].id)
    # The owner sees it at home, and may open it though the case is not theirs to see.
    assert "Lockable bags for the Children North team" in text(cast["alex"], "/")
    cast["alex"].get(f"/actions/{action.id}")
    cast["alex"].get(f"/breaches/{breach.id}", status=404)
    done = action_send(cast["alex"], action, "complete", evidence="Twelve bags issued")
    assert done.status_code == 303
    assert BreachAction.get_by_id(action.id).state == "done"
    assert events_of("breach_action", action.id) == ["add", "complete"]


@pytest.mark.postgres
def test_a_case_with_an_open_action_cannot_close(cast, staff):
    breach = decided_case(cast, referred=False)
    add_action(cast["ad"], breach, staff["lina"])
    assert not has_form(page(cast["irm"], breach), breach, "close")
    words = text(cast["irm"], f"/breaches/{breach.id}")
    assert "1 action to prevent the next breach is neither done nor accepted" in words
    assert send(cast["irm"], breach, "close", **CLOSE).status_code == 409
    action = BreachAction.get()
    action_send(cast["lina"], action, "complete", evidence="Twelve bags issued")
    assert send(cast["irm"], breach, "close", **CLOSE).status_code == 303


def test_only_the_assistant_director_accepts_an_action_as_not_needed(cast, staff):
    breach = decided_case(cast, referred=False)
    add_action(cast["ad"], breach, staff["lina"])
    action = BreachAction.get()
    refused = action_send(cast["irm"], action, "accept_not_needed", reason="x", confirmed="yes")
    assert refused.status_code == 403
    assert "Accept that this action is not needed" not in text(
        cast["lina"], f"/actions/{action.id}"
    )
    no_reason = action_send(cast["ad"], action, "accept_not_needed", reason="", confirmed="yes")
    assert no_reason.status_code == 422
    assert "Enter why the action is not needed" in Page.of(no_reason).errors
    accepted = action_send(
        cast["ad"],
        action,
        "accept_not_needed",
        reason="Bags replaced by the service",
        confirmed="yes",
    )
    assert accepted.status_code == 303
    assert BreachAction.get_by_id(action.id).state == "not_needed"
    assert send(cast["irm"], breach, "close", **CLOSE).status_code == 303


def test_an_action_without_its_facts_is_refused_and_nothing_saved(cast, staff):
    breach = decided_case(cast, referred=False)
    response = cast["ad"].post(f"/breaches/{breach.id}/actions/new", {"owner": "999999"})
    assert response.status_code == 422
    assert Page.of(response).errors == [
        "Select what kind of action it is",
        "Enter what is to be done",
        "Select who owns the action",
        "Enter the date it is due",
    ]
    assert BreachAction.select().count() == 0


def test_a_disabled_person_cannot_own_an_action(cast, staff):
    breach = decided_case(cast, referred=False)
    staff["sam"].active = False
    staff["sam"].save()
    response = add_action(cast["ad"], breach, staff["sam"])
    assert response.status_code == 422
    assert "Select who owns the action" in Page.of(response).errors


def test_an_action_description_too_long_is_refused_not_cut(cast, staff):
    breach = decided_case(cast, referred=False)
    response = add_action(cast["ad"], breach, staff["lina"], description="x" * 501)
    assert response.status_code == 422
    assert "What is to be done must be 500 characters or fewer" in Page.of(response).errors


def test_evidence_is_required_to_mark_an_action_done(cast, staff):
    breach = decided_case(cast, referred=False)
    add_action(cast["ad"], breach, staff["lina"])
    action = BreachAction.get()
    response = action_send(cast["lina"], action, "complete", evidence="")
    assert response.status_code == 422
    assert "Enter the evidence that it was done" in Page.of(response).errors
    assert BreachAction.get_by_id(action.id).state == "open"


def test_actions_are_added_only_once_the_case_is_decided(cast, staff):
    report(cast["pat"])
    breach = walk(cast, latest(), "service_user_informed")
    response = add_action(cast["ad"], breach, staff["lina"])
    assert response.status_code == 409
    assert (
        "Actions are added once the decision on the case is recorded." in Page.of(response).errors
    )
    assert BreachAction.select().count() == 0


def test_someone_else_may_neither_see_nor_do_an_action(cast, staff):
    breach = decided_case(cast, referred=False)
    add_action(cast["ad"], breach, staff["lina"])
    action = BreachAction.get()
    cast["alex"].get(f"/actions/{action.id}", status=404)
    assert action_send(cast["alex"], action, "complete", evidence="x").status_code == 404
    # The reporter's manager sees the case, but planning actions is not hers to do.
    assert add_action(cast["lina"], breach, staff["lina"]).status_code == 403


def test_an_action_on_a_stale_page_is_refused(cast, staff):
    breach = decided_case(cast, referred=False)
    add_action(cast["ad"], breach, staff["lina"])
    action = BreachAction.get()
    stale = action_send(cast["lina"], action, "complete", evidence="x", version=0)
    assert stale.status_code == 409
    assert BreachAction.get_by_id(action.id).state == "open"


def test_an_action_is_given_to_someone_else(cast, staff):
    breach = decided_case(cast, referred=False)
    add_action(cast["ad"], breach, staff["alex"])
    action = BreachAction.get()
    moved = action_send(
        cast["irm"], action, "reassign", owner=str(staff["mo"].id), **days_from_today("due_on", 30)
    )
    assert moved.status_code == 303
    assert BreachAction.get_by_id(action.id).owner_id == staff["mo"].id
    cast["alex"].get(f"/actions/{action.id}", status=404)


def test_an_overdue_action_is_flagged_for_its_owner(cast, staff):
    breach = decided_case(cast, referred=False)
    add_action(cast["ad"], breach, staff["alex"])
    BreachAction.update(due_on=clock.uk_today() - dt.timedelta(days=1)).execute()
    html = cast["alex"].get("/").get_data(as_text=True)
    listed = html[html.index('id="your-actions"') :]
    assert "Overdue" in listed[: listed.index("</table>")]


# -- reminders: a week before, on the day, once overdue; each once ------------------------


def send_reminders_now(app) -> str:
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.postgres
def test_an_action_owner_is_reminded_a_week_before_on_the_day_and_once_overdue(
    mail_app, inbox, cast, staff
):
    breach = decided_case(cast)
    assert (
        add_action(cast["ad"], breach, staff["sam"], **days_from_today("due_on", 10)).status_code
        == 303
    )
    action = BreachAction.get(BreachAction.breach == breach.id)
    send_reminders_now(mail_app)
    assert inbox.received() == []  # ten days ahead: nothing yet
    sam = "sam@council.example"
    for days, subject in ((3, "due soon"), (7, "due today"), (1, "overdue")):
        clock.travel(dt.timedelta(days=days))
        send_reminders_now(mail_app)
        send_reminders_now(mail_app)  # a second run sends nothing again
        assert inbox.received() == [
            (sam, f"Safekeep: breach action {subject} ({breach.reference})")
        ]
        body = inbox.to(sam)[0].get_content()
        assert f"/actions/{action.id}" in body
        assert "Lockable bags" not in body  # what was typed stays in Safekeep
        inbox.clear()


@pytest.mark.postgres
def test_everyone_who_handles_the_ico_is_reminded_of_what_it_is_owed_again_after_more_time(
    mail_app, inbox, cast, staff
):
    breach = decided_case(cast)
    assert (
        add_item(cast["irm"], breach, **question(**days_from_today("due_on", 1))).status_code == 303
    )
    item = IcoItem.get(IcoItem.breach == breach.id)
    send_reminders_now(mail_app)
    subject = f"Safekeep: ICO follow-up due soon ({breach.reference})"
    assert sorted(inbox.received()) == [
        ("dpo@council.example", subject),
        ("irm@council.example", subject),
    ]
    assert "How many of the people" not in inbox.to("dpo@council.example")[0].get_content()
    inbox.clear()
    moved = item_send(
        cast["dpo"], item, "change_due", reason="The ICO agreed two weeks more",
        **days_from_today("due_on", 3),
    )  # fmt: skip
    assert moved.status_code == 303
    send_reminders_now(mail_app)
    assert len(inbox.received()) == 2  # the new date starts the reminders again
    inbox.clear()
    answered = item_send(cast["irm"], item, "answer", **answer_data(), confirmed="yes")
    assert answered.status_code == 303
    clock.travel(dt.timedelta(days=10))
    send_reminders_now(mail_app)
    assert inbox.received() == []  # answered: nothing more


# -- the register: open and overdue actions, lessons by quarter ---------------------------


def rows_of(html_text: str, element_id: str, row: str = "tr", cell: str = "t[hd]") -> list:
    """The text of each row's cells in the element with this id, as a person reads them."""
    part = re.search(rf'id="{element_id}".*?</(?:table|div)>', html_text, re.S)
    assert part, element_id
    body = part.group(0).split("<tbody", 1)[-1]
    return [
        [
            " ".join(html.unescape(re.sub(r"<br>", " / ", re.sub(r"<(?!br)[^>]+>", "", c))).split())
            for c in re.findall(rf"<{cell}\b[^>]*>(.*?)</{cell}>", r, re.S)
        ]
        for r in re.findall(rf"<{row}\b[^>]*>(.*?)</{row}>", body, re.S)
    ]


@pytest.mark.postgres
def test_the_register_shows_open_and_overdue_actions_and_the_lessons_by_quarter(cast, staff):
    breach = decided_case(cast, referred=False)
    soon = days_from_today("due_on", 2)
    assert add_action(cast["ad"], breach, staff["sam"], **soon).status_code == 303
    assert add_action(cast["irm"], breach, staff["pat"], category="training").status_code == 303
    clock.travel(dt.timedelta(days=3))
    response = cast["gov"].get("/register")
    page, html_text = Page.of(response), response.get_data(as_text=True)
    assert "2 open actions, 1 overdue." in page.text
    listed = rows_of(html_text, "open-actions", cell="td")
    assert [(r[1], r[2]) for r in listed] == [
        (breach.reference, "Sam Tester"),
        (breach.reference, "Pat Tester"),
    ]
    assert listed[0][3].endswith("Overdue") and not listed[1][3].endswith("Overdue")
    quarter = Quarter.of(breach.discovered_at.date())
    assert rows_of(html_text, "lessons-table") == [
        [
            quarter.label,
            "Unauthorised disclosure",
            "1",
            "Replace or provide equipment, such as lockable bags: 1 / Retrain a team or person: 1",
        ]
    ]
    bars = re.findall(r'class="app-bars__bar app-bars__bar--(\d+)"', html_text)
    values = re.findall(r'class="app-bars__value">([^<]*)<', html_text)
    assert (bars, values) == (["100"], ["1 case, 2 actions"])


def lessons_statements(statements) -> list[str]:
    """The statements that count the lessons by quarter (cases, and actions by case)."""
    return [sql for sql in statements.statements if "GROUP BY 1, 2, 3" in sql]


@pytest.mark.postgres
def test_an_actions_change_shows_at_once_in_the_lessons_by_quarter(cast, staff, statements):
    breach = decided_case(cast, referred=False)
    assert add_action(cast["ad"], breach, staff["sam"]).status_code == 303
    gov = cast["gov"]

    def lessons() -> list:
        return rows_of(gov.get("/register").get_data(as_text=True), "lessons-table")[0][2:]

    assert lessons() == ["1", "Replace or provide equipment, such as lockable bags: 1"]
    # Kept while nothing changes: a second view does not count them again.
    with statements.counting():
        assert lessons() == ["1", "Replace or provide equipment, such as lockable bags: 1"]
    assert lessons_statements(statements) == []
    # An action changed on its own (its case untouched) shows on the next view.
    BreachAction.update(category="training").where(BreachAction.breach == breach.id).execute()
    assert lessons() == ["1", "Retrain a team or person: 1"]
    assert add_action(cast["irm"], breach, staff["pat"]).status_code == 303
    assert lessons() == [
        "1",
        "Replace or provide equipment, such as lockable bags: 1 / Retrain a team or person: 1",
    ]
    BreachAction.delete().where(BreachAction.category == "training").execute()
    assert lessons() == ["1", "Replace or provide equipment, such as lockable bags: 1"]


# -- no stranded work: an owner leaving, the last person who answers the ICO --------------


@pytest.mark.postgres
def test_disabling_an_action_owner_hands_their_action_to_someone_else(cast, staff, people):
    people.add("ada", "admin", team="Directorate")
    breach = decided_case(cast, referred=False)
    assert add_action(cast["ad"], breach, staff["sam"]).status_code == 303
    action = BreachAction.get()
    sam, pat, admin = staff["sam"], staff["pat"], cast["ada"]
    page = admin.get(f"/admin/people/{sam.id}/disable")
    html_text = page.get_data(as_text=True)
    assert "Sam Tester owns an action to prevent the next breach" in Page.of(page).text
    assert f"An action on breach {breach.reference}" in Page.of(page).text
    assert "Lockable bags" not in html_text  # what was typed stays with the case
    form = {"version": User.get_by_id(sam.id).version, "work_seen": work_seen(html_text)}
    assert admin.post(f"/admin/people/{sam.id}/disable", form).status_code == 422
    assert User.get_by_id(sam.id).active
    handed = admin.post(f"/admin/people/{sam.id}/disable", {**form, "successor_id": pat.id})
    assert handed.status_code == 303
    assert not User.get_by_id(sam.id).active
    assert BreachAction.get_by_id(action.id).owner_id == pat.id
    assert events_of("breach_action", action.id) == ["add", "hand_over"]
    assert "Lockable bags for the Children North team" in text(cast["pat"], "/")
    invariants.assert_no_stranded_work()
    invariants.assert_audit_verifies(cast["pat"].client.application)


def test_the_last_person_who_answers_the_ico_stays_while_it_is_owed_an_answer(cast, staff, people):
    people.add("ada", "admin", team="Directorate")
    breach = decided_case(cast)
    assert add_item(cast["irm"], breach).status_code == 303
    admin, irm, dpo = cast["ada"], staff["irm"], staff["dpo"]
    disable = {"version": User.get_by_id(dpo.id).version, "work_seen": ""}
    assert admin.post(f"/admin/people/{dpo.id}/disable", disable).status_code == 303
    refused = admin.post(
        f"/admin/people/{irm.id}/disable",
        {"version": User.get_by_id(irm.id).version, "work_seen": ""},
    )
    assert refused.status_code == 409
    assert "last person who answers the ICO" in Page.of(refused).text
    assert User.get_by_id(irm.id).active
    unchanged = person_form(User.get_by_id(irm.id), roles=["practitioner"])
    assert admin.post(f"/admin/people/{irm.id}/edit", unchanged).status_code == 409
    assert User.get_by_id(irm.id).roles == {"records_manager"}
    invariants.assert_no_stranded_work()


def test_once_referred_the_ico_draft_is_a_follow_up_on_the_icos_case(cast):
    breach = decided_case(cast)
    draft = text(cast["irm"], f"/breaches/{breach.id}/ico-draft")
    assert (
        f"Initial or follow-up report? Follow-up report. ICO case reference: {breach.ico_reference}"
        in draft
    )
