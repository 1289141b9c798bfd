"""The invariants fail when what they guard is broken (a check that cannot fail guards
nothing), and hold on what the app itself produced."""

from __future__ import annotations

import pytest

from models.people import User
from tests import invariants
from tests.conftest import People
from tests.http.journeys.custody import papers_held


@pytest.fixture
def people(app):
    return People()


def test_audit_verifies_until_a_row_is_written_outside_the_app(app, people):
    invariants.assert_audit_verifies(app)
    papers_held(people.add("pat"), "Court bundle")  # straight to the table: no audit event
    with pytest.raises(AssertionError, match="no audit event"):
        invariants.assert_audit_verifies(app)


def test_a_request_nobody_active_can_decide_is_stranded(app, people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", manager=lina)
    papers_held(pat, "Court bundle", state="requested", requester_manager=lina)
    invariants.assert_no_stranded_work()
    User.update(active=False).where(User.id == lina.id).execute()
    with pytest.raises(AssertionError, match="no active person can move it on"):
        invariants.assert_no_stranded_work()


def test_typed_text_is_found_wherever_it_leaked():
    places = [("a URL", "/records?term=1234567"), ("a log line", "ZQ001Xwhat seen")]
    invariants.assert_no_typed_text_leaks(["zq002xwhat"], places)
    with pytest.raises(AssertionError, match="appears in a log line"):
        invariants.assert_no_typed_text_leaks(["zq001xwhat"], places)


def test_a_known_defect_is_counted_and_fails_only_when_strict(monkeypatch):
    monkeypatch.setitem(
        invariants.KNOWN_DEFECTS, "an-example-defect", "what the example defect breaks"
    )
    invariants.found.clear()
    invariants.check(False, "a dispatch nobody may check", "an-example-defect")
    assert invariants.found["an-example-defect"] == 1
    monkeypatch.setenv("SAFEKEEP_STRICT_INVARIANTS", "1")
    with pytest.raises(AssertionError, match="an-example-defect"):
        invariants.check(False, "a dispatch nobody may check", "an-example-defect")
    with pytest.raises(AssertionError):
        invariants.check(False, "an unknown failure", "not-a-known-defect")


def test_deliveries_disagree_when_a_sent_message_or_a_failure_is_unrecorded(app, people):
    from machines import clock
    from models.deliveries import Delivery
    from models.reminders import Reminder

    pat = people.add("pat")
    now = clock.now()
    key = ("overdue", "removal", 1, pat.id, 0)
    Reminder.claim(key, now)
    invariants.assert_deliveries_agree()  # claimed, not sent yet: nothing to record
    Reminder.mark_sent(key, now)
    with pytest.raises(AssertionError, match="have no delivery row"):
        invariants.assert_deliveries_agree()
    row = Delivery.create(
        kind="overdue", subject_type="removal", subject_id=1, recipient=pat.id,
        channel="smtp", status="delivered", sent_at=now,
    )  # fmt: skip
    with pytest.raises(AssertionError, match="by smtp\\) says delivered"):
        invariants.assert_deliveries_agree()
    Delivery.update(status="sent").where(Delivery.id == row.id).execute()
    invariants.assert_deliveries_agree()
    Delivery.update(subject_type="breach", channel="notify", status="permanent-failure",
                    notify_id="0" * 36).execute()  # fmt: skip
    Reminder.update(subject_type="breach").execute()
    with pytest.raises(AssertionError, match="was not raised"):
        invariants.assert_deliveries_agree()
