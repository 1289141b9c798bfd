"""The reports a breach case needs: the IRM's printable report, the ICO draft, the register CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from flask import Response, abort, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from peewee import Tuple

from machines import breach_clocks, breach_rules, clock, privacy
from machines import breach_report as report_facts
from machines.breach import STATE_LABELS, BreachMachine
from machines.breach_clocks import case_clock
from machines.common import enabled_events
from machines.permissions import Can
from machines.risk import grid_rows
from machines.security_log import security_event
from models.audit import AuditEvent
from models.base import write_transaction
from models.breaches import Breach, Notification
from models.people import Team, User
from services.training import involved_training
from views.access import requires, visible_or_404
from views.breaches import CASES, bp, linked_items
from views.display import naming_people
from views.forms import FormErrors
from views.forms.breaches import GRID
from views.register import read_filters
from views.transitions import run_event


def record_read(what: str, entity_type: str, entity_id: int, summary: dict | None = None) -> None:
    """Put who read a sensitive report in the audit trail and the security log.

    A read changes nothing, so it gets its own entity type (`breach_export`,
    `register_export`): the case's timeline and the lifecycle check stay about changes.
    """
    now = clock.now()
    with write_transaction():
        AuditEvent.append(
            at=now,
            actor_id=current_user.id,
            entity_type=entity_type,
            entity_id=entity_id,
            event=what,
            summary=summary,
        )
    security_event(what, user_id=current_user.id, entity_id=entity_id, **(summary or {}))


@bp.get("/breaches/<int:breach_id>/report")
def breach_report(breach_id: int):
    breach = visible_or_404(Breach, breach_id)
    # The printable report holds the whole case: who opened it to print is on record.
    record_read("view_breach_report", "breach_export", breach.id)
    return render_template(
        "breaches/breach_report.html",
        title=f"Breach report {breach.reference}",
        breach=breach,
        clock=case_clock(breach, clock.now()),
        notifications=list(breach.notifications.order_by(Notification.at)),
        recipients=dict(report_facts.required_recipients(breach.category)),
        timeline=naming_people(list(AuditEvent.for_entity("breach", breach.id))),
        categories=dict(report_facts.CATEGORIES),
        data_categories=dict(report_facts.DATA_CATEGORIES),
        state_labels=STATE_LABELS,
        generated_at=clock.now(),
        linked=linked_items(breach),
        grid=GRID,
        grid_rows=grid_rows(GRID),
    )


EMAIL = re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.[a-z]{2,}", re.I)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I)
LABEL_CODE = re.compile(r"\bSK-[A-Z0-9]{8}\b", re.I)
LONG_NUMBER = re.compile(r"\d{5,}")


def known_names(breach: Breach) -> list[str]:
    """Names the free text of a case may carry: every member of staff, and the names typed
    as who was told or who was consulted. Service users' names are never stored, so the
    draft still tells the reader to check the free text."""
    names = {name for (name,) in User.select(User.display_name).tuples()}
    names.update(n.who for n in breach.notifications)
    names.add(breach.caldicott_consulted)
    return [n.strip() for n in names if n and n.strip()]


def name_pattern(names: list[str]) -> re.Pattern | None:
    """Whole names in any case, then each capitalised part of a name on its own ("Reyes's
    car"); parts match only capitalised, so "Duty Director" does not take "director" out of
    every sentence."""
    if not names:
        return None
    parts = {
        part
        for name in names
        for part in re.split(r"[\s,]+", name)
        if len(part) >= 3 and part[0].isupper()
    }
    whole = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    single = "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
    alternatives = f"(?i:{whole})" + (f"|{single}" if single else "")
    return re.compile(rf"\b(?:{alternatives})\b(?:'s)?")


def redact(value: str | None, breach: Breach, names: re.Pattern | None = None) -> str:
    """Remove identifiers from free text: whatever the entry check looks for (NHS and National
    Insurance numbers, addresses, postcodes, phone numbers, emails, titled names, dates of
    birth: machines/privacy.py, in case something older or odder got in), the case's IDs and
    label codes, staff and contact names, and long numbers (the ICO draft holds no personal
    data). Over-removing is the safe side: the person sending it reads it first."""
    if not value:
        return ""
    value = privacy.redact(value)
    record = breach.record
    dispatch = breach.dispatch
    identifiers = [
        breach.case_id,
        record.case_id if record else None,
        record.label_code if record else None,
        dispatch.address if dispatch else None,
        dispatch.case_id if dispatch else None,
    ]
    for identifier in filter(None, identifiers):
        value = re.sub(re.escape(identifier.strip()), "[removed]", value, flags=re.I)
    for pattern in (EMAIL, UK_POSTCODE, LABEL_CODE, LONG_NUMBER, names):
        if pattern is not None:
            value = pattern.sub("[removed]", value)
    return value


@bp.get("/breaches/<int:breach_id>/ico-draft")
def ico_draft(breach_id: int):
    breach = visible_or_404(Breach, breach_id)
    if not current_user.can(Can.HANDLE_EVERY_BREACH):
        abort(403)
    record_read("view_ico_draft", "breach_export", breach.id)
    return _render_ico_draft(breach)


@bp.post("/breaches/<int:breach_id>/ico-draft")
def write_ico_summary(breach_id: int):
    """The Information and Records Manager's summary for the ICO, written on the draft."""
    breach = visible_or_404(Breach, breach_id)
    actor = current_user.as_actor()

    def refused_for_the_case() -> str | None:
        if actor.can(Can.WRITE_ICO_SUMMARY) and breach_rules.is_skippable_near_miss(breach):
            return "A near miss that kept the data in is not a breach to report to the ICO."
        return None

    outcome = run_event(CASES, breach, "write_ico_summary", actor, forbidden=refused_for_the_case)
    if outcome.done:
        return redirect(url_for("breaches.ico_draft", breach_id=breach_id), code=303)
    return _render_ico_draft(
        Breach.get_by_id(breach_id), outcome.errors, outcome.typed, outcome.status
    )


def _render_ico_draft(breach: Breach, errors=None, form=None, status: int = 200):
    """The ICO's form answered from the case's structured answers and the summary written
    for the ICO: no free text typed by a reporter or anyone else reaches it (issue: ICO draft
    by construction). The summary was checked for personal data when it was written."""
    now = clock.now()
    deadline = breach_clocks.ico_deadline(breach.discovered_at)
    told_at = breach.ico_referred_at or now
    recipients = dict(report_facts.required_recipients(breach.category))
    events = enabled_events(BreachMachine, breach, current_user.as_actor(), now)
    actions = dict(report_facts.CONTAINMENT_ACTIONS)
    return render_template(
        "breaches/ico_draft.html",
        title=f"ICO report draft {breach.reference}",
        breach=breach,
        involved=involved_training(breach),
        late=told_at > deadline,
        deadline=deadline,
        kept_in=breach_rules.is_skippable_near_miss(breach),
        categories=dict(report_facts.CATEGORIES),
        data_categories=dict(report_facts.DATA_CATEGORIES),
        likelihood=GRID.likelihood_label(breach.likelihood) if breach.likelihood else None,
        severity=GRID.severity_label(breach.severity) if breach.severity else None,
        containment=[actions[key] for key in breach.containment_action_list if key in actions],
        containment_actions=report_facts.CONTAINMENT_ACTIONS,
        notified_roles=[recipients.get(n.recipient, n.recipient) for n in breach.notifications],
        can_write_summary="write_ico_summary" in events,
        # A second net under the entry check: the case's own IDs and staff names come out.
        redact=lambda value: redact(value, breach, name_pattern(known_names(breach))),
        errors=errors or FormErrors(),
        form=form or _summary_as_typed(breach),
    ), status


def _summary_as_typed(breach: Breach) -> dict:
    """The summary form filled with what is on the case, to be changed."""
    return {
        "ico_summary": breach.ico_summary or "",
        "ico_late_reason": breach.ico_late_reason or "",
        "containment_actions": breach.containment_action_list,
    }


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _yes_no(answer: bool | None) -> str:
    """One spelling for every yes/no column: "yes", "no", or empty while there is no answer
    (not known yet, or not decided yet): a spreadsheet filter then sees three values, not five."""
    return "" if answer is None else ("yes" if answer else "no")


# Rows read this many at a time, in the order of the index on discovered_at: memory stays
# the same whatever the size of the register, on both databases.
CSV_BATCH = 500


def _csv_lines(header: list[str], query) -> Iterator[str]:
    """The CSV a batch of cases at a time (keyset paging: each batch after the last row)."""
    out = io.StringIO()
    writer = csv.writer(out)

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(header)
    yield flush()
    after = None
    while True:
        batch = query
        if after is not None:
            batch = batch.where(
                Tuple(Breach.discovered_at, Breach.id) > Tuple(after.discovered_at, after.id)
            )
        rows = list(batch.order_by(Breach.discovered_at, Breach.id).limit(CSV_BATCH))
        for b in rows:
            within = None
            if b.ico_referred_at:
                within = b.ico_referred_at <= breach_clocks.ico_deadline(b.discovered_at)
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        b.reference,
                        b.team.name,
                        b.category,
                        _yes_no(b.category == "near_miss"),
                        b.state,
                        b.happened_at,
                        b.discovered_at,
                        b.people_affected,
                        b.records_affected,
                        _yes_no(b.children_or_vulnerable),
                        _yes_no(b.special_category),
                        b.likelihood,
                        b.severity,
                        _yes_no(b.reportable),
                        _yes_no(b.high_risk),
                        _yes_no(b.ico_referred),
                        b.ico_referred_at,
                        _yes_no(within),
                        _yes_no(b.disciplinary),
                        b.regulator,
                        b.closed_at,
                    )
                ]
            )
        if rows:
            yield flush()
        if len(rows) < CSV_BATCH:
            return
        after = rows[-1]


@bp.get("/breaches/register.csv")
@requires(Can.EXPORT_REGISTER)
def register_csv():
    """The register as CSV, narrowed by the register page's filters when it passes them."""
    filters, errors = read_filters(request.args)
    if errors:
        abort(400)  # never hand over a wider export than the person asked for
    # The filters say what was exported (stage, category, team, dates: no personal data).
    record_read(
        "export_register_csv",
        "register_export",
        0,
        {
            k: str(v)
            for k, v in (
                ("state", filters.state),
                ("category", filters.category),
                ("team", filters.team),
                ("from", filters.date_from),
                ("to", filters.date_to),
            )
            if v
        },
    )
    header = [
        "Reference",
        "Team",
        "Category",
        "Near miss",
        "Stage",
        "Happened (UTC)",
        "Discovered (UTC)",
        "People affected",
        "Records affected",
        "Children or vulnerable adults",
        "Special category",
        "Likelihood",
        "Severity",
        "Reportable to ICO",
        "High risk",
        "ICO referred",
        "ICO referred (UTC)",
        "Within 72 hours",
        "Disciplinary",
        "Regulator",
        "Closed (UTC)",
    ]
    query = filters.apply(Breach.select(Breach, Team).join(Team))
    return Response(
        stream_with_context(_csv_lines(header, query)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=breach-register-{clock.uk_today()}.csv"
        },
    )
