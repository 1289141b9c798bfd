"""Custody journeys over HTTP: asking to take papers out and moving a removal on."""

from __future__ import annotations

import datetime as dt

from machines import clock
from models.records import Record, Removal
from tests.http.journeys import date_fields, days_from_today


def future(days=7):
    """The return-by date, `days` from today, as typed."""
    return days_from_today("due_on", days)


def request_removal(web, record, purpose="other", **extra):
    data = {
        "purpose": purpose,
        "purpose_other": "Working from home on the assessment",
        "papers": "Assessment 2025, chronology",
        "due_kind": "return",
        **future(),
        **extra,
    }
    web.get(f"/records/{record.id}/remove")
    return web.post(f"/records/{record.id}/remove", data)


def removal_of(record) -> Removal:
    return Removal.select().where(Removal.record == record).order_by(Removal.id.desc()).get()


def send(web, removal, event, htmx=False, confirm=True, **data):
    """Post an event's form; `confirm` answers the confirmation page of an event nothing
    undoes too (as a person who presses its button), so the event is sent at once."""
    data.setdefault("version", Removal.get_by_id(removal.id).version)
    if confirm:
        data.setdefault("confirmed", "yes")
    return web.post(f"/removals/{removal.id}/{event}", data, htmx=htmx)


SAFEGUARDS = {
    "lockable_bag": "yes",
    "laptop_protected": "yes",
    "no_usb_stick": "yes",
    "notebook_secure": "yes",
}


def papers_out(web, staff) -> Removal:
    """A record of Pat's team, taken out for court by whoever `web` is signed in as."""
    record = Record.create(
        case_id="1234567",
        description="Court bundle, volume 2",
        team=staff["pat"].team,
        created_by=staff["pat"],
    )
    day = clock.uk_today() + dt.timedelta(days=7)
    web.get(f"/records/{record.id}/remove")
    assert (
        web.post(
            f"/records/{record.id}/remove",
            {
                "purpose": "court",
                "papers": "Court bundle",
                "due_kind": "return",
                "due_on-day": day.day,
                "due_on-month": day.month,
                "due_on-year": day.year,
            },
        ).status_code
        == 303
    )
    removal = Removal.get(Removal.record == record)
    assert (
        web.post(
            f"/removals/{removal.id}/take_out", {"version": removal.version, **SAFEGUARDS}
        ).status_code
        == 303
    )
    return Removal.get_by_id(removal.id)


def report_lost(web, removal, **facts):
    """Report the papers lost: by default a loss, the other facts "not known yet"."""
    seen = clock.to_uk(clock.now() - dt.timedelta(hours=2))
    return web.post(
        f"/removals/{removal.id}/report_lost",
        {
            "version": removal.version,
            "last_seen_where": "On the bus after court",
            **date_fields("last_seen_on", seen.date()),
            "last_seen_on-time": seen.strftime("%H:%M"),
            "category": "loss",
            "children_or_vulnerable": "not_known",
            "special_category": "not_known",
            "confirmed": "yes",
            **facts,
        },
    )


def papers_held(holder, description, state="out", due_in_days=7, **extra) -> Removal:
    """A new record of the holder's team and a removal of it in `state`, written straight to
    the database: for lists and boards that need many rows, not for the journey itself."""
    record = Record.create(
        case_id=extra.pop("case_id", "1000009"),
        description=description,
        team=holder.team_id,
        created_by=holder,
    )
    return Removal.create(
        record=record,
        team=holder.team_id,
        state=state,
        for_user=holder,
        requested_by=holder,
        purpose=extra.pop("purpose", "court"),
        papers=extra.pop("papers", "Bundle"),
        due_on=clock.uk_today() + dt.timedelta(days=due_in_days),
        **extra,
    )
