"""`flask send-reminders` against a real SMTP server on loopback: who gets what, exactly once."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest

from machines import clock
from models.base import db
from models.breaches import Breach
from models.records import Record, Removal
from models.reminders import CLAIM_LEASE, Reminder
from services import reminders
from services.mail import SmtpMailer
from services.reminders import send_reminders
from tests.conftest import _free_port
from tests.http.journeys import days_from_today
from tests.http.journeys.custody import SAFEGUARDS, future, removal_of, request_removal, send
from tests.http.journeys.mail import BASE_URL

DESCRIPTION = "Court bundle, volume 2"
PAPERS = "Chronology and assessment for the final hearing"
WHAT_HAPPENED = "Bag with the Smith family file left on the 73 bus"


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager")
    pat = people.add("pat", "practitioner", manager=lina)
    sam = people.add("sam", "practitioner", manager=lina)
    mo = people.add("mo", "line_manager", team="Adults East")
    alex = people.add("alex", "practitioner", team="Adults East", manager=mo)
    rita = people.add("rita", "records_manager", team="Governance")
    dee = people.add("dee", "dpo", team="Governance")
    dan = people.add("dan", "director", team="Governance")
    return {
        "lina": lina,
        "pat": pat,
        "sam": sam,
        "mo": mo,
        "alex": alex,
        "rita": rita,
        "dee": dee,
        "dan": dan,
    }


def email(user) -> str:
    return f"{user.username}@council.example"


def papers_out(holder, due_in_days: int, case_id: str = "1234567", due_kind="return"):
    """A removal already out (as the custody views leave it), due back in `due_in_days`."""
    record = Record.create(
        case_id=case_id, description=DESCRIPTION, team=holder.team_id, created_by=holder
    )
    return Removal.create(
        record=record,
        team=holder.team_id,
        state="out",
        for_user=holder,
        requested_by=holder,
        purpose="court",
        papers=PAPERS,
        due_kind=due_kind,
        due_on=clock.uk_today() + dt.timedelta(days=due_in_days),
        requested_at=clock.now(),
        taken_out_at=clock.now(),
    )


def breach_discovered(reporter, hours_ago: float, reference: str, **fields):
    now = clock.now()
    return Breach.create(
        reference=reference,
        team=reporter.team_id,
        reported_by=reporter,
        reporter_manager=reporter.line_manager_id,
        reported_at=now,
        what_happened=WHAT_HAPPENED,
        happened_at=now - dt.timedelta(hours=hours_ago + 1),
        discovered_at=now - dt.timedelta(hours=hours_ago),
        case_id="7654321",
        # Not a loss: a loss without a crime reference has reminders of its own.
        **{"category": "unauthorised_disclosure", **fields},
    )


def days_later(days: int) -> None:
    clock.travel(dt.timedelta(days=days))


def run(app):
    return app.test_cli_runner().invoke(args=["send-reminders"])


def run_ok(app) -> str:
    result = run(app)
    assert result.exit_code == 0, result.output
    return result.output


def assert_no_personal_data(msg, *people) -> None:
    text = str(msg)
    for secret in (
        DESCRIPTION,
        PAPERS,
        WHAT_HAPPENED,
        "Smith",
        "Tester",
        *(p.display_name for p in people),
    ):
        assert secret not in text


# -- Who gets what -------------------------------------------------------------------------


def test_the_day_before_the_return_date_only_the_holder_is_reminded(mail_app, inbox, staff):
    removal = papers_out(staff["pat"], due_in_days=1)
    papers_out(staff["sam"], due_in_days=2)  # not tomorrow: nothing yet
    output = run_ok(mail_app)
    assert inbox.received() == [(email(staff["pat"]), "Safekeep: papers to be returned tomorrow")]
    assert "1 due tomorrow" in output
    msg = inbox.to(email(staff["pat"]))[0]
    body = msg.get_content().replace("\r\n", "\n")
    assert f"{BASE_URL}/records/{removal.record_id}\n" in body
    assert "Case-system ID: 1234567" in body
    assert msg["From"] == "safekeep@council.test"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert_no_personal_data(msg, staff["pat"], staff["lina"])


def test_overdue_papers_notify_the_holder_and_their_line_manager_once(mail_app, inbox, staff):
    removal = papers_out(staff["pat"], due_in_days=1, due_kind="destroy")
    run_ok(mail_app)
    inbox.clear()
    days_later(2)  # one day overdue
    run_ok(mail_app)
    assert sorted(inbox.received()) == [
        (email(staff["lina"]), "Safekeep: papers overdue"),
        (email(staff["pat"]), "Safekeep: papers overdue"),
    ]
    to_pat = inbox.to(email(staff["pat"]))[0].get_content().replace("\r\n", "\n")
    to_lina = inbox.to(email(staff["lina"]))[0].get_content().replace("\r\n", "\n")
    assert "Papers you took out of the office are overdue." in to_pat
    assert "a member of your team took" in to_lina
    for body in (to_pat, to_lina):
        assert "Case-system ID: 1234567" in body and "To be destroyed by:" in body
        assert f"{BASE_URL}/records/{removal.record_id}" in body
    for _, msg in inbox.messages:
        assert_no_personal_data(msg, staff["pat"], staff["lina"])

    inbox.clear()
    days_later(1)  # two days overdue: still below REMINDER_CONFIRM_AFTER_DAYS
    output = run_ok(mail_app)
    assert inbox.received() == []
    assert output.strip() == (
        "Reminders sent: 0 breach reported, 0 line manager told, "
        "0 undelivered e-mail followed up, 0 ICO deadline, "
        "0 no crime reference, 0 owed to the ICO, "
        "0 confirm location, 0 overdue, 0 due tomorrow, 0 waiting for approval, "
        "0 request decided, 0 agreement ending, 0 breach action due, "
        "0 training lapsed, 0 training lapsing."
    )


def test_after_the_configured_days_the_line_manager_gets_the_confirm_location_task(
    mail_app, inbox, staff, new_web
):
    removal = papers_out(staff["pat"], due_in_days=-2, case_id="1111111")
    papers_out(staff["alex"], due_in_days=-10, case_id="2222222")  # another team's
    lina = new_web()
    lina.sign_in("lina")
    board = lina.get("/board").get_data(as_text=True)
    assert "Confirm where papers are" not in board  # two days overdue: no task yet

    days_later(1)  # three days overdue
    run_ok(mail_app)
    lina = new_web()  # a day later the old sign-in has timed out
    lina.sign_in("lina")
    tasks = [(to, subject) for to, subject in inbox.received() if "confirm" in subject]
    assert sorted(tasks) == [
        (email(staff["lina"]), "Safekeep task: confirm where overdue papers are"),
        (email(staff["mo"]), "Safekeep task: confirm where overdue papers are"),
    ]
    task = next(m for m in inbox.to(email(staff["lina"])) if "confirm" in m["Subject"])
    body = task.get_content().replace("\r\n", "\n")
    assert "3 days overdue" in body and "Confirm the location of the papers" in body
    assert "Case-system ID: 1111111" in body and "2222222" not in body
    assert f"{BASE_URL}/records/{removal.record_id}" in body
    assert_no_personal_data(task, staff["pat"], staff["lina"])

    board = lina.get("/board").get_data(as_text=True)
    section = re.search(r'<ul[^>]*id="location-tasks"[^>]*>(.*?)</ul>', board, re.S)
    assert section, "the board has no confirm-location tasks"
    links = re.findall(r'<a class="govuk-link" href="([^"]+)">([^<]+)</a>', section.group(1))
    assert links == [(f"/records/{removal.record_id}", DESCRIPTION)]
    assert "3 days overdue" in section.group(1)
    fragment = lina.get("/board", headers={"HX-Request": "true", "HX-Target": "board-body"})
    assert f'href="/records/{removal.record_id}"' in fragment.get_data(as_text=True)

    # Once the papers are back the task goes, and nobody is reminded again.
    Removal.update(state="returned", returned_at=clock.now(), closed_at=clock.now()).where(
        Removal.id == removal.id
    ).execute()
    assert 'id="location-tasks"' not in lina.get("/board").get_data(as_text=True)


@pytest.mark.postgres
def test_the_board_lists_tasks_in_a_fixed_number_of_queries(mail_app, staff, new_web, monkeypatch):
    lina = new_web()
    lina.sign_in("lina")

    def queries_for_board() -> tuple[int, int]:
        statements = []
        real = db.obj.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            statements.append(sql)
            return real(sql, params, *args, **kwargs)

        monkeypatch.setattr(db.obj, "execute_sql", counting)
        html = lina.get("/board").get_data(as_text=True)
        monkeypatch.setattr(db.obj, "execute_sql", real)
        return len(statements), html.count('href="/records/')

    papers_out(staff["pat"], due_in_days=-5, case_id="1000001")
    one, links_one = queries_for_board()
    for n in range(2, 6):
        papers_out(staff["sam"], due_in_days=-5 - n, case_id=f"100000{n}")
    many, links_many = queries_for_board()
    assert links_many > links_one
    assert many == one


def test_ico_deadline_notifies_the_records_manager_and_dpo_only(mail_app, inbox, staff):
    due = breach_discovered(staff["pat"], hours_ago=50, reference="BR-2025-0001")
    breach_discovered(staff["pat"], hours_ago=10, reference="BR-2025-0002")  # 62 hours left
    breach_discovered(staff["pat"], hours_ago=60, reference="BR-2025-0003", ico_referred=True)
    breach_discovered(staff["pat"], hours_ago=60, reference="BR-2025-0004", reportable=False)
    breach_discovered(staff["pat"], hours_ago=80, reference="BR-2025-0005")  # already late
    output = run_ok(mail_app)
    subject = "Safekeep: ICO deadline within 24 hours (BR-2025-0001)"
    assert sorted(inbox.received()) == [
        (email(staff["dee"]), subject),
        (email(staff["rita"]), subject),
    ]
    assert "2 ICO deadline" in output
    for _, msg in inbox.messages:
        body = msg.get_content().replace("\r\n", "\n")
        assert "Breach reference: BR-2025-0001" in body
        assert f"{BASE_URL}/breaches/{due.id}" in body
        assert "ICO deadline: " in body
        assert_no_personal_data(msg, staff["pat"], staff["rita"], staff["dee"])

    inbox.clear()
    clock.travel(dt.timedelta(hours=40))  # now BR-2025-0002 has 22 hours left
    run_ok(mail_app)
    assert sorted(to for to, _ in inbox.received()) == [email(staff["dee"]), email(staff["rita"])]
    assert {subject for _, subject in inbox.received()} == {
        "Safekeep: ICO deadline within 24 hours (BR-2025-0002)"
    }


def test_no_ico_deadline_reminder_for_a_near_miss_that_kept_the_data_in(mail_app, inbox, staff):
    kept_in = {"category": "near_miss", "data_left_control": False}
    breach_discovered(staff["pat"], hours_ago=50, reference="BR-2025-0011", **kept_in)
    # A near miss whose data left is a breach: reminded as any other.
    leaked = {"category": "near_miss", "data_left_control": True}
    breach_discovered(staff["pat"], hours_ago=50, reference="BR-2025-0012", **leaked)
    run_ok(mail_app)
    subjects = {subject for _, subject in inbox.received()}
    assert subjects == {"Safekeep: ICO deadline within 24 hours (BR-2025-0012)"}
    assert len(inbox.received()) == 2  # the records manager and the DPO


def test_running_twice_sends_nothing_new(mail_app, inbox, staff):
    papers_out(staff["pat"], due_in_days=1)
    papers_out(staff["sam"], due_in_days=-1, case_id="3333333")
    papers_out(staff["alex"], due_in_days=-4, case_id="4444444")
    breach_discovered(staff["pat"], hours_ago=55, reference="BR-2025-0007")
    first = run_ok(mail_app)
    assert first.strip() == (
        "Reminders sent: 0 breach reported, 0 line manager told, "
        "0 undelivered e-mail followed up, 2 ICO deadline, "
        "0 no crime reference, 0 owed to the ICO, "
        "1 confirm location, 4 overdue, 1 due tomorrow, 0 waiting for approval, "
        "0 request decided, 0 agreement ending, 0 breach action due, "
        "0 training lapsed, 0 training lapsing."
    )
    sent = sorted(inbox.received())
    assert len(sent) == 8
    second = run_ok(mail_app)
    assert sorted(inbox.received()) == sent
    assert second.count("\n") == 1 and "0 overdue" in second
    assert Reminder.select().where(Reminder.sent_at.is_null()).count() == 0


def test_papers_taken_out_through_the_web_are_reminded(mail_app, inbox, staff, web):
    record = Record.create(
        case_id="5555555",
        description=DESCRIPTION,
        team=staff["pat"].team_id,
        created_by=staff["pat"],
    )
    web.sign_in("pat")
    assert request_removal(web, record, purpose="court", **future(days=1)).status_code == 303
    assert send(web, removal_of(record), "take_out", **SAFEGUARDS).status_code in (200, 303)
    assert removal_of(record).state == "out"
    run_ok(mail_app)
    assert inbox.received() == [(email(staff["pat"]), "Safekeep: papers to be returned tomorrow")]
    assert "Case-system ID: 5555555" in inbox.messages[0][1].get_content().replace("\r\n", "\n")


def test_nobody_without_an_email_address_or_inactive_is_sent_anything(mail_app, inbox, staff):
    papers_out(staff["pat"], due_in_days=-1)
    staff["lina"].email = None
    staff["lina"].save()
    staff["dee"].active = False
    staff["dee"].save()
    breach_discovered(staff["pat"], hours_ago=50, reference="BR-2025-0009")
    output = run_ok(mail_app)
    assert sorted(to for to, _ in inbox.received()) == [email(staff["pat"]), email(staff["rita"])]
    assert "1 not sent: no email address" in output


# -- Several servers at once -----------------------------------------------------------------


@pytest.mark.postgres
def test_two_concurrent_runs_send_each_reminder_once(mail_app, inbox, staff, monkeypatch):
    for n in range(6):
        papers_out(staff["pat"] if n % 2 else staff["alex"], due_in_days=-1, case_id=f"90{n}")
    expected = 12  # six removals, each to its holder and their line manager
    # Both runs find the same twelve reminders due before either claims one.
    barrier = threading.Barrier(2)
    seen: list[int] = []
    real_due = reminders.due_reminders

    def due_together(kind, *args, **kwargs):
        found = real_due(kind, *args, **kwargs)
        if kind == reminders.OVERDUE:
            seen.append(len(found))
            barrier.wait(timeout=20)
        return found

    monkeypatch.setattr(reminders, "due_reminders", due_together)
    results: list[dict] = []
    errors: list[BaseException] = []

    def one_server():
        db.connect(reuse_if_open=True)  # this thread's own connection
        try:
            with SmtpMailer.from_config(mail_app.config) as mailer:
                results.append(send_reminders(clock.now(), mailer, BASE_URL, 3))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=one_server) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert seen == [expected, expected]
    assert sum(r[reminders.OVERDUE] for r in results) == expected
    received = inbox.received()
    assert len(received) == expected
    bodies = [(to, msg.get_content().replace("\r\n", "\n")) for to, msg in inbox.messages]
    assert len(set(bodies)) == expected  # no (recipient, removal) twice
    assert Reminder.select().where(Reminder.sent_at.is_null(False)).count() == expected


# -- Failures are retried, never lost or doubled ---------------------------------------------


def test_a_refused_recipient_is_retried_on_the_next_run(mail_app, inbox, staff):
    papers_out(staff["pat"], due_in_days=-1)
    inbox.refuse.add(email(staff["lina"]))
    result = run(mail_app)
    assert result.exit_code == 1
    assert "1 overdue" in result.output and "1 refused by the mail server" in result.output
    assert inbox.received() == [(email(staff["pat"]), "Safekeep: papers overdue")]
    assert Reminder.select().count() == 1

    inbox.refuse.clear()
    inbox.clear()
    assert "1 overdue" in run_ok(mail_app)
    assert inbox.received() == [(email(staff["lina"]), "Safekeep: papers overdue")]


def test_an_unreachable_mail_server_fails_the_run_and_loses_nothing(mail_app, inbox, staff):
    papers_out(staff["pat"], due_in_days=-1)
    mail_app.config["SMTP_PORT"] = _free_port()  # nothing listens there
    result = run(mail_app)
    assert result.exit_code != 0
    error = result.output.strip()
    assert error.count("\n") == 0
    assert error.startswith("Error: cannot reach the mail server 127.0.0.1:")
    assert "next run" in error
    assert Reminder.select().count() == 0

    mail_app.config["SMTP_PORT"] = inbox.port
    assert "2 overdue" in run_ok(mail_app)
    assert len(inbox.received()) == 2


def test_a_server_hanging_up_mid_run_gives_back_the_unsent_reminders(mail_app, inbox, staff):
    for n in range(3):
        papers_out(staff["pat"], due_in_days=-1, case_id=f"80{n}")
    inbox.hang_up_after = 2  # accepts two messages, then 421 and closes
    result = run(mail_app)
    assert result.exit_code == 1
    assert "closed" in result.output and "next run" in result.output
    assert len(inbox.received()) == 2
    assert Reminder.select().where(Reminder.sent_at.is_null()).count() == 0
    assert Reminder.select().count() == 2

    inbox.hang_up_after = None
    assert "4 overdue" in run_ok(mail_app)
    received = inbox.received()
    assert (
        len(received) == 6
        and len({(to, m.get_content().replace("\r\n", "\n")) for to, m in inbox.messages}) == 6
    )


def test_a_claim_abandoned_by_a_crashed_run_is_sent_after_the_lease(mail_app, inbox, staff):
    removal = papers_out(staff["pat"], due_in_days=-1)
    key = (reminders.OVERDUE, "removal", removal.id)
    # Another server claimed both reminders and died before sending (or is sending now).
    Reminder.create(
        kind=key[0],
        subject_type=key[1],
        subject_id=key[2],
        recipient=staff["pat"],
        claimed_at=clock.now() - CLAIM_LEASE * 2,
    )
    Reminder.create(
        kind=key[0],
        subject_type=key[1],
        subject_id=key[2],
        recipient=staff["lina"],
        claimed_at=clock.now() - dt.timedelta(minutes=1),
    )
    run_ok(mail_app)
    assert inbox.received() == [(email(staff["pat"]), "Safekeep: papers overdue")]
    inbox.clear()
    clock.travel(CLAIM_LEASE)
    run_ok(mail_app)
    assert inbox.received() == [(email(staff["lina"]), "Safekeep: papers overdue")]


def test_a_confirm_after_days_below_one_is_a_one_line_error(mail_app, inbox, staff):
    mail_app.config["REMINDER_CONFIRM_AFTER_DAYS"] = 0
    result = run(mail_app)
    assert result.exit_code != 0
    assert result.output.strip() == "Error: REMINDER_CONFIRM_AFTER_DAYS must be 1 or more (it is 0)"


# -- News about requests: sent by cron, a link and nothing else -------------------------------


def _body(msg) -> str:
    return msg.get_content().replace("\r\n", "\n")


def test_a_request_waiting_for_approval_emails_whoever_it_asks_once(
    mail_app, inbox, staff, new_web
):
    north = Record.create(
        case_id="1212121",
        description=DESCRIPTION,
        team=staff["pat"].team_id,
        created_by=staff["pat"],
    )
    east = Record.create(
        case_id="3434343", description=DESCRIPTION, team=staff["mo"].team_id, created_by=staff["mo"]
    )
    pat, mo = new_web(), new_web()
    pat.sign_in("pat")
    mo.sign_in("mo")  # the only manager in his team, with no manager: the director is asked
    assert request_removal(pat, north, papers=PAPERS).status_code == 303
    assert request_removal(mo, east, papers=PAPERS).status_code == 303
    assert inbox.received() == []  # nothing is sent while the request is made
    output = run_ok(mail_app)
    assert "2 waiting for approval" in output
    subject = "Safekeep: a request waits for your decision"
    assert sorted(inbox.received()) == [
        (email(staff["dan"]), subject),
        (email(staff["lina"]), subject),
    ]
    assert f"{BASE_URL}/records/{north.id}\n" in _body(inbox.to(email(staff["lina"]))[0])
    assert f"{BASE_URL}/records/{east.id}\n" in _body(inbox.to(email(staff["dan"]))[0])
    for _, msg in inbox.messages:
        assert "1212121" not in str(msg) and "3434343" not in str(msg)  # a link, no case
        assert_no_personal_data(msg, staff["pat"], staff["mo"], staff["lina"], staff["dan"])
    inbox.clear()
    assert "0 waiting for approval" in run_ok(mail_app)
    assert inbox.received() == []


def test_the_requester_is_told_of_the_decision_and_a_decline_says_why(
    mail_app, inbox, staff, new_web
):
    record = Record.create(
        case_id="5656565",
        description=DESCRIPTION,
        team=staff["pat"].team_id,
        created_by=staff["pat"],
    )
    pat, lina = new_web(), new_web()
    pat.sign_in("pat")
    lina.sign_in("lina")
    request_removal(pat, record)
    run_ok(mail_app)
    inbox.clear()
    lina.get(f"/records/{record.id}")
    assert (
        send(
            lina, removal_of(record), "decline", reason="Use the summary in the office"
        ).status_code
        == 303
    )
    assert "1 request decided" in run_ok(mail_app)
    assert inbox.received() == [(email(staff["pat"]), "Safekeep: your request has been decided")]
    msg = inbox.to(email(staff["pat"]))[0]
    assert f"{BASE_URL}/records/{record.id}\n" in _body(msg)
    assert "summary in the office" not in str(msg) and "5656565" not in str(msg)
    assert_no_personal_data(msg, staff["pat"], staff["lina"])

    home = pat.get("/").get_data(as_text=True)
    assert "Decisions on your requests" in home
    assert "Declined</strong>" in home and "by Lina Tester" in home
    assert "Why: Use the summary in the office" in home
    page = pat.get(f"/records/{record.id}").get_data(as_text=True)
    assert "declined by Lina Tester" in page and "Why: Use the summary in the office" in page


# -- More time and confirmed whereabouts restart the ladder -----------------------------------


def _manager_sends(web, removal, event, **data):
    web.get(f"/records/{removal.record_id}")
    return send(web, removal, event, **data)


def test_more_time_restarts_the_reminders_from_the_new_date(mail_app, inbox, staff, new_web):
    removal = papers_out(staff["pat"], due_in_days=-1)
    run_ok(mail_app)
    assert len(inbox.received()) == 2  # overdue: Pat and Lina
    inbox.clear()
    lina = new_web()
    lina.sign_in("lina")
    response = _manager_sends(
        lina,
        removal,
        "extend",
        **days_from_today("new_due_on", 1),
        reason="The hearing was adjourned to tomorrow",
    )
    assert response.status_code == 303
    output = run_ok(mail_app)
    assert inbox.received() == [(email(staff["pat"]), "Safekeep: papers to be returned tomorrow")]
    assert "1 due tomorrow" in output
    inbox.clear()
    days_later(2)  # overdue again, against the new date: a new round of reminders
    run_ok(mail_app)
    assert sorted(inbox.received()) == [
        (email(staff["lina"]), "Safekeep: papers overdue"),
        (email(staff["pat"]), "Safekeep: papers overdue"),
    ]


def test_confirmed_whereabouts_hold_off_the_task_and_restart_the_ladder(
    mail_app, inbox, staff, new_web
):
    removal = papers_out(staff["pat"], due_in_days=-3)
    run_ok(mail_app)
    assert (email(staff["lina"]), "Safekeep task: confirm where overdue papers are") in (
        inbox.received()
    )
    inbox.clear()
    lina = new_web()
    lina.sign_in("lina")
    assert 'id="location-tasks"' in lina.get("/board").get_data(as_text=True)
    response = _manager_sends(
        lina,
        removal,
        "confirm_location",
        where="In Pat's locked drawer at the North base",
        how="phone",
        **days_from_today("confirmed_on", 0),
    )
    assert response.status_code == 303
    board = lina.get("/board").get_data(as_text=True)
    assert 'id="location-tasks"' not in board  # the task is done for now
    assert f"{clock.uk_today().day} {clock.uk_today():%B %Y}" in board  # when last confirmed
    assert run_ok(mail_app) and inbox.received() == []  # nothing more today
    days_later(1)
    run_ok(mail_app)
    assert sorted(inbox.received()) == [
        (email(staff["lina"]), "Safekeep: papers overdue"),
        (email(staff["pat"]), "Safekeep: papers overdue"),
    ]
    inbox.clear()
    days_later(2)  # three days since the confirmation: the task comes back
    run_ok(mail_app)
    assert inbox.received() == [
        (email(staff["lina"]), "Safekeep task: confirm where overdue papers are")
    ]
    lina = new_web()
    lina.sign_in("lina")
    tasks = re.search(
        r'id="location-tasks"[^>]*>(.*?)</ul>', lina.get("/board").get_data(as_text=True), re.S
    )
    assert tasks and "whereabouts last confirmed" in tasks.group(1)


# -- Remote working agreements ------------------------------------------------------------------


def test_an_ask_to_work_remotely_is_news_to_the_approver_and_its_end_to_the_person(
    mail_app, inbox, staff, new_web
):
    from models.remote_working import RemoteAgreement

    pat, lina = new_web(), new_web()
    pat.sign_in("pat")
    lina.sign_in("lina")
    pat.get("/remote-working/new")
    asked = pat.post(
        "/remote-working/new",
        {"where": "Home", "why": "Court report", **days_from_today("ends_on", 5)},
    )
    assert asked.status_code == 303
    agreement = RemoteAgreement.select().get()
    run_ok(mail_app)
    assert inbox.received() == [
        (email(staff["lina"]), "Safekeep: a request waits for your decision")
    ]
    body = _body(inbox.to(email(staff["lina"]))[0])
    assert "A request to work remotely is waiting for your decision." in body
    assert f"{BASE_URL}/remote-working/{agreement.id}\n" in body
    inbox.clear()
    lina.get(f"/remote-working/{agreement.id}")
    agreed = lina.post(f"/remote-working/{agreement.id}/agree", {"version": agreement.version})
    assert agreed.status_code == 303
    run_ok(mail_app)
    assert inbox.received() == [(email(staff["pat"]), "Safekeep: your request has been decided")]
    inbox.clear()
    days_later(1)  # four days left: nothing yet
    run_ok(mail_app)
    assert inbox.received() == []
    days_later(1)  # three days left
    assert "1 agreement ending" in run_ok(mail_app)
    assert inbox.received() == [
        (email(staff["pat"]), "Safekeep: your remote working agreement ends soon")
    ]
    msg = inbox.to(email(staff["pat"]))[0]
    assert f"{BASE_URL}/remote-working/{agreement.id}\n" in _body(msg)
    assert "Court report" not in str(msg)  # a date and a link, nothing of what was asked
    inbox.clear()
    days_later(1)
    run_ok(mail_app)
    assert inbox.received() == []  # once


def test_without_a_mail_server_the_demo_writes_each_email_to_the_outbox_folder(
    app, staff, tmp_path
):
    """`make run` sets MAIL_OUTBOX: a newcomer sees what Safekeep sends with no mail server
    (before, `flask send-reminders` stopped at "cannot reach the mail server")."""
    outbox = tmp_path / "outbox"
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=_free_port(),  # nothing listens there
        MAIL_OUTBOX=str(outbox),
        REMINDER_BASE_URL=BASE_URL + "/",
    )
    papers_out(staff["pat"], due_in_days=-1)
    sent = int(re.search(r"(\d+) overdue", run_ok(app)).group(1))
    files = sorted(outbox.glob("*.eml"))
    assert sent >= 1 and len(files) == sent
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)  # may hold a password link
    messages = [f.read_text() for f in files]
    assert any("To: pat@council.example" in m for m in messages)
    assert all(BASE_URL in m and DESCRIPTION not in m for m in messages)
    run_ok(app)  # each reminder once, in the outbox as by SMTP
    assert len(list(outbox.glob("*.eml"))) == sent
