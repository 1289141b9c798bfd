"""Secure-sending journeys over HTTP: a draft and the steps of a dispatch."""

from __future__ import annotations

from models.dispatches import Dispatch

CHECKS = {
    "address_source": "case_record",
    "address_confirmed": "yes",
    "addressee_confirmed": "yes",
    "right_to_information_confirmed": "yes",
    "lawful_basis": "Court direction to share the assessment",
}


def draft(web, method="secure_email", address="guardian@cafcass.example.org"):
    web.get("/send/new")
    return web.post(
        "/send/new",
        {
            "case_id": "1234567",
            "description": "Assessment and chronology",
            "method": method,
            "recipient_organisation": "Cafcass",
            "recipient_role": "Children's guardian",
            "address": address,
        },
    )


def latest() -> Dispatch:
    return Dispatch.select().order_by(Dispatch.id.desc()).get()


def send(web, event, htmx=False, confirm=True, **data):
    """Post an event's form; `confirm` answers the confirmation page of an event nothing
    undoes too, so the event is sent at once."""
    d = latest()
    data.setdefault("version", d.version)
    if confirm:
        data.setdefault("confirmed", "yes")
    return web.post(f"/dispatches/{d.id}/{event}", data, htmx=htmx)
