"""The accessibility statement the 2018 Regulations require: public, like the sign-in page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from machines.permissions import Can

bp = Blueprint("accessibility", __name__)

# The statement's facts, in one place (tests/http/test_accessibility.py holds the page to
# them, and each known issue to the browser test that shows it: a fix makes that test pass,
# which fails until the issue is taken off this list). Change them when the statement is
# reviewed or the service is tested again.
PREPARED_ON = dt.date(2026, 11, 29)
REVIEWED_ON = dt.date(2026, 12, 7)
TESTED_IN = "December 2026"
TEST_METHOD = (
    "an outside accessibility audit: 461 page states checked with axe-core against WCAG 2.2 A "
    "and AA, every journey with a keyboard alone and with JavaScript turned off, reflow at 320 "
    "pixels wide (400% zoom), time limits, where the focus goes after a change, and printing"
)


@dataclass(frozen=True)
class KnownIssue:
    """A part of the service that fails a WCAG 2.2 AA success criterion, until it is fixed."""

    key: str  # the browser test that shows it is marked known_issue(key)
    what: str
    criterion: str


# None known now: the board's figures reflow as a list at 320 px and the risk grid keeps its
# words whole (issue 25). A new one comes with its known_issue test.
KNOWN_ISSUES: tuple[KnownIssue, ...] = ()


@bp.get("/accessibility")
def statement():
    kiosk = current_user.is_authenticated and current_user.can(Can.KIOSK_DEVICE)
    person = None
    if kiosk:
        # The kiosk PC keeps its own frame here: a way back and no "Sign out" for passers-by.
        from views.kiosk import kiosk_person

        person = kiosk_person()
    return render_template(
        "accessibility/statement.html",
        title="Accessibility statement",
        kiosk_layout=kiosk,
        person=person,
        contact_email=current_app.config["ACCESSIBILITY_EMAIL"],
        idle_minutes=current_app.config["SESSION_IDLE_MINUTES"],
        prepared_on=PREPARED_ON,
        reviewed_on=REVIEWED_ON,
        tested_in=TESTED_IN,
        test_method=TEST_METHOD,
        known_issues=KNOWN_ISSUES,
    )
