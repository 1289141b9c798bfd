"""Template filters: times are stored in UTC and shown in UK local time."""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup

from machines.breach_report import CATEGORIES, REGULATORS, required_recipients
from machines.clock import to_uk, uk_today
from machines.removal import STATE_LABELS as REMOVAL_STATE_LABELS
from models.people import User
from services.handover import DUTIES


def uk_datetime(value: dt.datetime | None) -> str:
    """Format a stored UTC time as UK local time, e.g. '3 March 2026 at 2:05pm'."""
    if value is None:
        return ""
    local = to_uk(value)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{local:%p}".replace("AM", "am").replace(
        "PM", "pm"
    )


def time_parts(value: dt.datetime | None) -> dict[str, str]:
    """A stored UTC time as the boxes of a date-and-time field show it: UK day, month, year
    and 24-hour time."""
    if value is None:
        return {"day": "", "month": "", "year": "", "time": ""}
    local = to_uk(value)
    return {
        "day": str(local.day),
        "month": str(local.month),
        "year": str(local.year),
        "time": f"{local:%H:%M}",
    }


def uk_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_uk(value).date()
    return f"{value.day} {value:%B %Y}"


TIMELINE_LABELS = {
    # Safekeep's own e-mails: what became of each (models/deliveries.py).
    "delivery": "E-mail from Safekeep",
    "delivery_raised": "E-mail not delivered: raised",
    "add_record": "Record added",
    "request": "Removal requested",
    "approve": "Removal approved",
    "decline": "Removal declined",
    "cancel": "Removal cancelled",
    "take_out": "Papers taken out, safeguards confirmed",
    "return_papers": "Papers returned to the office",
    "destroy": "Papers destroyed",
    "report_lost": "Papers reported lost",
    "ask_extension": "More time asked for",
    "agree_extension": "More time agreed",
    "refuse_extension": "More time refused",
    "extend": "Return date extended",
    "confirm_location": "Whereabouts confirmed with the holder",
}


# Where two lifecycles share an event name, the entity decides the words.
ENTITY_TIMELINE_LABELS = {
    ("dispatch", "draft"): "Dispatch drafted",
    ("dispatch", "check"): "Address, addressee and right to the information checked",
    ("dispatch", "mark_sent"): "Recorded as sent",
    ("dispatch", "confirm_delivered"): "Delivery confirmed",
    ("dispatch", "report_misdirected"): "Reported as sent to the wrong recipient",
    ("dispatch", "cancel"): "Dispatch cancelled",
    ("remote_agreement", "ask"): "Asked to work remotely",
    ("remote_agreement", "agree"): "Agreed",
    ("remote_agreement", "decline"): "Declined",
    ("remote_agreement", "withdraw"): "Withdrawn",
    ("remote_agreement", "expire"): "Expired: the end date passed",
    ("breach", "report"): "Breach reported",
    ("breach", "record_police"): "Police details recorded",
    ("breach", "update_report"): "Report checked and corrected",
    ("breach", "emailed"): "Told by email from Safekeep",
    ("breach", "line_manager_not_told"): "Line manager not told: the e-mail was not delivered",
    ("breach", "refer_to_ico"): "ICO referral recorded",
    ("breach", "write_ico_summary"): "Summary for the ICO written",
    ("breach", "notify"): "Notifications recorded",
    ("breach", "assess_risk"): "Risk assessed",
    ("breach", "record_meeting"): "Service user told face to face",
    ("breach", "inform_service_user"): "Service user told in writing",
    ("breach", "caldicott_agree"): "Caldicott Guardian's agreement recorded",
    ("breach", "record_exemption"): "Exemption from telling the service user approved",
    ("breach", "skip_informing"): "Near miss: no one to tell",
    ("breach", "decide"): "Decision recorded",
    ("breach", "close"): "Case closed",
    ("breach", "record_ico_outcome"): "ICO's outcome recorded",
    ("ico_item", "record"): "Recorded",
    ("ico_item", "change_due"): "Due date changed",
    ("ico_item", "answer"): "Answer sent to the ICO recorded",
    ("breach_action", "add"): "Action added",
    ("breach_action", "reassign"): "Owner or due date changed",
    ("breach_action", "complete"): "Done, with evidence",
    ("breach_action", "accept_not_needed"): "Accepted as not needed",
    ("breach_action", "hand_over"): "Handed over to a new owner",
}


def delivery_words(delivery, now: dt.datetime) -> str:
    """What became of one of Safekeep's e-mails, as the case page and the board say it."""
    if delivery.overdue(now):
        return "Not delivered within the hour (no receipt from GOV.UK Notify yet)"
    return delivery.status_label


def event_words(entity_type: str, event: str) -> str:
    """A person's words for a change: its timeline entry, and what a panel says once done."""
    label = ENTITY_TIMELINE_LABELS.get((entity_type, event))
    return label or TIMELINE_LABELS.get(event, event.replace("_", " ").capitalize())


def timeline_label(event) -> str:
    """A person's words for an audit event."""
    return event_words(event.entity_type, event.event)


# Audit summaries store field names and codes; the timeline shows them in words.
DETAIL_LABELS = {
    "purpose": "Purpose",
    "papers": "Papers",
    "due_kind": "Due",
    "due_on": "By",
    "note": "Note",
    "reason": "Reason",
    "safeguards": "Safeguards",
    "method": "Method",
    "witness": "Witness",
    "last_seen_where": "Last seen",
    "last_seen_at": "Last seen at",
    "address_source": "Address checked against",
    "lawful_basis": "Lawful basis",
    "tracking_reference": "Tracking",
    "delivery_evidence": "Evidence",
    "category": "Category",
    "reference": "Reference",
    "removal": "Opened from removal",
    "dispatch": "Opened from dispatch",
    "told": "Told",
    "media_advised": "Media office advised",
    "reportable_override": "Reportable (overriding the grid)",
    "informed_in_person_on": "Told face to face",
    "informed_in_writing_on": "Told in writing",
    "exemption_reason": "Reason",
    "skip_reason": "Reason",
    "ico_referred": "Referred to the ICO",
    "ico_reference": "ICO reference",
    "legal_advice": "Legal advice taken",
    "regulator": "Professional regulator",
    "lessons_learned": "Lessons learned",
    "police_reference": "Police crime reference",
    "police_officer": "Officer or station",
    "police_told_at": "Police told",
    "line_manager_told": "Line manager told",
    "changed": "Changed",
    "ico_referred_at": "ICO told",
    "ico_told_by": "ICO told by",
    "reportable_reason": "Why",
    "caldicott_advice": "Advice",
    "staff_member": "Whose conduct",
    "new_due_on": "New date",
    "where": "Where",
    "how": "How checked",
    "confirmed_on": "Checked on",
    "ends_on": "Until",
    "ended_on": "Ended on",
}
# Codes whose words depend on the field (a breach category "other" is not a purpose "other").
VALUES_BY_FIELD = {
    "category": dict(CATEGORIES),
    "told": dict(required_recipients("loss")),  # a loss's list is the longest (insurers too)
    "regulator": dict(REGULATORS),
    "handed_over": {
        duty: f"the person who {words}"
        for duty, (words, _) in DUTIES.items()
        if duty != "remote_worker"
    },
}
DETAIL_VALUES = {
    "court": "court",
    "professional_meeting": "professional meeting",
    "service_user_meeting": "meeting with the service user",
    "other": "other (agreed by the line manager)",
    "return": "back in the office",
    "destroy": "to be destroyed",
    "shredded": "shredded",
    "confidential_waste": "confidential waste",
    "case_record": "case record",
    "court_order": "court order",
    "professional_directory": "professional directory",
    "secure_email": "secure email",
    "special_delivery": "special delivery post",
    "recipient_acknowledged": "the recipient acknowledged receipt",
    "tracking_delivered": "tracking shows delivered",
    "in_person": "in person",
    "phone": "by phone",
    "video_call": "by video call",
    "message": "by email or message",
}


def timeline_by(event) -> str:
    """Who did it, for whom, and where: "by Sam Patel on behalf of Pat Reyes at the North
    kiosk". Every line made at a kiosk names the kiosk."""
    words = []
    actor = getattr(event, "actor_user", None)
    if actor is not None and actor.id:
        words.append(f"by {actor.display_name}")
    on_behalf_of = (event.details or {}).get("on_behalf_of")
    if on_behalf_of:
        words.append(f"on behalf of {on_behalf_of}")
    kiosk = getattr(event, "kiosk_user", None)
    if kiosk is not None and kiosk.id and (actor is None or kiosk.id != actor.id):
        words.append(f"at {kiosk.display_name}")
    return " ".join(words)


def answer_words(value) -> str:
    """A parsed form value as a person reads it back (dates, times, codes, yes and no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return uk_datetime(value)
    if isinstance(value, dt.date):
        return uk_date(value)
    if isinstance(value, dt.time):
        return f"{value:%H:%M}"
    if isinstance(value, list | tuple):
        return ", ".join(answer_words(v) for v in value)
    if isinstance(value, str):
        return DETAIL_VALUES.get(value, value)
    return str(value)


# Said in the timeline line itself (timeline_by), not repeated among the details.
_IN_THE_HEADLINE = {"on_behalf_of"}
# Details that refer to a person by account id (ids stay right when a name changes); a
# timeline shows them by the person's name. "to" is the name a hand-over also wrote down.
PERSON_DETAILS = {"from_user": "From", "to_user": "To"}
_SAID_BY_PERSON_DETAILS = {"to"}


def naming_people(events: list) -> list:
    """`events` with the people their details refer to by id named (one query for all)."""
    ids = {
        value
        for event in events
        for key, value in (event.details or {}).items()
        if key in PERSON_DETAILS and isinstance(value, int)
    }
    names = (
        dict(User.select(User.id, User.display_name).where(User.id.in_(ids)).tuples())
        if ids
        else {}
    )
    for event in events:
        event.people_named = names
    return events


def _person(event, value) -> str:
    if not hasattr(event, "people_named"):  # an event shown alone: one query for it
        naming_people([event])
    return event.people_named.get(value, "a person no longer on Safekeep")


def timeline_details(event) -> list[tuple[str, str]]:
    """An audit event's summary as (label, value) pairs in words, empty values left out."""
    pairs = []
    details = event.details or {}
    for key, value in details.items():
        if value in (None, "") or key in _IN_THE_HEADLINE:
            continue
        if key in _SAID_BY_PERSON_DETAILS and PERSON_DETAILS.keys() & details.keys():
            continue
        if key in PERSON_DETAILS:
            pairs.append((PERSON_DETAILS[key], _person(event, value)))
            continue
        if key in VALUES_BY_FIELD and isinstance(value, str):
            words = VALUES_BY_FIELD[key]
            value = ", ".join(words.get(code, code) for code in value.split(", "))
        elif isinstance(value, str):
            value = DETAIL_VALUES.get(value, value)
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                value = uk_datetime(parsed) if "T" in value else uk_date(parsed.date())
        if isinstance(value, bool):
            value = "yes" if value else "no"
        pairs.append((DETAIL_LABELS.get(key, key.replace("_", " ").capitalize()), str(value)))
    return pairs


def where_now(record, today: dt.date) -> str:
    """Where the record's papers are, in words (the list and the CSV say the same)."""
    latest = record.latest
    where = record.whereabouts
    if where == "out":
        overdue = f", {(today - latest.due_on).days} days overdue" if latest.due_on < today else ""
        kind = "to be destroyed by" if latest.due_kind == "destroy" else "until"
        return f"Out with {latest.holder.display_name} {kind} {uk_date(latest.due_on)}{overdue}"
    if where == "destroyed":
        return f"Destroyed on {uk_date(latest.destroyed_at or latest.closed_at)}"
    if where == "lost":
        return f"Reported lost on {uk_date(latest.lost_at or latest.closed_at)}"
    if latest is not None and latest.id and latest.state in ("requested", "approved_for_removal"):
        return f"In the office, asked for by {latest.holder.display_name}"
    return "In the office"


# (what the User-Agent carries, the words shown): the first match wins, so Edge and Opera
# (which also say "Chrome") come before Chrome, and Chrome (which also says "Safari") before it.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "Mac"),
    ("Linux", "Linux"),
)
USER_AGENT_READ = 512  # a header is bounded before it is searched


def device_words(user_agent: str | None) -> str:
    """A browser and system a person recognises ("Chrome on Windows"), from a User-Agent
    header, so their sessions can be told apart. Nothing else of the header is kept."""
    header = (user_agent or "")[:USER_AGENT_READ]
    browser = next((words for mark, words in _BROWSERS if mark in header), None)
    system = next((words for mark, words in _SYSTEMS if mark in header), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Browser not known"


def link(href: str, text: object) -> Markup:
    """A GOV.UK link for a component's "html" parameter, with the text escaped.

    Building that HTML with Jinja's `~` either escapes the whole string (when any part is
    Markup) or none of it; this escapes exactly the text.
    """
    return Markup('<a class="govuk-link" href="{}">{}</a>').format(href, text)


def training_words(person: User, training, own: bool = False) -> str:
    """A person's data protection training in a sentence: "Alex Byrne's ... lapsed on ..."."""
    return training.described(uk_today(), "Your" if own else f"{person.display_name}'s")


# A removal's status as a GOV.UK tag, on the home page's list of a person's papers as on the
# record page: written here, a Jinja macro a row cost more than the rest of the row.
_STATE_COLOURS = {
    "requested": "yellow",
    "approved_for_removal": "blue",
    "out": "orange",
    "returned": "green",
    "destroyed": "grey",
    "lost": "red",
    "declined": "grey",
    "cancelled": "grey",
    "in_office": "green",
}
_OVERDUE_TAG = '<strong class="govuk-tag govuk-tag--red">Overdue</strong> '


def state_tag(removal) -> Markup:
    """The removal's status tag, after an "Overdue" one when it is overdue."""
    # "Approved to take out" would wrap at GOV.UK's 160px tag width (on the kiosk above all).
    wide = " app-tag--wide" if removal.state == "approved_for_removal" else ""
    overdue = _OVERDUE_TAG if removal.is_overdue else ""
    return Markup(
        f'{overdue}<strong class="govuk-tag govuk-tag--{_STATE_COLOURS[removal.state]}{wide}">'
        f"{REMOVAL_STATE_LABELS[removal.state]}</strong>"
    )
