"""The whole app as its people and cron use it, in random order, with the invariants
(tests/invariants.py) checked after every step.

Each rule is one thing a person (or cron, or time) does, through the pages as they would:
the page is read first, and an action is posted only when the page offers it; a separate
rule presses a button the page did not offer and expects a refusal. A failing sequence
shrinks to a short list of these steps; `make soak` runs many more with the seed printed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from peewee import fn

from machines import clock
from machines.breach import BreachMachine
from machines.breach_action import BreachActionMachine
from machines.common import enabled_events
from machines.dispatch import DispatchMachine
from machines.ico_follow_up import IcoItemMachine
from machines.permissions import Can
from machines.remote_working import RemoteWorkingMachine
from machines.removal import RemovalMachine
from machines.training import add_months
from models import ALL_MODELS
from models.audit import AuditEvent
from models.base import SchemaVersion, db, is_postgres
from models.breaches import Breach
from models.dispatches import Dispatch
from models.follow_through import BreachAction, IcoItem
from models.people import User
from models.records import Record, Removal
from models.reminders import Reminder
from models.remote_working import RemoteAgreement
from models.training import training_of
from tests import invariants
from tests.conftest import PIN, People
from tests.http.conftest import Web
from tests.http.journeys import Page, date_fields, days_from_today
from tests.http.journeys import typed as in_boxes
from tests.http.journeys.accounts import person_form, work_seen
from tests.http.journeys.breaches import (
    AGREE,
    ASSESS,
    CLOSE,
    breach_staff,
    decide_data,
    letter_data,
    meeting_data,
    notify_data,
    outcome_data,
    police_done,
    refer_data,
    report,
)
from tests.http.journeys.custody import SAFEGUARDS, future, report_lost
from tests.http.journeys.mail import BASE_URL
from tests.http.journeys.sending import CHECKS

settings.register_profile(
    "ci",
    max_examples=10,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "soak",
    max_examples=300,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

PRACTITIONERS = ("pat", "sam", "alex")
MANAGERS = ("lina", "mo")
# The audit events' entity types whose rows the boards' figures count or depend on.
COUNTED_ON_BOARDS = ("removal", "dispatch", "record", "user", "team", "import", "retention")
CHAIN = ("dir", "ad", "cg", "irm", "bim", "gov", "dpo")
STAFF = PRACTITIONERS + MANAGERS + CHAIN
people_st = st.sampled_from(STAFF)
pick = st.integers(min_value=0, max_value=50)

# What a person types into the form of each event (free text a reporter types is a marker,
# filled in by `typed`); events not listed are not pressed by the "next step" rules.
REMOVAL_FORMS = {
    "approve": {"note": ""},
    "decline": {"reason": "Not needed for this hearing"},
    "take_out": SAFEGUARDS,
    "return_papers": {},
    "destroy": {"method": "shredded"},
    "refuse_extension": {"reason": "The court date has not moved"},
    "agree_extension": {"note": ""},
}
BREACH_FORMS = {
    "notify": notify_data,
    "assess_risk": lambda b: ASSESS,
    # A reason for lateness too: time moves on, and a referral after 72 hours needs one.
    "refer_to_ico": lambda b: refer_data(delay_reason="Waiting for the police account"),
    "record_meeting": lambda b: meeting_data(),
    "inform_service_user": lambda b: letter_data(),
    "caldicott_agree": lambda b: AGREE,
    "decide": lambda b: decide_data(),
    "record_ico_outcome": lambda b: outcome_data(),
    "close": lambda b: CLOSE,
}
DISPATCH_FORMS = {
    "check": CHECKS,
    "mark_sent": {"password_protected": "yes", "password_separate": "yes"},
    "confirm_delivered": {"delivery_evidence": "recipient_acknowledged"},
}
REMOTE_FORMS = {"agree": {"note": ""}, "decline": {"reason": "Not this week"}}

# kind -> (machine, model, URL prefix of its page and of its events)
KINDS = {
    "removal": (RemovalMachine, Removal, "removals"),
    "breach": (BreachMachine, Breach, "breaches"),
    "dispatch": (DispatchMachine, Dispatch, "dispatches"),
    "remote": (RemoteWorkingMachine, RemoteAgreement, "remote-working"),
    "ico_item": (IcoItemMachine, IcoItem, "ico-items"),
    "action": (BreachActionMachine, BreachAction, "actions"),
}
ICO_ITEM_FORMS = {
    "answer": lambda item: {
        "answer": "Two of the three people affected are children",
        **date_fields("answered_on", clock.uk_today()),
    },
}
ACTION_FORMS = {
    "complete": {"evidence": "Training register signed by the whole team"},
    "accept_not_needed": {"reason": "The team's bags were replaced last month"},
}
# The breach events with pages of their own are posted by their URL's name.
BREACH_URL_NAMES = {"record_police": "police", "update_report": "details"}
REFUSED = (403, 404, 409)


def page_url(kind: str, row) -> str:
    if kind == "removal":
        return f"/records/{row.record_id}"
    return f"/{KINDS[kind][2]}/{row.id}"


def event_url(kind: str, row, event: str) -> str:
    if kind == "breach":
        event = BREACH_URL_NAMES.get(event, event)
    return f"/{KINDS[kind][2]}/{row.id}/{event}"


def offered(html: str, kind: str, row) -> set[str]:
    names = invariants.offered_events(html, KINDS[kind][2], row.id)
    inverse = {url: event for event, url in BREACH_URL_NAMES.items()} if kind == "breach" else {}
    return {inverse.get(name, name) for name in names}


class Recorder(logging.Handler):
    """Keeps every log line the app writes while the test runs."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage() + " " + repr(record.__dict__))
        except Exception:  # noqa: BLE001 - a log line that cannot be formatted is still kept
            self.lines.append(repr(record.__dict__))


class RecordingWeb(Web):
    """A person's browser that keeps every URL it visited or was sent to, and fails on a 500."""

    def __init__(self, client, urls: list[str]):
        super().__init__(client)
        self.urls = urls

    def _seen(self, url, response):
        self.urls.append(url)
        if "Location" in response.headers:
            self.urls.append(response.headers["Location"])
        assert response.status_code < 500, (url, response.status_code)
        return response

    def get(self, url: str, status: int = 200, **kwargs):
        return self._seen(url, super().get(url, status, **kwargs))

    def post(self, url: str, data: dict | None = None, htmx: bool = False, **kwargs):
        return self._seen(url, super().post(url, data, htmx, **kwargs))


def empty_database() -> None:
    """Every table emptied but the schema's version: a fresh app's database, cheaply."""
    tables = [m._meta.table_name for m in ALL_MODELS if m is not SchemaVersion]
    if is_postgres():
        db.execute_sql(f"TRUNCATE {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tables)} CASCADE")
        return
    db.execute_sql("PRAGMA foreign_keys = OFF")
    for table in tables:
        db.execute_sql(f'DELETE FROM "{table}"')
    db.execute_sql("PRAGMA foreign_keys = ON")


class WholeApp(RuleBasedStateMachine):
    """Safekeep's people, its cron and its clock, in any order."""

    app = None
    inbox = None
    log = None

    def __init__(self):
        super().__init__()
        # No app context stays pushed: each request gets its own `g` (its signed-in person).
        db.connect(reuse_if_open=True)
        clock.travel_reset()
        empty_database()
        Path(self.app.config["AUDIT_CHECKPOINT_FILE"]).unlink(missing_ok=True)
        self.inbox.clear()
        self.log.lines.clear()
        self.urls: list[str] = []
        self.markers: list[str] = []
        self.webs: dict[str, RecordingWeb] = {}
        self.checked: dict[str, tuple] = {}
        self.seen = (0, 0, 0)
        self.mails_followed = 0
        people = People()
        self.staff = breach_staff(people)
        self.staff["admin"] = people.add("admin", "admin", team="Directorate")
        self.staff["kiosk"] = people.add("kiosk", "kiosk", pin=None)
        # Lina answers to the Assistant Director: admin edits must keep that.
        User.update(line_manager=self.staff["ad"].id).where(
            User.id == self.staff["lina"].id
        ).execute()

    def teardown(self):
        clock.travel_reset()

    # -- helpers ---------------------------------------------------------------------------

    def web(self, username: str) -> RecordingWeb:
        if username not in self.webs:
            web = RecordingWeb(self.app.test_client(), self.urls)
            web.sign_in(username)
            self.webs[username] = web
        return self.webs[username]

    def typed(self, what: str) -> str:
        """Free text as a reporter types it: unique, so any copy of it can be found."""
        marker = f"zq{len(self.markers):03d}x{what}"
        self.markers.append(marker)
        return f"{marker} seen at the office"

    def user(self, username: str) -> User:
        return User.get(User.username == username)

    def able(self, kind: str, row, events) -> list[tuple[str, str]]:
        """(person, event) for every active member of staff the machine lets move the row on."""
        machine = KINDS[kind][0]
        found = []
        for username in STAFF:
            person = self.user(username)
            if not person.active:
                continue
            for event in enabled_events(machine, row, person.as_actor(), clock.now()):
                if event in events:
                    found.append((username, event))
        return found

    def press(self, username: str, kind: str, row, event: str, data: dict):
        """Open the row's page as this person, check the page offers the event, and press it."""
        web = self.web(username)
        html = web.get(page_url(kind, row)).get_data(as_text=True)
        invariants.check(
            event in offered(html, kind, row),
            f"{username} may {event} {kind} {row.id} but the page does not offer it",
        )
        data = {"version": KINDS[kind][1].get_by_id(row.id).version, "confirmed": "yes", **data}
        return web.post(event_url(kind, row, event), in_boxes(data))  # times into their boxes

    def next_step(self, kind: str, rows, forms: dict, choice: int):
        """Somebody able to moves one of these rows on by one step they were offered."""
        rows = list(rows)
        if not rows:
            return None
        row = rows[choice % len(rows)]
        candidates = self.able(kind, row, forms)
        if not candidates:
            return None
        username, event = candidates[choice % len(candidates)]
        form = forms[event]
        data = dict(form(row) if callable(form) else form)
        if kind == "removal" and event == "destroy":
            data["witness"] = self.witness_for(row, username) or ""
        response = self.press(username, kind, row, event, data)
        if kind == "removal" and event == "destroy" and not data["witness"]:
            assert response.status_code == 422
            return response
        assert response.status_code == 303, (kind, event, username, response.status_code)
        return response

    def witness_for(self, removal, actor: str):
        team = User.select().where(User.team == removal.team_id, User.active == True)  # noqa: E712
        for person in team:
            if person.id not in (removal.for_user_id, self.user(actor).id) and person.can(
                Can.WORK_WITH_PAPERS
            ):
                return person.id
        return None

    # -- records and removals --------------------------------------------------------------

    @rule(who=st.sampled_from(PRACTITIONERS))
    def practitioner_adds_a_record(self, who):
        if not self.user(who).active:
            return  # a disabled account cannot sign in: nothing of theirs to do
        web = self.web(who)
        web.get("/records/new")
        case_id = str(1000000 + Record.select().count() + 1)
        response = web.post("/records/new", {"case_id": case_id, "description": "Court bundle"})
        assert response.status_code == 303

    @rule(
        who=st.sampled_from(PRACTITIONERS), choice=pick, purpose=st.sampled_from(["court", "other"])
    )
    def practitioner_asks_for_papers(self, who, choice, purpose):
        person = self.user(who)
        records = list(Record.select().where(Record.team == person.team_id).order_by(Record.id))
        if not records or not person.active:
            return
        record = records[choice % len(records)]
        web = self.web(who)
        html = web.get(f"/records/{record.id}").get_data(as_text=True)
        if not invariants.record_page_says(html, record.id)["request_offered"]:
            return
        web.get(f"/records/{record.id}/remove")
        data = {"purpose": purpose, "papers": "Assessment 2025", "due_kind": "return", **future()}
        if purpose == "other":
            data["purpose_other"] = "Working from home on the assessment"
        response = web.post(f"/records/{record.id}/remove", data)
        # 422 only when nobody could agree a purpose that needs agreeing.
        assert response.status_code in (303, 422), response.status_code

    @rule(choice=pick)
    def manager_decides_a_request(self, choice):
        self.next_step(
            "removal",
            Removal.select().where(Removal.state == "requested"),
            {k: REMOVAL_FORMS[k] for k in ("approve", "decline")},
            choice,
        )

    @rule(choice=pick)
    def holder_takes_the_papers_out(self, choice):
        self.next_step(
            "removal",
            Removal.select().where(Removal.state == "approved_for_removal"),
            {"take_out": SAFEGUARDS},
            choice,
        )

    @rule(choice=pick)
    def holder_brings_the_papers_back(self, choice):
        self.next_step(
            "removal", Removal.select().where(Removal.state == "out"), {"return_papers": {}}, choice
        )

    @rule(choice=pick)
    def papers_are_destroyed_with_a_witness(self, choice):
        self.next_step(
            "removal",
            Removal.select().where(Removal.state == "out"),
            {"destroy": REMOVAL_FORMS["destroy"]},
            choice,
        )

    @rule(choice=pick, category=st.sampled_from(["loss", "theft"]))
    def holder_reports_the_papers_lost_or_stolen(self, choice, category):
        rows = list(Removal.select().where(Removal.state == "out").order_by(Removal.id))
        if not rows:
            return
        removal = rows[choice % len(rows)]
        if not self.user_of(removal.for_user_id).active:
            return
        web = self.web(self.user_of(removal.for_user_id).username)
        web.get(f"/records/{removal.record_id}")
        response = report_lost(web, removal, category=category, last_seen_where=self.typed("where"))
        assert response.status_code == 303, response.status_code
        page = Page.of(web.get(response.headers["Location"]))
        if category == "theft":
            invariants.check(
                "stolen" in page.text.lower(),
                f"papers reported stolen: the page after says only lost: {page.text[:300]}",
                "stolen-papers-said-lost",
            )

    @rule(choice=pick)
    def holder_asks_for_more_time(self, choice):
        rows = list(
            Removal.select()
            .where(Removal.state == "out", Removal.extension_due_on.is_null())
            .order_by(Removal.id)
        )
        if not rows:
            return
        removal = rows[choice % len(rows)]
        holder = self.user_of(removal.for_user_id)
        if not holder.active:
            return
        data = {**days_from_today("new_due_on", 40), "reason": "The hearing moved"}
        response = self.press(holder.username, "removal", removal, "ask_extension", data)
        assert response.status_code == 303, response.status_code

    @rule(choice=pick)
    def manager_answers_an_ask_for_more_time(self, choice):
        self.next_step(
            "removal",
            Removal.select().where(Removal.state == "out", Removal.extension_due_on.is_null(False)),
            {k: REMOVAL_FORMS[k] for k in ("agree_extension", "refuse_extension")},
            choice,
        )

    @rule(who=st.sampled_from(PRACTITIONERS), choice=pick)
    def practitioner_uses_the_kiosk(self, who, choice):
        """Identify with staff number and PIN, scan a label, and take out or bring back what
        the kiosk offers; what it offers must agree with where the papers are."""
        person = self.user(who)
        records = list(Record.select().where(Record.team == person.team_id).order_by(Record.id))
        kiosk_team = self.user("kiosk").team_id
        if not records or not person.active or person.team_id != kiosk_team:
            return
        record = records[choice % len(records)]
        kiosk = self.web("kiosk")
        kiosk.get("/kiosk/")
        response = kiosk.post("/kiosk/identify", {"staff_number": person.staff_number, "pin": PIN})
        assert response.status_code == 303, response.status_code
        html = kiosk.post("/kiosk/scan", {"label_code": record.label_code}).get_data(as_text=True)
        truth = invariants.truth_of_whereabouts()[record.id]
        asks = f'action="/kiosk/records/{record.id}/request"' in html
        invariants.check(
            not asks or truth == "in_office",
            f"the kiosk offers to take out record {record.id}, which is {truth}",
            "destroyed-papers-in-office" if truth in ("destroyed", "lost") else None,
        )
        removal = record.open_removal()
        if removal is not None:
            allowed = enabled_events(
                RemovalMachine,
                removal,
                person.as_actor(),
                clock.now(),
                kiosk_id=self.staff["kiosk"].id,
            )
            invariants.assert_only_allowed_offered(html, "removals", removal.id, allowed)
            for event in ("take_out", "return_papers"):
                if event in invariants.offered_events(html, "removals", removal.id):
                    data = {"version": Removal.get_by_id(removal.id).version, "confirmed": "yes"}
                    if event == "take_out":
                        data.update(SAFEGUARDS)
                    done = kiosk.post(f"/kiosk/removals/{removal.id}/{event}", data)
                    assert done.status_code == 303, done.status_code
                    return
        kiosk.post("/kiosk/sign-out")

    # -- buttons not offered ---------------------------------------------------------------

    @rule(who=people_st, kind=st.sampled_from(sorted(KINDS)), choice=pick, event_choice=pick)
    def someone_presses_a_button_they_were_not_offered(self, who, kind, choice, event_choice):
        machine, model, _ = KINDS[kind]
        rows = list(model.select().order_by(model.id))
        person = self.user(who)
        if not rows or not person.active:
            return
        row = rows[choice % len(rows)]
        web = self.web(who)
        response = web.client.get(page_url(kind, row))
        shown = (
            offered(response.get_data(as_text=True), kind, row)
            if response.status_code == 200
            else set()
        )
        allowed = set(enabled_events(machine, row, person.as_actor(), clock.now()))
        if response.status_code == 200:
            invariants.assert_only_allowed_offered(
                response.get_data(as_text=True),
                KINDS[kind][2],
                row.id,
                {BREACH_URL_NAMES.get(e, e) for e in allowed} if kind == "breach" else allowed,
            )
        others = sorted({e.id for e in machine.events} - shown - allowed)
        if not others:
            return
        event = others[event_choice % len(others)]
        before = model.get_by_id(row.id).version
        posted = web.post(event_url(kind, row, event), {"version": before, "confirmed": "yes"})
        invariants.check(
            posted.status_code in REFUSED,
            f"{who} pressed {event} on {kind} {row.id} (not offered): {posted.status_code}",
        )
        invariants.check(
            model.get_by_id(row.id).version == before, f"{event} changed {kind} {row.id}"
        )

    # -- breaches --------------------------------------------------------------------------

    @rule(
        who=st.sampled_from(PRACTITIONERS),
        category=st.sampled_from(
            ["unauthorised_disclosure", "wrong_recipient", "loss", "theft", "near_miss"]
        ),
    )
    def someone_reports_a_breach(self, who, category):
        if not self.user(who).active:
            return
        extra = {"what_happened": self.typed("what")}
        if category == "near_miss":
            extra["data_left_control"] = "no"
        response = report(self.web(who), category=category, **extra)
        assert response.status_code == 303, Page.of(response).errors

    @rule(who=st.sampled_from(PRACTITIONERS))
    def someone_reports_a_near_miss_without_saying_whether_data_left(self, who):
        if not self.user(who).active:
            return
        before = Breach.select().count()
        response = report(self.web(who), category="near_miss", what_happened=self.typed("nm"))
        invariants.check(
            response.status_code == 422 and Breach.select().count() == before,
            f"an unanswered near miss was saved ({response.status_code})",
            "near-miss-unanswered-saved-as-yes",
        )

    @rule(choice=pick)
    def police_details_are_recorded(self, choice):
        rows = Breach.select().where(
            Breach.category.in_(("loss", "theft")), Breach.state == "reported"
        )
        case = self.nth(rows, choice)
        if case is None:
            return
        for username, _ in self.able("breach", case, {"record_police"})[:1]:
            response = self.press(username, "breach", case, "record_police", police_done())
            assert response.status_code == 303, Page.of(response).errors

    @rule(choice=pick)
    def the_breach_chain_takes_the_next_step(self, choice):
        rows = Breach.select().where(Breach.state != "closed").order_by(Breach.id)
        response = self.next_step("breach", rows, BREACH_FORMS, choice)
        if response is not None:
            assert response.status_code == 303

    # -- after the referral and the decision ----------------------------------------------

    @rule(choice=pick, who=st.sampled_from(("irm", "dpo")), follow_up=st.booleans())
    def the_ico_asks_or_is_owed_a_follow_up(self, choice, who, follow_up):
        case = self.nth(
            Breach.select().where(Breach.ico_referred == True, Breach.closed_at.is_null()),  # noqa: E712
            choice,
        )
        if (
            case is None
            or not self.user(who).active
            or not self.user(who).can(Can.FOLLOW_UP_WITH_ICO)
        ):
            return
        data = {
            "kind": "follow_up_report" if follow_up else "question",
            "asked": self.typed("asked"),
            **date_fields("received_on", clock.uk_today()),
            **days_from_today("due_on", 10),
        }
        response = self.web(who).post(f"/breaches/{case.id}/ico/new", in_boxes(data))
        # 409: the case closed, or its outcome is recorded (nothing more is owed).
        assert response.status_code in (303, 409), Page.of(response).errors

    @rule(choice=pick)
    def the_council_answers_the_ico(self, choice):
        rows = IcoItem.select().where(IcoItem.state == "open").order_by(IcoItem.id)
        response = self.next_step("ico_item", rows, ICO_ITEM_FORMS, choice)
        if response is not None:
            assert response.status_code == 303

    @rule(choice=pick, owner=people_st, who=st.sampled_from(("ad", "irm")))
    def the_decision_adds_an_action(self, choice, owner, who):
        case = self.nth(Breach.select().where(Breach.state == "decided"), choice)
        person, planner = self.user(owner), self.user(who)
        if case is None or not person.active or not planner.active:
            return
        if not planner.can(Can.PLAN_BREACH_ACTIONS):
            return
        data = {
            "category": "training",
            "description": self.typed("action"),
            "owner": str(person.id),
            **days_from_today("due_on", 14),
        }
        response = self.web(who).post(f"/breaches/{case.id}/actions/new", in_boxes(data))
        assert response.status_code == 303, Page.of(response).errors

    @rule(choice=pick)
    def an_action_is_done_or_not_needed(self, choice):
        rows = BreachAction.select().where(BreachAction.state == "open").order_by(BreachAction.id)
        response = self.next_step("action", rows, ACTION_FORMS, choice)
        if response is not None:
            assert response.status_code == 303

    def nth(self, query, choice):
        rows = list(query.order_by(query.model.id))
        return rows[choice % len(rows)] if rows else None

    def user_of(self, user_id: int) -> User:
        return User.get_by_id(user_id)

    # -- dispatches and remote working -----------------------------------------------------

    @rule(who=st.sampled_from(PRACTITIONERS))
    def practitioner_drafts_a_dispatch(self, who):
        if not self.user(who).active:
            return
        web = self.web(who)
        training = training_of(self.user(who), with_exception=False)
        if not training.in_date(clock.uk_today()):
            # Lapsed training: the page says why and what to do, and nothing is drafted
            page = web.get("/send/new", status=409).get_data(as_text=True)
            invariants.check("training" in page, f"{who} is not told why they cannot send")
            return
        web.get("/send/new")
        response = web.post(
            "/send/new",
            {
                "case_id": "1234567",
                "description": "Assessment and chronology",
                "method": "secure_email",
                "recipient_organisation": "Cafcass",
                "recipient_role": "Children's guardian",
                "address": "guardian@cafcass.example.org",
            },
        )
        assert response.status_code == 303, Page.of(response).errors

    @rule(choice=pick)
    def a_colleague_checks_or_sends_a_dispatch(self, choice):
        self.next_step(
            "dispatch",
            Dispatch.select().where(Dispatch.state.in_(("drafted", "checked", "sent"))),
            DISPATCH_FORMS,
            choice,
        )

    @rule(who=st.sampled_from(PRACTITIONERS), days=st.integers(1, 20))
    def practitioner_asks_to_work_remotely(self, who, days):
        if not self.user(who).active:
            return
        web = self.web(who)
        web.get("/remote-working/new")
        response = web.post(
            "/remote-working/new",
            {
                "where": "Home",
                "why": "Writing the court report",
                **days_from_today("ends_on", days),
            },
        )
        assert response.status_code in (303, 422), response.status_code

    @rule(choice=pick)
    def manager_answers_a_remote_working_request(self, choice):
        self.next_step(
            "remote",
            RemoteAgreement.select().where(RemoteAgreement.state == "asked"),
            REMOTE_FORMS,
            choice,
        )

    # -- administration --------------------------------------------------------------------

    @rule(who=people_st)
    def admin_saves_a_person_unchanged(self, who):
        person = self.user(who)
        web = self.web("admin")
        web.get(f"/admin/people/{person.id}/edit")
        response = web.post(f"/admin/people/{person.id}/edit", person_form(person))
        after = self.user(who)
        invariants.check(
            after.line_manager_id == person.line_manager_id,
            f"saving {who} unchanged changed their line manager "
            f"({person.line_manager_id} -> {after.line_manager_id}, {response.status_code})",
            "admin-edit-drops-senior-manager",
        )

    @rule(
        who=st.sampled_from(PRACTITIONERS + MANAGERS),
        team=st.sampled_from(["Children North", "Adults East"]),
        successor=people_st,
    )
    def admin_moves_a_person_to_another_team(self, who, team, successor):
        person = self.user(who)
        team_id = self.staff["pat" if team == "Children North" else "alex"].team_id
        if person.team_id == team_id or not person.active:
            return
        web = self.web("admin")
        html = web.get(f"/admin/people/{person.id}/edit").get_data(as_text=True)
        data = person_form(person, team_id=team_id, line_manager_id="")
        response = web.post(f"/admin/people/{person.id}/edit", data)
        if response.status_code != 303 and 'name="work_seen"' in response.get_data(as_text=True):
            data.update(
                work_seen=work_seen(response.get_data(as_text=True)),
                successor_id=self.user(successor).id,
            )
            response = web.post(f"/admin/people/{person.id}/edit", data)
        assert response.status_code in (303, 409, 422), (response.status_code, html[:0])
        self.webs.pop(who, None)

    @rule(who=people_st, successor=people_st)
    def admin_disables_a_person(self, who, successor):
        person = self.user(who)
        if not person.active:
            return
        web = self.web("admin")
        html = web.get(f"/admin/people/{person.id}/disable").get_data(as_text=True)
        data = {"version": person.version}
        if 'name="work_seen"' in html:
            data.update(work_seen=work_seen(html), successor_id=self.user(successor).id)
        response = web.post(f"/admin/people/{person.id}/disable", data)
        assert response.status_code in (303, 409, 422), response.status_code
        self.webs.pop(who, None)

    @rule(
        who=st.sampled_from(PRACTITIONERS + MANAGERS),
        roles=st.sampled_from([["practitioner"], ["line_manager"]]),
        successor=people_st,
    )
    def admin_changes_a_persons_roles(self, who, roles, successor):
        """A practitioner made a line manager or back: the requests and checks they could
        decide must still have someone (handed over, or the change refused with a reason)."""
        person = self.user(who)
        if not person.active or sorted(person.roles) == roles:
            return
        self.admin_saves(person, person_form(person, roles=roles), successor)
        self.webs.pop(who, None)

    @rule(who=st.sampled_from(PRACTITIONERS), manager=st.sampled_from(MANAGERS + ("ad", "dir")))
    def admin_changes_a_persons_line_manager(self, who, manager):
        """Someone's line manager changes: the one who may check their drafts from above
        (machines.dispatch.checkers_above) and decide their requests changes with them."""
        person, boss = self.user(who), self.user(manager)
        if not person.active or not boss.active or person.line_manager_id == boss.id:
            return
        self.admin_saves(person, person_form(person, line_manager_id=boss.id), None)

    def admin_saves(self, person, data, successor):
        """Post the admin's edit, handing over what the page lists to `successor` (or to
        nobody, when none is given: then it must refuse)."""
        web = self.web("admin")
        web.get(f"/admin/people/{person.id}/edit")
        response = web.post(f"/admin/people/{person.id}/edit", data)
        html = response.get_data(as_text=True)
        if response.status_code != 303 and 'name="work_seen"' in html and successor:
            data.update(work_seen=work_seen(html), successor_id=self.user(successor).id)
            response = web.post(f"/admin/people/{person.id}/edit", data)
        assert response.status_code in (303, 409, 422), response.status_code

    @rule(who=st.sampled_from(PRACTITIONERS + MANAGERS), months_ago=st.sampled_from([0, 6, 13, -1]))
    def admin_records_training_date(self, who, months_ago):
        """In date, lapsed, or a date still to come (refused): the learning system's dates."""
        person = self.user(who)
        today = clock.uk_today()
        day = add_months(today, -months_ago) if months_ago >= 0 else today + dt.timedelta(days=1)
        web = self.web("admin")
        web.get(f"/admin/people/{person.id}/training")
        data = {**date_fields("trained_on", day), "version": person.version}
        response = web.post(f"/admin/people/{person.id}/training", data)
        expected = 422 if months_ago < 0 else 303
        assert response.status_code == expected, (who, day, response.status_code)

    @rule(choice=pick)
    def manager_allows_one_removal(self, choice):
        """A holder's training lapsed with papers approved: their line manager allows one."""
        now = clock.now()
        waiting = [
            r
            for r in Removal.select().where(Removal.state == "approved_for_removal")
            if not r.holder_training.allows_papers_out(clock.to_uk(now).date())
        ]
        if not waiting:
            return
        holder = waiting[choice % len(waiting)].for_user
        manager = User.get_or_none(User.id == holder.line_manager_id)
        if manager is None or not manager.active or manager.username not in STAFF:
            return
        web = self.web(manager.username)
        home = web.get("/").get_data(as_text=True)
        url = f"/training/{holder.id}/allow-removal"
        if holder.active and f'href="{url}"' not in home:
            # The one place a manager acts: it must offer what the rule allows.
            invariants.check(False, f"{manager.username}'s home does not offer {url}")
        response = web.post(url, {"reason": self.typed("court hearing")})
        assert response.status_code in (303, 403, 409), response.status_code

    # -- cron and time ---------------------------------------------------------------------

    @rule()
    def cron_sends_reminders(self):
        result = self.app.test_cli_runner().invoke(args=["send-reminders"])
        assert result.exit_code == 0, result.output

    @rule()
    def cron_expires_agreements(self):
        result = self.app.test_cli_runner().invoke(args=["expire-agreements"])
        assert result.exit_code == 0, result.output

    @rule()
    def cron_applies_retention(self):
        result = self.app.test_cli_runner().invoke(args=["apply-retention"])
        assert result.exit_code == 0, result.output

    @rule(hours=st.sampled_from([1, 20, 73, 24 * 9]))
    def time_moves_on(self, hours):
        clock.travel(dt.timedelta(hours=hours))
        self.webs.clear()  # sessions time out: everyone signs in again

    # -- invariants ------------------------------------------------------------------------

    def changed(self, name: str, entities: tuple[str, ...] = ()) -> bool:
        """Whether anything happened since this invariant last held: a step that changed
        nothing (no audit event but sign-ins, no time moved) cannot break a page's agreement,
        and the pages are the slow part of each step on a busy machine. `entities`: only
        changes to rows of these kinds (audit events' entity types) count."""
        events = AuditEvent.select(fn.MAX(AuditEvent.id)).where(
            AuditEvent.event.not_in(("sign_in", "sign_out"))
        )
        if entities:
            events = events.where(AuditEvent.entity_type.in_(entities))
        key = (
            events.scalar(),
            Reminder.select().count(),
            clock.now().replace(minute=0, second=0, microsecond=0),
        )
        if self.checked.get(name) == key:
            return False
        self.checked[name] = key
        return True

    @invariant()
    def audit_trail_verifies(self):
        invariants.assert_audit_verifies(self.app)

    @invariant()
    def whereabouts_agree_everywhere(self):
        if not self.changed("whereabouts_agree_everywhere"):
            return
        # Whoever of the seniors is still active sees every team's records.
        for username in CHAIN:
            person = self.user(username)
            if person.active and person.can(Can.SEE_EVERY_TEAM):
                invariants.assert_whereabouts_agree(self.web(username))
                return

    @invariant()
    def no_work_is_stranded(self):
        if not self.changed("no_work_is_stranded"):
            return
        invariants.assert_no_stranded_work()

    @invariant()
    def lapsed_holders_are_told_and_their_papers_not_stranded(self):
        """Papers approved for someone whose training lapsed: the holder's record page says
        why they cannot take them out, and someone can still cancel the request."""
        if not self.changed("lapsed_holders"):
            return
        now = clock.now()
        today = clock.to_uk(now).date()
        actors = [u.as_actor() for u in User.select().where(User.active == True)]  # noqa: E712
        for removal in Removal.select().where(Removal.state == "approved_for_removal"):
            holder = removal.for_user
            if removal.holder_training.allows_papers_out(today) or not holder.active:
                continue
            invariants.check(
                any("cancel" in enabled_events(RemovalMachine, removal, a, now) for a in actors),
                f"removal {removal.id}: its holder's training lapsed and no one can cancel it",
            )
            if holder.username in STAFF:
                html = self.web(holder.username).get(f"/records/{removal.record_id}").text
                invariants.check(
                    'id="training-warning"' in html
                    and f"/removals/{removal.id}/take_out" not in html,
                    f"removal {removal.id}: the lapsed holder is not told why",
                )

    @invariant()
    def no_typed_text_leaks(self):
        # Only what is new since the last check: a marker cannot be in text older than it.
        urls, lines, mails = self.seen
        places = [("a URL", url) for url in self.urls[urls:]]
        places += [("a log line", line) for line in self.log.lines[lines:]]
        places += [(f"an e-mail to {to}", m.as_string()) for to, m in self.inbox.messages[mails:]]
        self.seen = (len(self.urls), len(self.log.lines), len(self.inbox.messages))
        invariants.assert_no_typed_text_leaks(self.markers, places)
        if not self.changed("ico_drafts") or not self.user("dpo").active:
            return
        dpo = self.web("dpo")
        drafts = [
            (f"the ICO draft of case {b.id}", dpo.client.get(f"/breaches/{b.id}/ico-draft").text)
            for b in Breach.select(Breach.id)
        ]
        invariants.assert_no_typed_text_leaks(
            self.markers, drafts, defect="ico-draft-copies-typed-text"
        )

    @invariant()
    def every_link_in_an_email_opens_for_its_recipient(self):
        # Only the new e-mails, followed as the step that sent them left things.
        new = self.inbox.messages[self.mails_followed :]
        self.mails_followed = len(self.inbox.messages)
        invariants.assert_mail_links_open(new, BASE_URL, lambda person: self.web(person.username))

    @invariant()
    def deliveries_agree(self):
        if not self.changed("deliveries_agree"):
            return
        invariants.assert_deliveries_agree()

    @invariant()
    def board_counts_agree(self):
        # The figures count removals and dispatches of a team: what changes those, or who
        # is in the team and what they may do (a breach step that moved a removal writes
        # the removal's own event). Two pages a manager, after half the steps.
        if not self.changed("board_counts_agree", COUNTED_ON_BOARDS):
            return
        for manager in MANAGERS:
            person = self.user(manager)
            if person.active and person.can(Can.WATCH_BOARD) and person.team_id:
                invariants.assert_counts_agree(self.web(manager), person.team_id)

    @invariant()
    def breach_stages_agree(self):
        # The board's breach cases at each stage come from the tally the database keeps by
        # stage and team (models/breach_stages.py): after any change to a case or a team.
        if not self.changed("breach_stages_agree", ("breach", "team", "import", "retention")):
            return
        invariants.assert_breach_stage_tally_agrees()
        director = self.user("dir")
        if director.active and director.can(Can.WATCH_EVERY_TEAM):
            invariants.assert_board_stages_agree(self.web("dir"))


def run_whole_app(app, inbox, examples: int | None = None):
    recorder = Recorder()
    root = logging.getLogger()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.INFO)
    WholeApp.app, WholeApp.inbox, WholeApp.log = app, inbox, recorder
    invariants.found.clear()
    try:
        chosen = settings.get_profile(PROFILE)
        if examples is not None and PROFILE == "ci":
            chosen = settings(chosen, max_examples=examples)
        WholeApp.TestCase.settings = chosen
        WholeApp.TestCase().runTest()
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)
        if invariants.found:
            print("Known defects found:", dict(invariants.found))


@pytest.mark.parametrize("backend", ["sqlite"])
def test_whole_app_on_sqlite(mail_app, inbox):
    run_whole_app(mail_app, inbox)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_whole_app_on_postgresql(mail_app, inbox):
    # Fewer runs than on SQLite, which explores the rules: here what can differ is the SQL,
    # the locks and the triggers, which every run exercises (twice the time a step on SQLite).
    run_whole_app(mail_app, inbox, examples=6)
