"""Nothing that cannot be undone happens on one click: return, cancel, decline, destroy and
report lost (removals), cancel and report misdirected (dispatches) first show what will
happen and ask. The confirmation is a page with a real form: it works without JavaScript."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from machines import clock
from machines.common import final_events
from machines.dispatch import DispatchMachine
from machines.remote_working import RemoteWorkingMachine
from machines.removal import RemovalMachine
from models.audit import AuditEvent
from models.breaches import Breach
from models.dispatches import Dispatch
from models.records import Record, Removal
from tests.http.journeys import Cast, Page, date_fields
from tests.http.journeys.custody import SAFEGUARDS, removal_of, request_removal, send
from tests.http.journeys.sending import CHECKS, draft, latest
from tests.http.journeys.sending import send as send_dispatch
from views import dispatches, remote_working
from views.records import CUSTODY


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    record = Record.create(
        case_id="1234567", description="Court bundle, volume 2", team=pat.team, created_by=pat
    )
    return {"lina": lina, "pat": pat, "sam": sam, "record": record}


@pytest.fixture
def cast(new_web):
    return Cast(new_web)


class _ConfirmForm(HTMLParser):
    """The confirmation page's form: its action and hidden fields, as a browser sends them."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields: list[tuple[str, str]] = []
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method") == "post" and "sign-out" not in attrs["action"]:
            self.action, self._in_form = attrs["action"], True
        elif tag == "input" and self._in_form and attrs.get("type") == "hidden":
            self.fields.append((attrs["name"], attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def press_the_button(web, response):
    """Press the confirmation page's button: post exactly what its form carries."""
    form = _ConfirmForm()
    form.feed(response.get_data(as_text=True))
    assert form.action, "the page has no confirmation form"
    data: dict = {}
    for name, value in form.fields:
        data.setdefault(name, []).append(value)
    return web.client.post(form.action, data=data)


def events_of(removal) -> list[str]:
    return [
        e.event
        for e in AuditEvent.select().where(
            AuditEvent.entity_type == "removal", AuditEvent.entity_id == removal.id
        )
    ]


def out_for_court(cast, staff, due_kind="return") -> Removal:
    request_removal(cast["pat"], staff["record"], purpose="court", due_kind=due_kind)
    removal = removal_of(staff["record"])
    assert send(cast["pat"], removal, "take_out", **SAFEGUARDS).status_code == 303
    return Removal.get_by_id(removal.id)


def today_at_midnight(name: str) -> dict:
    """A time never in the future and never more than a day before papers taken out now
    ("yesterday at 17:30", as this was, is refused from half past five on)."""
    return {**date_fields(f"{name}_on", clock.uk_today()), f"{name}_on-time": "00:00"}


@pytest.mark.parametrize(
    ("event", "who", "setup", "answers", "question", "shown", "final"),
    [
        ("return_papers", "pat", "out", {}, "Are the papers back in the office?", [], "returned"),
        (
            "destroy",
            "pat",
            "out",
            {"method": "shredded", "witness": "sam"},
            "Record that the papers were destroyed?",
            ["How they were destroyed Shredded", "Witness Sam Tester"],
            "destroyed",
        ),
        (
            "report_lost",
            "pat",
            "out",
            {
                "last_seen_where": "On the bus after court",
                **today_at_midnight("last_seen"),
                "category": "loss",
                "children_or_vulnerable": "not_known",
                "special_category": "not_known",
            },
            "Report the papers lost?",
            ["Where last seen On the bus after court", "12:00am"],
            "lost",
        ),
        ("cancel", "pat", "approved", {}, "Cancel this request?", [], "cancelled"),
        (
            "decline",
            "lina",
            "requested",
            {"reason": "Use the office copy"},
            "Decline this request?",
            ["Reason Use the office copy"],
            "declined",
        ),
    ],
)
def test_an_event_nothing_undoes_asks_first_then_happens_on_the_button(
    cast, staff, event, who, setup, answers, question, shown, final
):
    if setup == "out":
        removal = out_for_court(cast, staff, due_kind="destroy" if event == "destroy" else "return")
    else:
        request_removal(
            cast["pat"], staff["record"], purpose="court" if setup == "approved" else "other"
        )
        removal = removal_of(staff["record"])
    web = cast[who]
    if answers.get("witness") in staff:
        answers = {**answers, "witness": staff[answers["witness"]].id}
    web.get(f"/records/{staff['record'].id}")
    before = events_of(removal)
    asked = send(web, removal, event, confirm=False, **answers)
    page = Page.of(asked)
    assert asked.status_code == 200 and page.title.startswith(question)
    assert "Papers" in page.text and "Go back without changing anything" in page.text
    for words in shown:
        assert words in page.text
    assert Removal.get_by_id(removal.id).state == removal.state  # nothing happened yet
    assert events_of(removal) == before
    if event == "report_lost":
        assert Breach.select().count() == 0

    done = press_the_button(web, asked)
    assert done.status_code == 303
    assert Removal.get_by_id(removal.id).state == final
    assert events_of(removal) == [*before, event]


def test_bad_answers_are_refused_before_the_confirmation_page(cast, staff):
    removal = out_for_court(cast, staff, due_kind="destroy")
    response = send(cast["pat"], removal, "destroy", confirm=False, method="", witness="")
    page = Page.of(response)
    assert response.status_code == 422
    assert page.errors == [
        "Select how the papers were destroyed",
        "Select who saw the papers destroyed",
    ]
    assert "Record that the papers were destroyed?" not in page.text


@pytest.mark.postgres
def test_a_stale_confirmation_changes_nothing(cast, staff):
    removal = out_for_court(cast, staff)
    asked = send(cast["pat"], removal, "return_papers", confirm=False)
    cast["lina"].get(f"/records/{staff['record'].id}")
    assert send(cast["lina"], removal, "return_papers").status_code == 303  # Lina got there first
    late = press_the_button(cast["pat"], asked)
    assert late.status_code == 409
    assert events_of(removal).count("return_papers") == 1


def test_the_panels_forms_for_final_events_post_the_page_not_htmx(cast, staff):
    removal = out_for_court(cast, staff)
    html = cast["pat"].get(f"/records/{staff['record'].id}").get_data(as_text=True)
    forms = dict(re.findall(r'<form method="post" action="([^"]+)"([^>]*)>', html))
    assert "hx-post" not in forms[f"/removals/{removal.id}/return_papers"]
    assert "hx-post" not in forms[f"/removals/{removal.id}/destroy"]
    assert "hx-post" not in forms[f"/removals/{removal.id}/report_lost"]


@pytest.mark.parametrize(
    ("event", "answers", "question", "final"),
    [
        ("cancel", {"reason": "Sent by hand instead"}, "Cancel this dispatch?", "cancelled"),
        (
            "report_misdirected",
            {
                "what_happened": "Autocomplete picked another guardian",
                "children_or_vulnerable": "not_known",
                "special_category": "not_known",
            },
            "Report that the documents went to the wrong recipient?",
            "misdirected",
        ),
    ],
)
def test_a_dispatch_asks_before_it_is_cancelled_or_reported_misdirected(
    cast, staff, event, answers, question, final
):
    pat = cast["pat"]
    draft(pat)
    if event == "report_misdirected":
        cast["sam"].get(f"/dispatches/{latest().id}")
        assert send_dispatch(cast["sam"], "check", **CHECKS).status_code == 303
        pat.get(f"/dispatches/{latest().id}")
        sent = send_dispatch(pat, "mark_sent", password_protected="yes", password_separate="yes")
        assert sent.status_code == 303
    pat.get(f"/dispatches/{latest().id}")
    asked = send_dispatch(pat, event, confirm=False, **answers)
    page = Page.of(asked)
    assert asked.status_code == 200 and page.title.startswith(question)
    assert list(answers.values())[0] in page.text
    assert Dispatch.get_by_id(latest().id).state != final
    assert Breach.select().count() == 0
    assert press_the_button(pat, asked).status_code == 303
    assert Dispatch.get_by_id(latest().id).state == final
    assert Breach.select().count() == (1 if event == "report_misdirected" else 0)


def test_after_the_confirmation_the_page_says_what_was_done(cast, staff):
    removal = out_for_court(cast, staff)
    asked = send(cast["pat"], removal, "return_papers", confirm=False)
    done = press_the_button(cast["pat"], asked)
    assert done.headers["Location"] == f"/records/{staff['record'].id}?done=return_papers"
    page = cast["pat"].get(done.headers["Location"]).get_data(as_text=True)
    banner = re.search(r'class="govuk-notification-banner__heading">([^<]+)<', page)
    assert banner and banner.group(1) == "Papers returned to the office"
    # Only an event's own words: anything else in ?done= says nothing.
    other = cast["pat"].get(f"/records/{staff['record'].id}?done=<b>hacked</b>")
    assert "govuk-notification-banner__heading" not in other.get_data(as_text=True)


@pytest.mark.parametrize(
    ("lifecycle", "machine_class", "sent_by_the_system"),
    [
        (CUSTODY, RemovalMachine, set()),
        (dispatches.PAGE.lifecycle, DispatchMachine, set()),
        (remote_working.PAGE.lifecycle, RemoteWorkingMachine, {"expire"}),
    ],
    ids=["removal", "dispatch", "remote working"],
)
def test_every_event_nothing_undoes_is_asked_about_first(
    lifecycle, machine_class, sent_by_the_system
):
    # A final event added to a machine without the words its confirmation page asks fails
    # here, rather than happening on one click.
    assert set(lifecycle.confirms) == final_events(machine_class) - sent_by_the_system


def test_the_dispatch_panel_posts_the_page_for_a_cancel_and_htmx_for_the_checks(cast, staff):
    draft(cast["pat"])
    dispatch = latest()

    def forms_seen_by(name: str) -> dict[str, str]:
        html = cast[name].get(f"/dispatches/{dispatch.id}").get_data(as_text=True)
        return dict(re.findall(r'<form method="post" action="([^"]+)"([^>]*)>', html))

    assert "hx-post" not in forms_seen_by("pat")[f"/dispatches/{dispatch.id}/cancel"]
    assert "hx-post" in forms_seen_by("sam")[f"/dispatches/{dispatch.id}/check"]
