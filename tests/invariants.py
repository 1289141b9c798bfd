"""What must hold of Safekeep whatever people and cron did: each invariant a function that any
test can call (the stateful test in tests/stateful calls them all after every step).

Each reads the one source of truth (the rows) itself and compares what the pages say with
it, so a page that derives whereabouts, buttons or counts its own way is caught.

KNOWN_DEFECTS names the defects found where two features meet whose fixes are on other
branches: a check for exactly one of them notes it (`found`) instead of failing, so the
stateful test guards everything else meanwhile. Remove an entry once its fix is merged;
`SAFEKEEP_STRICT_INVARIANTS=1` fails on every entry too (to see a shrunk reproduction).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterable

from peewee import JOIN, fn

from machines import clock
from machines.breach import STATE_LABELS as BREACH_STATES
from machines.breach import BreachMachine
from machines.breach_action import BreachActionMachine
from machines.common import enabled_events
from machines.dispatch import DispatchMachine
from machines.ico_follow_up import IcoItemMachine
from machines.remote_working import RemoteWorkingMachine
from machines.removal import RemovalMachine
from models.breach_stages import BreachStageTally
from models.breaches import Breach
from models.deliveries import FAILED, NOT_SENT, NOTIFY, NOTIFY_STATUSES, REFUSED, SENT, Delivery
from models.dispatches import Dispatch
from models.follow_through import BreachAction, IcoItem
from models.people import User
from models.records import Record, Removal
from models.reminders import Reminder
from models.remote_working import RemoteAgreement
from models.removal_tallies import RemovalTally
from tests.http.journeys import Page

# Issue 22's words for each defect found but not fixed yet.
KNOWN_DEFECTS: dict[str, str] = {}

# How often each known defect showed itself in this run (the stateful test reports these).
found: Counter[str] = Counter()


def check(holds: bool, message: str, defect: str | None = None) -> None:
    """Fail with `message` unless it holds; a known defect's failure is counted instead."""
    if holds:
        return
    strict = os.environ.get("SAFEKEEP_STRICT_INVARIANTS") == "1"
    if defect is not None and defect in KNOWN_DEFECTS and not strict:
        found[defect] += 1
        return
    raise AssertionError(f"[{defect}] {message}" if defect else message)


# -- the audit trail ------------------------------------------------------------------------

_BREACH_VERSION_MISMATCH = re.compile(r"^\s*breach \d+ is at version \d+ but its \d+ audit")


def assert_audit_verifies(app) -> None:
    """`flask audit-verify` passes on the database as the app left it."""
    result = app.test_cli_runner().invoke(args=["audit-verify", "--no-checkpoint"])
    if result.exit_code == 0:
        return
    output = result.output
    problems = [line for line in output.splitlines() if line.startswith("  ")]
    only_breach_versions = bool(problems) and all(
        _BREACH_VERSION_MISMATCH.match(line) for line in problems
    )
    check(
        False,
        f"flask audit-verify failed:\n{output}",
        "breach-mail-breaks-audit-verify" if only_breach_versions else None,
    )


# -- whereabouts: one source of truth --------------------------------------------------------


def truth_of_whereabouts() -> dict[int, str]:
    """Each record's whereabouts from its latest removal: out, destroyed, lost or in_office."""
    latest: dict[int, str] = {}
    for record_id, state in (
        Removal.select(Removal.record, Removal.state).order_by(Removal.id).tuples()
    ):
        latest[record_id] = state
    return {
        record.id: (
            latest.get(record.id)
            if latest.get(record.id) in ("out", "destroyed", "lost")
            else "in_office"
        )
        for record in Record.select(Record.id)
    }


def offered_events(html: str, kind: str, row_id: int) -> set[str]:
    """The events a page offers for one row: its forms posting to /<kind>/<id>/<event>."""
    pattern = rf'action="(?:/kiosk)?/{kind}/{row_id}/([a-z_]+)"'
    return set(re.findall(pattern, html))


def record_page_says(html: str, record_id: int) -> dict:
    """What the record page's status panel says: 'In the office' shown, a request offered."""
    panel = html.split('id="status"', 1)[-1].split("</section>", 1)[0]
    return {
        "in_office": 'govuk-tag--green">In the office' in panel,
        "request_offered": f'href="/records/{record_id}/remove"' in panel,
        # A request still open: the papers are in the office and the panel shows the request.
        "asked_for": any(label in panel for label in ("Awaiting approval", "Approved to take out")),
    }


def assert_record_page_agrees(web, record_id: int, truth: str) -> None:
    """The record page shows the papers where the rows say they are, and offers a new
    request only when they are in the office."""
    response = web.get(f"/records/{record_id}")
    says = record_page_says(response.get_data(as_text=True), record_id)
    defect = "destroyed-papers-in-office" if truth in ("destroyed", "lost") else None
    if truth == "in_office":
        check(
            says["in_office"] or says["asked_for"],
            f"record {record_id} is in the office but its page says otherwise",
        )
    else:
        check(
            not says["in_office"],
            f"record {record_id} is {truth} but its page says In the office",
            defect,
        )
    if says["request_offered"]:
        check(
            truth == "in_office",
            f"record {record_id} is {truth} but its page offers a new request",
            defect,
        )


def assert_whereabouts_agree(web) -> None:
    """Every page that says where records are agrees with the rows: each record's page, the
    'where every record is' list's count, and its CSV, row by row. `web` sees every team."""
    truth = truth_of_whereabouts()
    for record_id, where in truth.items():
        assert_record_page_agrees(web, record_id, where)
    listed = Page.of(web.get("/records/where"))
    total = len(truth)
    heading = f"{total} record" if total == 1 else f"{total} records"
    check(heading in listed.text, f"the list does not say '{heading}': {listed.text[:300]}")
    body = b"".join(web.get("/records/where.csv").response).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    check(len(rows) == total, f"the CSV has {len(rows)} rows for {total} records")
    by_label = {r.label_code: r.id for r in Record.select(Record.id, Record.label_code)}
    for row in rows:
        record_id = by_label[row["Label code"]]
        check(
            row["Where"] == truth[record_id],
            f"the CSV says record {record_id} is {row['Where']}, the rows say {truth[record_id]}",
        )
    # Kept on each record by the database's triggers (models/kept_whereabouts.py), which the
    # list's filters read: never apart from the latest removal.
    kept = dict(Record.select(Record.id, Record.where_papers_are).tuples())
    check(kept == truth, "a record's kept where_papers_are differs from its latest removal")
    expected = Counter(truth.values())
    # Overdue: its total from the removals the database tallies by due date.
    late = Removal.select(Removal.record, Removal.due_on).where(Removal.state == "out")
    today = clock.uk_today()
    expected["overdue"] = sum(
        1 for record_id, due in late.tuples() if truth[record_id] == "out" and due < today
    )
    for where in {"destroyed", "lost", "out", "in_office", "overdue"}:
        if not expected[where]:
            continue
        page = Page.of(web.get(f"/records/where?where={where}"))
        count = expected[where]
        wanted = f"{count} record" if count == 1 else f"{count} records"
        check(wanted in page.text, f"the list filtered to {where} does not say '{wanted}'")


def assert_only_allowed_offered(html: str, kind: str, row_id: int, allowed: Iterable[str]) -> None:
    """A page offers no event for the row that its machine would refuse this person."""
    extra = offered_events(html, kind, row_id) - set(allowed)
    check(not extra, f"{kind} {row_id}: offered {sorted(extra)} the machine refuses")


# -- stranded work ---------------------------------------------------------------------------

# Per kind of open work: the machine, the open rows, and the events that move it on.
_WORK = (
    (
        "removal awaiting approval",
        RemovalMachine,
        lambda: Removal.select().where(Removal.state == "requested"),
        {"approve", "decline"},
    ),
    (
        "ask for more time",
        RemovalMachine,
        lambda: Removal.select().where(
            Removal.state == "out", Removal.extension_due_on.is_null(False)
        ),
        {"agree_extension", "refuse_extension"},
    ),
    (
        "remote working request",
        RemoteWorkingMachine,
        lambda: RemoteAgreement.select().where(RemoteAgreement.state == "asked"),
        {"agree", "decline"},
    ),
    (
        "dispatch to check",
        DispatchMachine,
        lambda: Dispatch.select().where(Dispatch.state == "drafted"),
        {"check"},
    ),
    (
        "open breach case",
        BreachMachine,
        lambda: Breach.select().where(Breach.state != "closed"),
        None,
    ),
    (
        "answer owed to the ICO",
        IcoItemMachine,
        lambda: IcoItem.select().where(IcoItem.state == "open"),
        {"answer"},
    ),
    (
        "action to prevent the next breach",
        BreachActionMachine,
        lambda: BreachAction.select().where(BreachAction.state == "open"),
        {"complete"},
    ),
)


def assert_no_stranded_work() -> None:
    """Every open request, ask for more time, dispatch check, breach step, answer owed to the
    ICO and breach action can be moved on by at least one active person other than the one
    who asked; every open action's owner is active."""
    now = clock.now()
    actors = [u.as_actor() for u in User.select().where(User.active == True)]  # noqa: E712
    for what, machine, rows, moving_on in _WORK:
        for row in rows():
            asked_by = {
                getattr(row, name, None)
                for name in ("requested_by_id", "for_user_id", "person_id", "drafted_by_id")
            } - {None}
            able = False
            for actor in actors:
                if moving_on is not None and actor.id in asked_by:
                    continue
                events = set(enabled_events(machine, row, actor, now))
                if events & moving_on if moving_on is not None else events:
                    able = True
                    break
            check(able, f"{what} {row.id} ({row.state}): no active person can move it on")


# -- e-mails --------------------------------------------------------------------------------


def links_in(message, base_url: str) -> list[str]:
    """The paths of Safekeep's pages a message links to, read from its decoded text (a long
    body goes quoted-printable, which would split a link read from the raw message)."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    prefix = re.escape(base_url.rstrip("/"))
    return re.findall(rf"{prefix}(/[^\s]*)", body)


def assert_mail_links_open(messages: Iterable[tuple[str, object]], base_url: str, web_of) -> None:
    """Every link in an e-mail opens for its recipient: followed by the person the address
    belongs to (`web_of(user)` gives their signed-in browser), each answers a page, not
    "Page not found" or a refusal. Only addresses of active accounts: nobody else signs in."""
    for address, message in messages:
        person = User.get_or_none((User.email == address) & (User.active == True))  # noqa: E712
        if person is None:
            continue
        for path in links_in(message, base_url):
            status = web_of(person).client.get(path.split("#", 1)[0]).status_code
            check(
                status == 200,
                f"the link {path} in {message['Subject']!r} to {person.username} answers {status}",
            )
    # An action is its owner's to do: a disabled owner's actions were handed over.
    for action in BreachAction.select().where(BreachAction.state == "open"):
        check(
            User.get_by_id(action.owner_id).active,
            f"action {action.id} is open and its owner's account is disabled",
        )


# -- typed text ------------------------------------------------------------------------------


def assert_no_typed_text_leaks(
    markers: Iterable[str], places: Iterable[tuple[str, str]], defect: str | None = None
) -> None:
    """None of the text people typed (each a unique marker) appears in any of `places`:
    (where, text) pairs such as an ICO draft page, an e-mail, a URL or a log line."""
    markers = [m.lower() for m in markers]
    for where, text in places:
        lowered = text.lower()
        for marker in markers:
            check(marker not in lowered, f"typed text {marker!r} appears in {where}", defect)


def notify_places(sent: Iterable) -> list[tuple[str, str]]:
    """What each message handed to GOV.UK Notify carried (its personalisation and Safekeep's
    reference for it), as places for assert_no_typed_text_leaks: Notify's templates show it."""
    return [
        (f"Notify's message to {m.email_address}", f"{m.reference} {m.personalisation}")
        for m in sent
    ]


# -- e-mail deliveries -----------------------------------------------------------------------

# What each channel can know of a message: SMTP and the outbox never hear of a delivery.
_CHANNEL_STATUSES = {
    "smtp": {SENT, REFUSED, NOT_SENT},
    "outbox": {SENT, REFUSED, NOT_SENT},
    NOTIFY: NOTIFY_STATUSES | {REFUSED, NOT_SENT},
}


def assert_deliveries_agree() -> None:
    """Every message marked sent by cron has its delivery row; each row says only what its
    channel can know (a Notify one that went has Notify's id); and a message about a breach
    case that failed has been raised to people."""
    unrecorded = (
        Reminder.select(Reminder.id)
        .join(
            Delivery,
            on=(Delivery.kind == Reminder.kind)
            & (Delivery.subject_type == Reminder.subject_type)
            & (Delivery.subject_id == Reminder.subject_id)
            & (Delivery.recipient == Reminder.recipient)
            & (Delivery.round == Reminder.round),
            join_type=JOIN.LEFT_OUTER,
        )
        .where(Reminder.sent_at.is_null(False), Delivery.id.is_null())
        .count()
    )
    check(unrecorded == 0, f"{unrecorded} message(s) marked sent have no delivery row")
    for d in Delivery.select():
        where = f"delivery {d.id} ({d.kind} to user {d.recipient_id} by {d.channel})"
        check(d.status in _CHANNEL_STATUSES.get(d.channel, set()), f"{where} says {d.status}")
        if d.channel == NOTIFY and d.sent_at is not None:
            check(d.notify_id is not None, f"{where} went through Notify but has no id")
        if d.subject_type == "breach" and d.status in FAILED:
            check(d.raised_at is not None, f"{where} failed ({d.status}) and was not raised")


# -- counts ----------------------------------------------------------------------------------


def board_figures(html: str) -> dict[str, int | str]:
    """The board's 'At a glance' figures by label: a number, or what it says instead ("more
    than 99")."""
    part = html.split('id="board-counts"', 1)[-1].split("</dl>", 1)[0]
    labels = re.findall(r'<dt class="app-figures__label">([^<]+)</dt>', part)
    values = re.findall(r'<dd class="app-figures__value">([^<]+)</dd>', part)
    said = [int(value) if value.isascii() and value.isdigit() else value for value in values]
    return dict(zip(labels, said, strict=True))


def assert_removal_tally_agrees() -> None:
    """The removals the database tallies by state, team and due date
    (models/removal_tallies.py) are the rows' own COUNT, and no key is kept at nought."""
    counted = {
        (state, team, str(due)): total
        for state, team, due, total in Removal.select(
            Removal.state, Removal.team, Removal.due_on, fn.COUNT(Removal.id)
        )
        .group_by(Removal.state, Removal.team, Removal.due_on)
        .tuples()
    }
    tallied = {
        (state, team, str(due)): total
        for state, team, due, total in RemovalTally.select(
            RemovalTally.state, RemovalTally.team_id, RemovalTally.due_on, RemovalTally.total
        ).tuples()
    }
    check(tallied == counted, f"the removal tally {tallied} differs from the rows {counted}")


def assert_breach_stage_tally_agrees() -> None:
    """The open breach cases the database tallies by stage and team
    (models/breach_stages.py) are the open cases' own COUNT (Breach.is_open: not closed),
    and no key is kept at nought."""
    counted = dict(
        ((state, team), total)
        for state, team, total in Breach.select(Breach.state, Breach.team, fn.COUNT(Breach.id))
        .where(Breach.is_open())
        .group_by(Breach.state, Breach.team)
        .tuples()
    )
    tallied = dict(
        ((state, team), total)
        for state, team, total in BreachStageTally.select(
            BreachStageTally.state, BreachStageTally.team_id, BreachStageTally.total
        ).tuples()
    )
    check(tallied == counted, f"the breach stage tally {tallied} differs from the rows {counted}")


def board_stages(html: str) -> dict[str, int | str]:
    """The board's open breach cases at each stage, by the stage's label."""
    part = html.split('id="board-breaches"', 1)[-1].split("</ul>", 1)[0]
    found = re.findall(r"<li>([^<]+): <strong>([^<]+)</strong></li>", part)
    return {label: int(n) if n.isdigit() else n for label, n in found}


def assert_board_stages_agree(web) -> None:
    """A board of every team (`web` a director's) says how many breach cases are open at each
    stage and in all, as the rows have them, and the tally it reads agrees with the rows."""
    assert_breach_stage_tally_agrees()
    html = web.get("/board").get_data(as_text=True)
    open_cases = Breach.select().where(Breach.is_open())
    by_stage = dict(
        open_cases.select(Breach.state, fn.COUNT(Breach.id)).group_by(Breach.state).tuples()
    )
    expected = {BREACH_STATES[state]: n for state, n in by_stage.items()}
    said = board_figures(html).get("Open breach cases")
    check(said == open_cases.count(), f"board says {said} open cases, rows {open_cases.count()}")
    check(board_stages(html) == expected, f"board says {board_stages(html)}, rows {expected}")


def assert_counts_agree(web, team_id: int) -> None:
    """A line manager's board figures equal the rows of their team, the 'where every
    record is' list filtered to papers out says the same number, and unfiltered (a tally the
    database keeps, models/tallies.py) the team's records. `web` is that manager."""
    figures = board_figures(web.get("/board").get_data(as_text=True))
    in_team = Removal.team == team_id
    pending = Removal.select().where(in_team, Removal.state == "requested").count()
    out = Removal.select().where(in_team, Removal.state == "out").count()
    overdue = (
        Removal.select()
        .where(in_team, Removal.state == "out", Removal.due_on < clock.uk_today())
        .count()
    )
    to_check = Dispatch.select().where(Dispatch.team == team_id, Dispatch.state == "drafted")
    expected = {
        "Waiting for approval": pending,
        "Papers out": out,
        "Overdue": overdue,
        "Documents to check": to_check.count(),
    }
    for label, value in expected.items():
        check(figures.get(label) == value, f"board says {label} {figures.get(label)}, rows {value}")
    assert_removal_tally_agrees()
    assert_breach_stage_tally_agrees()
    listed = Page.of(web.get("/records/where?where=out"))
    wanted = f"{out} record" if out == 1 else f"{out} records"
    check(wanted in listed.text, f"board says {out} papers out; the list does not say '{wanted}'")
    records = Record.select().where(Record.team == team_id).count()
    html = web.get("/records/where").get_data(as_text=True)
    said = re.search(r'id="records-heading">([^<]*)<', html)
    said = said.group(1) if said else None
    wanted = f"{records} record" if records == 1 else f"{records} records"
    check(said == wanted, f"the team has {records} records; the list says '{said}'")
