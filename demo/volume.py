"""Synthetic volume for measuring: years of removals and breach cases across the demo teams.

`flask seed-volume` fills a database the way a borough's would look after a few years, so the
board, the register and the lists can be measured at a realistic size. Rows go in with
`insert_many` in batches, one transaction per table; nothing here runs a state machine.

The synthetic rows get no audit events of their own (a hash-chained event per row would
double the time for nothing a person would read); one `seed_volume` event records what was
added, so the audit trail still says where the rows came from.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from peewee import fn

from machines import clock
from machines.removal import FALLBACK, OWN_MANAGER
from models.audit import AuditEvent
from models.base import db, is_postgres
from models.breaches import Breach, highest, reference_for
from models.counters import Counter as NumberSeries
from models.people import User, UserRole
from models.records import Record, Removal, new_label_code
from models.remote_working import RemoteAgreement

DESCRIPTIONS = (
    "Court bundle, volume 1",
    "Court bundle, volume 2",
    "Assessment and chronology",
    "Child protection conference papers",
    "Looked-after child review notes",
    "Care and support plan",
    "Safeguarding enquiry file",
    "Case notes, current year",
    "Carer's assessment",
    "Placement papers",
)
PAPERS = (
    "Chronology and latest assessment",
    "Court statements and exhibits",
    "Conference report and minutes",
    "Review minutes and care plan",
    "Contact notes",
)
OTHER_PURPOSES = (
    "Working from home on the assessment",
    "Supervision with the team manager at another base",
    "Meeting with the family's solicitor",
)
WHAT_HAPPENED = {
    "loss": "Papers taken out for a visit were not in the bag when the worker got back.",
    "theft": "A bag holding papers was stolen from a car.",
    "wrong_recipient": "A letter was sent to an old address held for another agency.",
    "unauthorised_disclosure": "Details were read out in a meeting the person was not part of.",
    "near_miss": "A report was attached to an email to the wrong agency but caught before sending.",
}

# How often each category turns up (misdirected email and post are the commonest).
CATEGORY_WEIGHTS = {
    "wrong_recipient": 40,
    "unauthorised_disclosure": 12,
    "loss": 12,
    "theft": 4,
    "other": 6,
    "near_miss": 26,
}
# Pre-authorised purposes need nobody's approval; "other" waits for the line manager.
PURPOSE_WEIGHTS = {"court": 30, "professional_meeting": 30, "service_user_meeting": 20, "other": 20}

REMOVALS_PER_RECORD = 5
OPEN_SHARE = 0.15  # records whose latest removal is still open


@dataclass(frozen=True)
class Staff:
    team_id: int
    holders: tuple[tuple[int, int | None], ...]  # (user id, their line manager id)
    managers: tuple[int, ...]


@dataclass(frozen=True)
class VolumeResult:
    records: int
    removals: int
    breaches: int
    seconds: float


def _batch_size(columns: int) -> int:
    """Rows per INSERT that keep within the driver's limit on bound parameters."""
    limit = 32_000
    if not is_postgres() and sqlite3.sqlite_version_info < (3, 32, 0):
        limit = 999
    return max(1, min(1000, limit // columns))


def _insert(model, rows: Sequence[dict]) -> None:
    """insert_many in batches of tuples, in one transaction (one commit, one fsync)."""
    if not rows:
        return
    names = list(rows[0])
    fields = [model._meta.fields[name] for name in names]
    size = _batch_size(len(fields))
    with db.atomic():
        for start in range(0, len(rows), size):
            batch = [tuple(row[name] for name in names) for row in rows[start : start + size]]
            model.insert_many(batch, fields=fields).execute()


def team_staff() -> list[Staff]:
    """Teams with people who take papers out, their staff and line managers (one query)."""
    rows = (
        User.select(User.id, User.team, User.line_manager, UserRole.role)
        .join(UserRole)
        .where(
            UserRole.role.in_(("practitioner", "line_manager")),
            User.active == True,  # noqa: E712
            User.team.is_null(False),
        )
        .order_by(User.id)
        .tuples()
    )
    holders: dict[int, dict[int, int | None]] = defaultdict(dict)
    managers: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id, manager_id, role in rows:
        holders[team_id][user_id] = manager_id
        if role == "line_manager":
            managers[team_id].append(user_id)
    return [
        Staff(team_id, tuple(people.items()), tuple(managers[team_id]))
        for team_id, people in sorted(holders.items())
    ]


def _first_with_role(*roles: str) -> int | None:
    return (
        User.select(User.id)
        .join(UserRole)
        .where(UserRole.role.in_(roles))
        .order_by(User.id)
        .limit(1)
        .scalar()
    )


def _pick(rng: random.Random, weights: dict[str, int], allowed: Iterable[str]) -> str:
    keys = [k for k in allowed]
    return rng.choices(keys, weights=[weights.get(k, 5) for k in keys])[0]


def label_codes(count: int) -> list[str]:
    """`count` new label codes, unlike each other and every code already printed."""
    seen = {code for (code,) in Record.select(Record.label_code).tuples()}
    codes: list[str] = []
    while len(codes) < count:
        code = new_label_code()
        if code not in seen:
            seen.add(code)
            codes.append(code)
    return codes


# -- Removals ---------------------------------------------------------------------------------


def _removal_row(
    rng: random.Random,
    record_id: int,
    staff: Staff,
    start: dt.datetime,
    now: dt.datetime,
    open_state: str | None,
) -> dict:
    """One removal beginning at `start`: closed (returned, destroyed...) or in `open_state`."""
    holder, manager = rng.choice(staff.holders)
    approver = next((m for m in staff.managers if m != holder), None)
    purpose = _pick(rng, PURPOSE_WEIGHTS, PURPOSE_WEIGHTS)
    if open_state == "requested":
        purpose = "other"  # only a purpose that needs agreement waits for it
    elif approver is None:
        purpose = "court"  # nobody could agree anything else
    row = {
        "record": record_id,
        "team": staff.team_id,
        "state": open_state,
        "for_user": holder,
        "requested_by": holder,
        "requester_manager": manager,
        # Who a request asks (as migration 11 gave the requests waiting when it ran).
        "approval_route": (OWN_MANAGER if manager else FALLBACK) if purpose == "other" else None,
        "purpose": purpose,
        "purpose_other": rng.choice(OTHER_PURPOSES) if purpose == "other" else None,
        "papers": rng.choice(PAPERS),
        "due_kind": "destroy" if rng.random() < 0.05 else "return",
        "due_on": None,
        "requested_at": start,
        "decided_by": None,
        "decided_at": None,
        "decision_note": None,
        "taken_out_at": None,
        "returned_at": None,
        "destroyed_at": None,
        "destruction_method": None,
        "destruction_witness": None,
        "lost_at": None,
        "last_seen_where": None,
        "last_seen_at": None,
        "closed_at": None,
        "extension_due_on": None,
        "extension_reason": None,
        "extension_asked_at": None,
        "version": 1,
    }
    if purpose != "other":
        row["decision_note"] = "Agreed purpose: no approval needed"
    elif open_state != "requested":
        row["decided_by"] = approver
        row["decided_at"] = min(now, start + dt.timedelta(hours=rng.uniform(1, 30)))
    went_out = (row["decided_at"] or start) + dt.timedelta(hours=rng.uniform(1, 72))
    days = rng.randint(1, 14)
    if open_state == "out":
        # Papers out now: taken out in the last ten days, due back within three weeks, so
        # about one in five is overdue.
        went_out = now - dt.timedelta(hours=rng.uniform(2, 10 * 24))
        days = rng.randint(3, 21)
    row["due_on"] = (went_out + dt.timedelta(days=days)).date()
    if open_state == "out":
        row["taken_out_at"] = went_out
        if record_id % 8 == 0:  # one in eight holders has asked for more time
            row.update(
                extension_due_on=row["due_on"] + dt.timedelta(days=14),
                extension_reason="The hearing was adjourned to a later date",
                extension_asked_at=min(now, went_out + dt.timedelta(hours=2)),
            )
    if open_state is not None:
        return row
    roll = rng.random()
    if purpose == "other" and roll < 0.08:
        row.update(
            state="declined",
            closed_at=row["decided_at"],
            decision_note="Take copies of the pages you need instead",
        )
    elif 0.08 <= roll < 0.11:
        row.update(state="cancelled", closed_at=start + dt.timedelta(hours=rng.uniform(1, 48)))
    elif 0.11 <= roll < 0.112:
        last_seen = went_out + dt.timedelta(hours=rng.uniform(1, 48))
        lost = last_seen + dt.timedelta(hours=6)
        row.update(
            state="lost",
            taken_out_at=went_out,
            last_seen_at=last_seen,
            last_seen_where="On the way back from a home visit",
            lost_at=lost,
            closed_at=lost,
        )
    elif row["due_kind"] == "destroy":
        destroyed = went_out + dt.timedelta(days=rng.uniform(0.2, days))
        row.update(
            state="destroyed",
            taken_out_at=went_out,
            destroyed_at=destroyed,
            destruction_method="shredded",
            destruction_witness="Team administrator",
            closed_at=destroyed,
        )
    else:
        late = rng.random() < 0.08
        kept = days + rng.uniform(1, 10) if late else rng.uniform(0.5, days)
        returned = went_out + dt.timedelta(days=kept)
        row.update(
            state="returned", taken_out_at=went_out, returned_at=returned, closed_at=returned
        )
    return row


def _make_records_and_removals(
    rng: random.Random,
    staff: list[Staff],
    creator: int,
    removals: int,
    now: dt.datetime,
    years: float,
) -> int:
    records = max(1, -(-removals // REMOVALS_PER_RECORD))
    span = dt.timedelta(days=365 * years)
    codes = label_codes(records)
    last_id = Record.select(fn.MAX(Record.id)).scalar() or 0
    _insert(
        Record,
        [
            {
                "case_id": f"9{rng.randrange(10**6):06d}",
                "description": rng.choice(DESCRIPTIONS),
                "team": staff[i % len(staff)].team_id,
                "label_code": code,
                "created_by": creator,
                "created_at": now - span - dt.timedelta(days=rng.uniform(0, 30)),
            }
            for i, code in enumerate(codes)
        ],
    )
    id_by_code = dict(
        Record.select(Record.label_code, Record.id).where(Record.id > last_id).tuples()
    )
    rows = []
    for i, code in enumerate(codes):
        team = staff[i % len(staff)]
        count = removals // records + (1 if i < removals % records else 0)
        gap = span / max(1, count)
        latest_open = rng.random() < OPEN_SHARE
        # Oldest first, one every `gap` on average; only the latest may still be open.
        for n in range(count):
            open_state = None
            if n == count - 1 and latest_open:
                open_state = rng.choices(
                    ("out", "requested", "approved_for_removal"), weights=(70, 15, 15)
                )[0]
            if open_state in ("requested", "approved_for_removal"):
                start = now - dt.timedelta(hours=rng.uniform(1, 14 * 24))
            else:
                start = now - span + gap * n + gap * rng.uniform(0, 0.3)
            rows.append(_removal_row(rng, id_by_code[code], team, start, now, open_state))
    _insert(Removal, rows)
    return records


# -- Remote working agreements ------------------------------------------------------------------

REMOTE_PER_REMOVALS = 40  # an agreement for every 40 removals: a few per person a year
REMOTE_STATES = {"agreed": 30, "expired": 40, "asked": 5, "declined": 10, "withdrawn": 10}


def _make_remote_agreements(
    rng: random.Random, staff: list[Staff], count: int, now: dt.datetime, years: float
) -> None:
    rows = []
    for n in range(count):
        team = staff[n % len(staff)]
        person, manager = rng.choice(team.holders)
        state = _pick(rng, REMOTE_STATES, REMOTE_STATES)
        asked = now - dt.timedelta(days=rng.uniform(0, 365 * years))
        if state in ("asked", "agreed"):
            asked = now - dt.timedelta(days=rng.uniform(1, 60))
        ends = (asked + dt.timedelta(days=rng.randint(30, 180))).date()
        decided = asked + dt.timedelta(hours=rng.uniform(1, 72))
        approver = next((m for m in team.managers if m != person), None)
        row = {
            "team": team.team_id,
            "state": state,
            "for_user": person,
            "requested_by": person,
            "requester_manager": manager,
            "approval_route": OWN_MANAGER if manager else FALLBACK,
            "place": "Home",
            "why": "Caring for a relative on two days a week",
            "ends_on": ends,
            "asked_at": asked,
            "decided_by": approver if state in ("agreed", "expired", "declined") else None,
            "decided_at": decided if state in ("agreed", "expired", "declined") else None,
            "decision_note": "Not while the team is short" if state == "declined" else None,
            "withdrawn_by": person if state == "withdrawn" else None,
            "withdrawn_at": decided if state == "withdrawn" else None,
            "withdraw_reason": None,
            "closed_at": None,
            "version": 1,
        }
        if state == "expired":
            row["ends_on"] = min(ends, (now - dt.timedelta(days=1)).date())
            row["closed_at"] = dt.datetime.combine(row["ends_on"], dt.time()) + dt.timedelta(days=1)
        elif state in ("declined", "withdrawn"):
            row["closed_at"] = decided
        elif state == "agreed":
            row["ends_on"] = max(ends, (now + dt.timedelta(days=7)).date())
        rows.append(row)
    _insert(RemoteAgreement, rows)


# -- Breach cases -----------------------------------------------------------------------------

STAGES = ("reported", "notified", "risk_assessed", "service_user_informed", "decided", "closed")


def _stage_times(rng: random.Random, discovered: dt.datetime) -> list[dt.datetime]:
    """When a case would reach notified, risk assessed, informed, decided, closed."""
    notified = discovered + dt.timedelta(hours=rng.lognormvariate(2.8, 0.7))  # ~16 h
    assessed = notified + dt.timedelta(hours=rng.lognormvariate(3.2, 0.8))  # ~1 day
    informed = assessed + dt.timedelta(days=rng.uniform(1, 14))
    decided = informed + dt.timedelta(days=rng.uniform(2, 30))
    closed = decided + dt.timedelta(days=rng.uniform(3, 60))
    return [notified, assessed, informed, decided, closed]


@dataclass(frozen=True)
class _Kinds:
    categories: list[str]
    data_categories: list[str]
    decider: int | None
    closer: int | None
    caldicott: int | None = None


def _breach_row(
    rng: random.Random,
    team: Staff,
    kinds: _Kinds,
    discovered: dt.datetime,
    now: dt.datetime,
    lost: dict | None,
) -> dict:
    """One case discovered at `discovered`, as far along as its age makes likely."""
    holder, manager = rng.choice(team.holders)
    category = "loss" if lost else _pick(rng, CATEGORY_WEIGHTS, kinds.categories)
    near_miss = category == "near_miss"
    times = _stage_times(rng, discovered)
    reached = sum(1 for t in times if t <= now)
    if reached < len(times) and rng.random() < 0.3:
        reached = max(0, reached - 1)  # some cases wait longer than usual at a stage
    notified, assessed, informed, decided, closed = (
        t if i < reached else None for i, t in enumerate(times)
    )
    police = category in ("loss", "theft") and rng.random() < 0.9
    reported = discovered + dt.timedelta(hours=rng.uniform(0.2, 8))
    row = {
        "reference": None,
        "state": STAGES[reached],
        "team": team.team_id,
        "reported_by": holder,
        "reporter_manager": manager,
        "reported_at": reported,
        "what_happened": WHAT_HAPPENED.get(category, "Papers or a message went astray."),
        "happened_at": discovered - dt.timedelta(hours=rng.uniform(0, 72)),
        "discovered_at": discovered,
        "category": category,
        "data_categories": ",".join(
            rng.sample(kinds.data_categories, k=min(2, len(kinds.data_categories)))
        ),
        "people_affected": rng.randint(1, 6),
        "records_affected": rng.randint(1, 3),
        "children_or_vulnerable": rng.random() < 0.6,
        "special_category": rng.random() < 0.3,
        "data_left_control": not near_miss,
        "police_reference": f"CR-{rng.randrange(10**7):07d}" if police else None,
        "police_recorded_at": reported if police else None,
        "line_manager_told": category in ("loss", "theft"),
        "removal": None,
        "record": None,
        "case_id": None,
        "notified_at": notified,
        "media_advised": None,
        "media_reason": None,
        "likelihood": None,
        "severity": None,
        "reportable": None,
        "high_risk": None,
        "likely_outcomes": None,
        "actions_taken": None,
        "assessed_at": assessed,
        "informed_in_person_on": None,
        "informed_in_writing_on": None,
        "skip_reason": None,
        "informed_at": informed,
        "decided_by": None,
        "caldicott_consulted": None,
        "legal_advice": None,
        "disciplinary": None,
        "ico_referred": None,
        "ico_referred_at": None,
        "ico_reference": None,
        "ico_outcome": None,
        "not_referred_reason": None,
        "delay_reason": None,
        "regulator": None,
        "decided_at": decided,
        "closed_by": None,
        "report_complete": False,
        "lessons_learned": None,
        "closed_at": closed,
        # The facts the breach work added (migration 10), filled as the pages would.
        "staff_member": holder,
        "police_officer": "PC 4471" if police else None,
        "police_told_at": reported if police else None,
        "line_manager_told_by": holder if category in ("loss", "theft") else None,
        "line_manager_told_at": reported if category in ("loss", "theft") else None,
        "reportable_reason": None,
        "ico_told_by": None,
        "ico_recorded_by": None,
        "caldicott_agreed_by": None,
        "caldicott_agreed_at": None,
        "caldicott_advice": None,
        "version": 1,
    }
    if lost:
        row.update(lost)
    if notified:
        row.update(
            media_advised=rng.random() < 0.1,
            media_reason="Low public interest; no approach from the media.",
        )
    if assessed:
        likelihood = 1 if near_miss else rng.randint(1, 5)
        severity = max(2 if row["children_or_vulnerable"] else 1, rng.randint(1, 5))
        reportable = likelihood >= 3 and severity >= 2
        row.update(
            likelihood=likelihood,
            severity=severity,
            reportable=reportable,
            high_risk=reportable and severity >= 4,
            likely_outcomes="Distress to the family.",
            actions_taken="Recipient asked to delete the message and confirm.",
            reportable_reason="The grid's score" if reportable else None,
        )
    if informed and near_miss:
        row["skip_reason"] = "A near miss: no data left council control."
    elif informed:
        row.update(
            informed_in_person_on=informed.date(),
            informed_in_writing_on=(informed + dt.timedelta(days=1)).date(),
        )
    if decided:
        referred = bool(row["reportable"]) and rng.random() < 0.9
        row.update(
            decided_by=kinds.decider,
            caldicott_consulted="Caldicott Guardian",
            legal_advice=False,
            disciplinary=rng.random() < 0.1,
            ico_referred=referred,
            caldicott_agreed_by=kinds.caldicott,
            caldicott_agreed_at=decided - dt.timedelta(hours=4),
            caldicott_advice="Agreed: tell the family in person first.",
        )
        if referred:
            # Most referrals inside the 72 hours; some late, with the reason recorded.
            hours = rng.uniform(6, 70) if rng.random() < 0.8 else rng.uniform(73, 240)
            row.update(
                ico_referred_at=discovered + dt.timedelta(hours=hours),
                ico_reference=f"IC-{(n := rng.randrange(10**6)):06d}-{n % 10_000:04d}",
                ico_told_by="Data Protection Officer",
                ico_recorded_by=kinds.decider,
            )
            if hours > 72:
                row["delay_reason"] = "The assessment needed the legal team's advice."
        elif row["reportable"]:
            row["not_referred_reason"] = "Papers recovered unopened the same day."
    if closed:
        row.update(
            closed_by=kinds.closer,
            report_complete=True,
            lessons_learned="Check the address against the case system before sending.",
        )
        if row["ico_referred"]:
            row["ico_outcome"] = "no_further_action"  # a referred case closes with it
    return row


def _number(rows: list[dict]) -> None:
    """Give each case BR-YYYY-NNNN by report date, from the year's counter (models/counters.py),
    so cases reported later through the pages carry on after these."""
    rows.sort(key=lambda r: r["reported_at"])
    per_year = Counter(str(r["reported_at"].year) for r in rows)
    with db.atomic():
        last = {
            year: NumberSeries.take(f"breach-{year}", count, start=lambda y=year: highest(y))
            for year, count in sorted(per_year.items())
        }
    following = {year: last[year] - per_year[year] for year in per_year}
    for row in rows:
        year = str(row["reported_at"].year)
        following[year] += 1
        row["reference"] = reference_for(year, following[year])


def _make_breaches(
    rng: random.Random,
    staff: list[Staff],
    breaches: int,
    now: dt.datetime,
    years: float,
    first_removal: int,
) -> None:
    from machines import breach_report

    kinds = _Kinds(
        categories=[key for key, _ in breach_report.CATEGORIES],
        data_categories=[key for key, _ in breach_report.DATA_CATEGORIES] or ["other"],
        decider=_first_with_role("assistant_director", "director"),
        closer=_first_with_role("records_manager"),
        caldicott=_first_with_role("caldicott_guardian"),
    )
    by_team = {s.team_id: s for s in staff}
    # Every synthetic lost removal gets its case, as the removal machine would have opened.
    lost = list(
        Removal.select(
            Removal.id,
            Removal.record,
            Removal.team,
            Removal.for_user,
            Removal.requester_manager,
            Record.case_id,
            Removal.lost_at,
        )
        .join(Record)
        .where(Removal.state == "lost", Removal.id >= first_removal)
        .order_by(Removal.id)
        .limit(breaches)
        .tuples()
    )
    span = dt.timedelta(days=365 * years)
    rows = []
    for i in range(breaches):
        if i < len(lost):
            removal, record, team_id, holder, manager, case_id, lost_at = lost[i]
            link = {
                "removal": removal,
                "record": record,
                "team": team_id,
                "reported_by": holder,
                "reporter_manager": manager,
                "staff_member": holder,
                "case_id": case_id,
            }
            rows.append(_breach_row(rng, by_team.get(team_id, staff[0]), kinds, lost_at, now, link))
        else:
            # Later years a little busier: people get better at reporting.
            discovered = now - span * (1 - rng.random() ** 0.8)
            rows.append(_breach_row(rng, staff[i % len(staff)], kinds, discovered, now, None))
    _number(rows)
    _insert(Breach, rows)


def seed_volume(
    removals: int = 100_000,
    breaches: int = 10_000,
    *,
    years: float = 3,
    seed: int = 114,
    now: dt.datetime | None = None,
) -> VolumeResult:
    """Add `removals` removals (about one record per five) and `breaches` cases; return counts.

    Needs teams with practitioners: creates the demo council when the database has no users.
    Safe to run again: each run adds more rows.
    """
    from demo.accounts import seed_demo

    started = time.perf_counter()
    now = now or clock.now()
    seed_demo()
    staff = team_staff()
    if not staff:
        raise ValueError("No team has practitioners or line managers to hold the papers.")
    first_removal = (Removal.select(fn.MAX(Removal.id)).scalar() or 0) + 1
    rng = random.Random(seed + first_removal)
    records = 0
    if removals:
        creator = staff[0].holders[0][0]
        records = _make_records_and_removals(rng, staff, creator, removals, now, years)
        # Their own random stream: the removals and cases stay as they were without them.
        remote = random.Random(seed + first_removal + 1)
        _make_remote_agreements(remote, staff, removals // REMOTE_PER_REMOVALS, now, years)
    if breaches:
        _make_breaches(rng, staff, breaches, now, years, first_removal)
    with db.atomic():
        AuditEvent.append(
            at=now,
            actor_id=None,
            entity_type="system",
            entity_id=0,
            event="seed_volume",
            summary={
                "records": records,
                "removals": removals,
                "breaches": breaches,
                "synthetic": True,
            },
        )
    return VolumeResult(records, removals, breaches, time.perf_counter() - started)
