"""Account journeys over HTTP: an administrator's forms, what the audit trail says, and a
small mail server for password links."""

from __future__ import annotations

import re
import threading
from email import message_from_bytes
from email.policy import default as default_policy

from models.audit import AuditEvent
from models.people import User
from tests.http.journeys import Page


def person_form(user: User | None = None, **changes) -> dict:
    """The add/edit form as an administrator fills it: the person as they are, then changes."""
    data = {}
    if user is not None:
        data = {
            "display_name": user.display_name,
            "staff_number": user.staff_number,
            "email": user.email or "",
            "team_id": user.team_id or "",
            "line_manager_id": user.line_manager_id or "",
            "roles": sorted(user.roles),
            "profession": user.profession or "",
            "version": User.get_by_id(user.id).version,
        }
    data.update(changes)
    return data


def new_person(team, **changes) -> dict:
    return {
        "username": "jbloggs",
        "display_name": "Jo Bloggs",
        "staff_number": "55501",
        "email": "jo.bloggs@council.example",
        "team_id": team.id,
        "roles": ["practitioner"],
        "profession": "social_worker",
        **changes,
    }


def events(entity: str, entity_id: int, event: str | None = None) -> list[AuditEvent]:
    query = AuditEvent.select().where(
        AuditEvent.entity_type == entity, AuditEvent.entity_id == entity_id
    )
    if event:
        query = query.where(AuditEvent.event == event)
    return list(query.order_by(AuditEvent.id))


def signed_out(web) -> bool:
    """True when this browser's session no longer works (home sends it to sign in)."""
    return web.client.get("/").status_code == 302


def work_seen(html: str) -> str:
    """The hand-over form's record of the work it showed (posted back with the choice)."""
    return re.search(r'name="work_seen" value="([^"]*)"', html).group(1)


def person_page(web, user) -> Page:
    return Page.of(web.get(f"/admin/people/{user.id}"))


class Inbox:
    """An aiosmtpd handler that keeps every message (for reset links)."""

    def __init__(self):
        self.messages: list[tuple[str, object]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            message = message_from_bytes(envelope.original_content, policy=default_policy)
            for rcpt in envelope.rcpt_tos:
                self.messages.append((rcpt, message))
        return "250 OK"

    def to(self, address: str) -> list:
        return [msg for to, msg in self.messages if to == address]
