"""The reports a breach case needs: the IRM's printable report, the ICO draft, the register CSV."""

from __future__ import annotations

import csv
import io
import re

from flask import Response, abort, render_template, request
from flask_login import current_user

from machines import breach as rules
from machines.breach import STATE_LABELS
from models import clock
from models.audit import AuditEvent
from models.breaches import BREACH_ROLES, Breach, Notification
from models.people import Team
from views.breaches import _breach_or_404, _clock, bp
from views.register import REGISTER_PAGE_ROLES, read_filters


@bp.get("/breaches/<int:breach_id>/report")
def breach_report(breach_id: int):
    breach = _breach_or_404(breach_id)
    return render_template(
        "breaches/breach_report.html", title=f"Breach report {breach.reference}",
        breach=breach, clock=_clock(breach, clock.now()),
        notifications=list(breach.notifications.order_by(Notification.at)),
        recipients=dict(rules.required_recipients(breach.category)),
        timeline=list(AuditEvent.for_entity("breach", breach.id)),
        categories=dict(rules.CATEGORIES), data_categories=dict(rules.DATA_CATEGORIES),
        state_labels=STATE_LABELS, generated_at=clock.now(),
    )


def redact(value: str | None, breach: Breach) -> str:
    """Remove identifiers from free text: the case's IDs, label codes and long numbers."""
    if not value:
        return ""
    record = breach.record
    identifiers = [breach.case_id, record.case_id if record else None,
                   record.label_code if record else None]
    for identifier in filter(None, identifiers):
        value = re.sub(re.escape(identifier), "[removed]", value, flags=re.I)
    value = re.sub(r"\bSK-[A-Z0-9]{8}\b", "[removed]", value, flags=re.I)
    return re.sub(r"\d{5,}", "[removed]", value)


@bp.get("/breaches/<int:breach_id>/ico-draft")
def ico_draft(breach_id: int):
    breach = _breach_or_404(breach_id)
    if not current_user.has_role(*BREACH_ROLES):
        abort(403)
    deadline = rules.ico_deadline(breach.discovered_at)
    late = breach.ico_referred_at and breach.ico_referred_at > deadline
    recipients = dict(rules.required_recipients(breach.category))
    return render_template(
        "breaches/ico_draft.html", title=f"ICO report draft {breach.reference}", breach=breach,
        redact=lambda v: redact(v, breach), late=late, deadline=deadline,
        categories=dict(rules.CATEGORIES), data_categories=dict(rules.DATA_CATEGORIES),
        notified_roles=[recipients.get(n.recipient, n.recipient) for n in breach.notifications],
    )


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/breaches/register.csv")
def register_csv():
    """The register as CSV, narrowed by the register page's filters when it passes them."""
    if not current_user.has_role(*REGISTER_PAGE_ROLES):
        abort(403)
    filters, errors = read_filters(request.args)
    if errors:
        abort(400)  # never hand over a wider export than the person asked for
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Reference", "Team", "Category", "Near miss", "Stage", "Happened (UTC)",
                     "Discovered (UTC)", "People affected", "Records affected",
                     "Children or vulnerable adults", "Special category", "Likelihood",
                     "Severity", "Reportable to ICO", "High risk", "ICO referred",
                     "ICO referred (UTC)", "Within 72 hours", "Disciplinary", "Regulator",
                     "Closed (UTC)"])
    query = filters.apply(Breach.select(Breach, Team).join(Team)).order_by(
        Breach.discovered_at, Breach.id
    )
    for b in query.iterator():
        within = ""
        if b.ico_referred_at:
            within = "yes" if b.ico_referred_at <= rules.ico_deadline(b.discovered_at) else "no"
        writer.writerow([_cell(v) for v in (
            b.reference, b.team.name, b.category, "yes" if b.category == "near_miss" else "no",
            b.state, b.happened_at, b.discovered_at, b.people_affected, b.records_affected,
            b.children_or_vulnerable, b.special_category, b.likelihood, b.severity,
            b.reportable, b.high_risk, b.ico_referred, b.ico_referred_at, within,
            b.disciplinary, b.regulator, b.closed_at,
        )])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=breach-register-{clock.uk_today()}.csv"})
