"""Every link a person is shown leads to a page they may open: the links ask the same rule
the pages do (views.access.may_open), so nobody follows one to "You do not have access"."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from models.records import Record
from tests.http.journeys import Cast, days_from_today
from tests.http.journeys.breaches import CHAIN
from tests.http.journeys.sending import draft
from tests.http.journeys.sending import latest as latest_dispatch

# Links that do something other than show a page, or need a row made for them first.
NOT_PAGES = re.compile(r"^/(static/|sign-out|kiosk|healthz)|\.csv$|/print$")


def links_on(html: str) -> set[str]:
    hrefs = set(re.findall(r'<a [^>]*href="([^"#]+)', html))
    return {h for h in hrefs if h.startswith("/") and not NOT_PAGES.search(urlsplit(h).path)}


def test_no_one_is_shown_a_link_to_a_page_they_may_not_open(people, new_web):
    dana = people.add("dana", "director", team="Directorate")
    lina = people.add("lina", "line_manager", manager=dana)
    pat_user = people.add("pat", "practitioner", manager=lina)
    for username, role in CHAIN.items():
        if role != "director":
            people.add(username, role, team="Directorate")
    cast = Cast(new_web)
    pat = cast["pat"]
    assert draft(pat).status_code == 303
    dispatch = latest_dispatch()
    pat.get("/remote-working/new")
    asked = {"where": "Home", "why": "Writing a court report", **days_from_today("ends_on", 5)}
    assert pat.post("/remote-working/new", asked).status_code == 303
    record = Record.create(
        case_id="1234567", description="Court bundle", team=lina.team_id, created_by=pat_user.id
    )
    from models.remote_working import RemoteAgreement

    agreement = RemoteAgreement.select().get()
    starts = [
        "/",
        "/board",
        f"/dispatches/{dispatch.id}",
        f"/remote-working/{agreement.id}",
        f"/records/{record.id}",
        "/breaches",
        "/register",
        "/account",
    ]
    for username in ["pat", "lina", "dana", *[u for u in CHAIN if u != "dir"]]:
        web = cast[username]
        seen: set[str] = set()
        for start in starts:
            response = web.client.get(start)
            if response.status_code != 200:
                continue  # not theirs to open: they are not linked to it (checked below)
            seen |= links_on(response.get_data(as_text=True))
        refused = {
            href: status
            for href in sorted(seen)
            if (status := web.client.get(href).status_code) in (403, 404)
        }
        assert not refused, f"{username} is shown links to pages they may not open: {refused}"
