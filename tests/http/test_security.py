"""Sign-in everywhere, a strict CSP the pages keep, no personal data in URLs or logs,
sessions that really end, and audit writes that cannot be half-saved.

test_auth.py already covers: a signed-out GET / redirect, the pre-sign-out cookie on GET /,
the 29/31-minute idle boundary, CSRF on /sign-out and the CSP header of the home page.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote_plus, urljoin, urlsplit

import pytest

from machines import clock
from models.audit import AuditEvent
from models.breaches import Breach
from models.dispatches import Dispatch
from models.people import UserSession
from models.records import Record, Removal
from tests.conftest import PIN
from tests.http.conftest import csrf_from
from tests.http.journeys import ago, typed

CASE_ID = "7731905"
BREACH_CASE_ID = "AB-99231"
STAFF_NUMBERS = {
    "pat": "SN884421",
    "lina": "SN771202",
    "sam": "SN660313",
    "rita": "SN550424",
    "dave": "SN440535",
    "kiosk1": "SN330646",
    "alex": "SN220757",
}
RECIPIENT = "guardian@cafcass.example.org"
POSTAL = "Flat 9, 12 Quarry Lane, Leeds LS1 4ZZ"
SAFEGUARDS = {
    "lockable_bag": "yes",
    "laptop_protected": "yes",
    "no_usb_stick": "yes",
    "notebook_secure": "yes",
}
URL_ATTRIBUTES = {
    "href",
    "action",
    "src",
    "formaction",
    "hx-get",
    "hx-post",
    "hx-put",
    "hx-patch",
    "hx-delete",
    "hx-push-url",
    "hx-replace-url",
    "data-url",
}


# -- Recording every URL the app hands out ------------------------------------------------


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.inline_scripts: list[dict] = []
        self.handlers: list[str] = []
        self.inline_styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value:
                self.urls.append(value)
            if name.startswith("on") or name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            if (
                value
                and name in ("href", "src", "action")
                and value.strip().lower().startswith("javascript:")
            ):
                self.handlers.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.inline_styles.append(f"<{tag} style={value!r}>")
        if tag == "script" and not dict(attrs).get("src"):
            self.inline_scripts.append(dict(attrs))
        if tag == "style":
            self.inline_styles.append("<style> element")


class Recorder:
    """Wraps a test client: keeps every response's URLs, Location and HX-* headers."""

    def __init__(self):
        self.urls: list[tuple[str, str]] = []  # (where found, url)
        self.pages: list[tuple[str, object]] = []

    def wrap(self, client):
        original = client.open

        def open_(*args, **kwargs):
            response = original(*args, **kwargs)
            where = str(args[0] if args else kwargs.get("path", "?"))
            for header in (
                "Location",
                "HX-Redirect",
                "HX-Location",
                "HX-Push-Url",
                "HX-Replace-Url",
            ):
                if header in response.headers:
                    self.urls.append((f"{where} {header}", response.headers[header]))
            if response.mimetype == "text/html":
                self.pages.append((where, response))
                page = _Page()
                page.feed(response.get_data(as_text=True))
                self.urls.extend((where, u) for u in page.urls)
            return response

        client.open = open_
        return client


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def staff(people):
    lina = people.add("lina", "line_manager", staff_number=STAFF_NUMBERS["lina"])
    for name in ("pat", "sam"):
        people.add(name, "practitioner", manager=lina, staff_number=STAFF_NUMBERS[name])
    people.add("rita", "records_manager", "dpo", staff_number=STAFF_NUMBERS["rita"])
    people.add(
        "dave", "assistant_director", "caldicott_guardian", staff_number=STAFF_NUMBERS["dave"]
    )
    people.add("kiosk1", "kiosk", pin=None, staff_number=STAFF_NUMBERS["kiosk1"])
    people.add("alex", "practitioner", team="Adults East", staff_number=STAFF_NUMBERS["alex"])
    return people


def person(new_web, recorder, username):
    web = new_web()
    recorder.wrap(web.client)
    web.sign_in(username)
    web.get("/kiosk/" if username == "kiosk1" else "/")
    return web


def journeys(new_web, recorder) -> dict:
    """A removal (requested, approved, taken out), two dispatches, a breach, kiosk use."""
    pat = person(new_web, recorder, "pat")
    pat.get("/records/new")
    assert (
        pat.post("/records/new", {"case_id": CASE_ID, "description": "Court bundle"}).status_code
        == 303
    )
    record = Record.get(Record.case_id == CASE_ID)
    assert f"case {CASE_ID}" in pat.post("/records", {"term": CASE_ID}).get_data(as_text=True)
    pat.get(f"/records/{record.id}")
    day = clock.uk_today() + dt.timedelta(days=7)
    pat.get(f"/records/{record.id}/remove")
    assert (
        pat.post(
            f"/records/{record.id}/remove",
            {
                "purpose": "other",
                "purpose_other": "Working from home",
                "papers": "Chronology",
                "due_kind": "return",
                "due_on-day": day.day,
                "due_on-month": day.month,
                "due_on-year": day.year,
            },
        ).status_code
        == 303
    )
    removal = Removal.get(Removal.record == record)

    lina = person(new_web, recorder, "lina")
    lina.get("/approvals")
    lina.get(f"/records/{record.id}")
    approved = lina.post(
        f"/removals/{removal.id}/approve",
        {"version": Removal.get_by_id(removal.id).version},
        htmx=True,
    )
    assert approved.status_code == 200, approved.get_data(as_text=True)[:500]
    recorder.pages.append(("htmx approve", approved))
    pat.get(f"/records/{record.id}")
    assert (
        pat.post(
            f"/removals/{removal.id}/take_out",
            {"version": Removal.get_by_id(removal.id).version, **SAFEGUARDS},
        ).status_code
        == 303
    )

    pat.get(f"/send/new?record={record.id}")
    for method, address in (("secure_email", RECIPIENT), ("special_delivery", POSTAL)):
        response = pat.post(
            "/send/new",
            {
                "case_id": CASE_ID,
                "description": "Assessment",
                "method": method,
                "recipient_organisation": "Cafcass",
                "recipient_role": "Guardian",
                "address": address,
            },
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    dispatch = Dispatch.select().order_by(Dispatch.id).first()
    pat.get(f"/dispatches/{dispatch.id}")
    pat.get("/send")
    sam = person(new_web, recorder, "sam")
    sam.get("/send")
    sam.get(f"/dispatches/{dispatch.id}")
    checked = sam.post(
        f"/dispatches/{dispatch.id}/check",
        {
            "version": dispatch.version,
            "address_source": "case_record",
            "address_confirmed": "yes",
            "addressee_confirmed": "yes",
            "right_to_information_confirmed": "yes",
            "lawful_basis": "Court direction",
        },
        htmx=True,
    )
    assert checked.status_code == 200, checked.get_data(as_text=True)[:500]
    recorder.pages.append(("htmx check", checked))

    when = ago(hours=2)
    pat.get("/breaches/new")
    response = pat.post(
        "/breaches/new",
        typed(
            {
                # The recipient's address may not be typed here (it is refused as personal data).
                "what_happened": f"Letter for {CASE_ID} sent to the wrong guardian",
                "category": "loss",
                "data_categories": "basic_identifiers",
                "people_affected": "3",
                "records_affected": "1",
                "happened_at": when,
                "discovered_at": when,
                "case_id": BREACH_CASE_ID,
            }
        ),
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    breach = Breach.select().get()
    pat.get(f"/breaches/{breach.id}")
    pat.post(
        f"/breaches/{breach.id}/police",
        typed(
            {
                "version": Breach.get_by_id(breach.id).version,
                "police_reference": "CR/123/26",
                "police_told_at": when,
                "line_manager_told": "yes",
            }
        ),
    )

    kiosk = person(new_web, recorder, "kiosk1")
    assert (
        kiosk.post(
            "/kiosk/identify", {"staff_number": STAFF_NUMBERS["pat"], "pin": PIN}
        ).status_code
        == 303
    )
    kiosk.get("/kiosk/")
    scanned = kiosk.post("/kiosk/scan", {"label_code": record.label_code})
    assert scanned.status_code == 200
    assert (
        kiosk.post(
            f"/kiosk/removals/{removal.id}/return_papers",
            {"version": Removal.get_by_id(removal.id).version, "confirmed": "yes"},
        ).status_code
        == 303
    )
    assert Removal.get_by_id(removal.id).state == "returned"
    kiosk.post("/kiosk/identify", {"staff_number": STAFF_NUMBERS["sam"], "pin": "0000"})
    return {
        "record": record,
        "removal": removal,
        "dispatch": dispatch,
        "breach": breach,
        "webs": {"pat": pat, "lina": lina, "sam": sam, "kiosk1": kiosk},
    }


def crawl(web, start: list[str], limit: int = 120) -> list[str]:
    """Follow every same-site GET link from the start pages (breadth first)."""
    seen: set[str] = set()
    queue = list(start)
    visited = []
    while queue and len(visited) < limit:
        url = queue.pop(0)
        path = urlsplit(url).path
        if url in seen or path.startswith("/static/") or not path.startswith("/"):
            continue
        seen.add(url)
        response = web.client.get(url)
        visited.append(url)
        assert response.status_code < 500, url
        if response.mimetype != "text/html":
            continue
        page = _Page()
        page.feed(response.get_data(as_text=True))
        for link in page.urls:
            full = urljoin(url, link)
            parts = urlsplit(full)
            if parts.netloc in ("", "localhost") and not parts.path.startswith("/static/"):
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                if target not in seen and not target.startswith("/sign-in"):
                    queue.append(target)
    return visited


def personal_values(journey) -> list[str]:
    return [
        CASE_ID,
        BREACH_CASE_ID,
        RECIPIENT,
        "Quarry Lane",
        "LS1 4ZZ",
        *STAFF_NUMBERS.values(),
        *(f"{u}@council.example" for u in STAFF_NUMBERS),
        journey["record"].label_code,
    ]


# -- Signed out ---------------------------------------------------------------------------


def _fill(rule) -> str:
    return re.sub(
        r"<(?:[^:>]+:)?([^>]+)>", lambda m: "approve" if m.group(1) == "event" else "1", rule.rule
    )


def test_signed_out_every_page_but_the_public_ones_goes_to_sign_in(app, client, staff):
    # Sign-in, the accessibility statement (the 2018 Regulations), healthz, static files, the
    # session endpoints that answer the timeout warning's script with JSON, single sign-on
    # (it is how a person signs in), an emailed reset link (it is how they get a password) and
    # GOV.UK Notify's delivery receipts (its bearer token is the check: 401 without it).
    public = {
        "notify.callback",
        "auth.sign_in",
        "sso.start",
        "sso.callback",
        "account.reset_link",
        "account.reset_password",
        "auth.session_status",
        "auth.keep_alive",
        "accessibility.statement",
        "health.healthz",
        "static",
    }
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    assert client.get("/session").status_code == 401
    assert client.post("/session", data={"csrf_token": token}).json == {"signed_in": False}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public:
            continue
        url = _fill(rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(url, method=method, data=data)
            assert response.status_code == 302, (method, url, response.status_code)
            location = response.headers["Location"]
            assert urlsplit(location).path == "/sign-in", (method, url, location)
            if method == "GET":
                assert unquote_plus(urlsplit(location).query) == f"next={url}"
            # htmx asks for a fragment: it gets an instruction to load the sign-in page,
            # never the sign-in page swapped into a panel.
            hx = client.open(url, method=method, data=data, headers={"HX-Request": "true"})
            assert hx.status_code == 204, (method, url, hx.status_code)
            assert hx.headers["HX-Redirect"] == "/sign-in"
            assert hx.get_data() == b""
            # A back/forward restore wants the whole page: a normal redirect.
            restore = client.open(
                url,
                method=method,
                data=data,
                headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
            )
            assert restore.status_code == 302
            checked += 1
    assert checked >= 25
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/build/app.css").status_code == 200
    assert client.get("/sign-in").status_code == 200


def test_sign_in_never_redirects_off_site(client, staff):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        token = csrf_from(client.get("/sign-in").get_data(as_text=True))
        response = client.post(
            f"/sign-in?next={target}",
            data={"username": "pat", "password": "correct-horse-battery", "csrf_token": token},
        )
        assert response.status_code == 303
        location = response.headers["Location"]
        assert urlsplit(location).netloc in ("", "localhost") and not location.startswith("//"), (
            location
        )
        client.post(
            "/sign-out", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))}
        )


# -- CSP and inline code -------------------------------------------------------------------


def _check_csp_and_markup(where: str, response) -> list[str]:
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    script_src = directives.get("script-src", "")
    if not script_src:
        problems.append(f"{where}: no script-src in CSP {csp!r}")
    if "unsafe-inline" in script_src or "unsafe-eval" in script_src:
        problems.append(f"{where}: {script_src}")
    for name in ("object-src", "base-uri", "frame-ancestors"):
        if name not in directives:
            problems.append(f"{where}: CSP lacks {name}")
    nonce = script_src.split("'nonce-")[1].split("'")[0] if "'nonce-" in script_src else None
    page = _Page()
    page.feed(response.get_data(as_text=True))
    # The GOV.UK template's one inline script (it sets js-enabled) carries this response's
    # nonce; anything else inline would be refused by the browser, or worse, needed.
    if len(page.inline_scripts) > 1:
        problems.append(f"{where}: {len(page.inline_scripts)} inline scripts")
    for attrs in page.inline_scripts:
        if not nonce or attrs.get("nonce") != nonce:
            problems.append(f"{where}: inline <script> without this response's nonce {attrs}")
    problems.extend(f"{where}: inline handler {h}" for h in page.handlers)
    problems.extend(
        f"{where}: inline style (blocked by style-src 'self') {s}" for s in page.inline_styles
    )
    return problems


@pytest.mark.slow
def test_every_page_keeps_a_strict_csp_and_has_no_inline_code(app, staff, new_web, recorder):
    journey = journeys(new_web, recorder)
    for username in ("pat", "lina", "rita", "dave", "alex"):
        web = person(new_web, recorder, username)
        crawl(
            web,
            [
                "/",
                "/records",
                "/records/new",
                "/records/labels",
                "/approvals",
                "/send",
                "/send/new",
                "/breaches",
                "/breaches/new",
                "/register",
                "/board",
                "/account/pin",
                f"/records/{journey['record'].id}",
                f"/dispatches/{journey['dispatch'].id}",
                f"/breaches/{journey['breach'].id}",
                f"/breaches/{journey['breach'].id}/report",
                f"/breaches/{journey['breach'].id}/ico-draft",
            ],
        )
        # Fragments too: the board's body and an error alert.
        recorder.pages.append(
            (
                "board fragment",
                web.client.get("/board", headers={"HX-Request": "true", "HX-Target": "board-body"}),
            )
        )
        recorder.pages.append(
            ("404 alert", web.client.get("/records/999999", headers={"HX-Request": "true"}))
        )
    kiosk = journey["webs"]["kiosk1"]
    kiosk.post("/kiosk/identify", {"staff_number": STAFF_NUMBERS["sam"], "pin": PIN})
    kiosk.get("/kiosk/")
    kiosk.post("/kiosk/scan", {"label_code": journey["record"].label_code})
    anon = new_web()
    recorder.wrap(anon.client)
    anon.client.get("/sign-in")
    anon.client.get("/no-such-page")

    problems = []
    paths = set()
    for where, response in recorder.pages:
        paths.add(urlsplit(where).path)
        problems.extend(_check_csp_and_markup(where, response))
    assert not problems, "\n".join(sorted(set(problems)))
    # The sweep saw the pages that matter, for every role.
    assert len(recorder.pages) > 100
    for expected in (
        "/",
        "/records/new",
        "/approvals",
        "/send",
        "/breaches",
        "/register",
        "/board",
        "/kiosk/",
        "/sign-in",
        "/records/labels",
    ):
        assert expected in paths, expected


def test_non_html_responses_carry_the_security_headers_too(web, staff):
    web.sign_in("rita")
    for url in ("/breaches/register.csv", "/healthz"):
        response = web.client.get(url)
        assert response.status_code == 200
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"


# -- No personal data in URLs or logs -------------------------------------------------------


def test_no_personal_data_in_any_url_redirect_or_log(app, staff, new_web, recorder, caplog):
    caplog.set_level(logging.DEBUG)
    # peewee logs every SQL statement with its parameters at DEBUG: that is a deployment
    # choice (off unless someone turns DEBUG on), not the app's own output.
    caplog.set_level(logging.INFO, logger="peewee")
    journey = journeys(new_web, recorder)
    for username in ("pat", "lina", "rita", "dave"):
        crawl(
            person(new_web, recorder, username),
            [
                "/",
                "/records/labels",
                "/approvals",
                "/send",
                "/breaches",
                "/register",
                "/board",
                f"/records/{journey['record'].id}",
                f"/dispatches/{journey['dispatch'].id}",
                f"/breaches/{journey['breach'].id}",
                f"/breaches/{journey['breach'].id}/report",
            ],
            limit=80,
        )
    # An unexpected error is logged with its traceback: it must not carry the values either.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    pat = journey["webs"]["pat"]
    original = AuditEvent.append

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    AuditEvent.append = broken
    try:
        pat.post(
            "/send/new",
            {
                "case_id": CASE_ID,
                "description": "Assessment",
                "method": "secure_email",
                "recipient_organisation": "Cafcass",
                "recipient_role": "Guardian",
                "address": RECIPIENT,
            },
        )
    finally:
        AuditEvent.append = original

    values = personal_values(journey)
    assert len(recorder.urls) > 200
    for part in ("/records/", "/dispatches/", "/breaches/", "/removals/", "/kiosk/"):
        assert any(part in url for _, url in recorder.urls), part  # the journeys were seen
    assert any("Location" in where for where, _ in recorder.urls)
    leaks = []
    for where, url in recorder.urls:
        text = unquote_plus(url).lower()
        leaks.extend(f"{where}: {url}" for v in values if v.lower() in text)
    assert not leaks, "\n".join(sorted(set(leaks)))
    assert "Unhandled error" in caplog.text  # the log was captured
    logged = [v for v in values if v.lower() in caplog.text.lower()]
    assert not logged, logged


# -- Sessions ------------------------------------------------------------------------------


def test_a_cookie_from_before_sign_out_cannot_post_or_fetch_fragments(app, staff, web):
    record = Record.create(
        case_id="1234567",
        description="Bundle",
        team=staff.team("Children North"),
        created_by=staff.add("amy", "practitioner"),
    )
    web.sign_in("pat")
    page = web.get(f"/records/{record.id}").get_data(as_text=True)
    token = csrf_from(page)
    cookie = web.client.get_cookie("safekeep_session").value
    assert web.post("/sign-out").status_code == 303

    thief = app.test_client()
    thief.set_cookie("safekeep_session", cookie)
    for url in (f"/records/{record.id}", "/board", "/send"):
        hx = thief.get(url, headers={"HX-Request": "true"})
        assert hx.status_code == 204 and hx.headers["HX-Redirect"] == "/sign-in"
    day = clock.uk_today() + dt.timedelta(days=3)
    posted = thief.post(
        f"/records/{record.id}/remove",
        data={
            "csrf_token": token,
            "purpose": "court",
            "papers": "All",
            "due_kind": "return",
            "due_on-day": day.day,
            "due_on-month": day.month,
            "due_on-year": day.year,
        },
    )
    assert posted.status_code in (302, 400)
    assert Removal.select().count() == 0
    assert UserSession.select().where(UserSession.ended_at.is_null()).count() == 0


def test_signing_out_ends_only_that_session(app, staff, new_web):
    laptop, desktop = new_web(), new_web()
    laptop.sign_in("pat")
    desktop.sign_in("pat")
    laptop.get("/")
    assert laptop.post("/sign-out").status_code == 303
    assert laptop.client.get("/").status_code == 302
    assert desktop.client.get("/").status_code == 200


def test_idle_is_measured_from_the_last_request_not_from_sign_in(staff, web):
    web.sign_in("pat")
    for _ in range(3):  # 60 minutes in all, never 30 idle
        clock.travel(dt.timedelta(minutes=20))
        assert web.client.get("/").status_code == 200
    clock.travel(dt.timedelta(minutes=31))
    hx = web.client.get("/board", headers={"HX-Request": "true"})
    # To the sign-in page, which will say why.
    assert hx.status_code == 204 and hx.headers["HX-Redirect"] == "/sign-in?ended=idle"
    assert web.client.get("/").status_code == 302
    # The timed-out session is ended on the server: going back in time does not revive it.
    assert UserSession.select().where(UserSession.ended_at.is_null()).count() == 0
    clock.travel(dt.timedelta(minutes=-31))
    assert web.client.get("/").status_code == 302


# -- Audit atomicity -----------------------------------------------------------------------


@pytest.fixture
def requested(staff, new_web):
    pat, lina = new_web(), new_web()
    pat.sign_in("pat")
    record = Record.create(
        case_id="1234567",
        description="Bundle",
        team=staff.team("Children North"),
        created_by=staff.add("amy"),
    )
    day = clock.uk_today() + dt.timedelta(days=7)
    pat.get(f"/records/{record.id}/remove")
    assert (
        pat.post(
            f"/records/{record.id}/remove",
            {
                "purpose": "other",
                "purpose_other": "Home working",
                "papers": "Chronology",
                "due_kind": "return",
                "due_on-day": day.day,
                "due_on-month": day.month,
                "due_on-year": day.year,
            },
        ).status_code
        == 303
    )
    lina.sign_in("lina")
    lina.get(f"/records/{record.id}")
    return {"pat": pat, "lina": lina, "removal": Removal.get(Removal.record == record)}


def _break_audit(monkeypatch):
    calls = []

    def boom(cls, **kwargs):
        calls.append(kwargs["event"])
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(AuditEvent, "append", classmethod(boom))
    return calls


@pytest.mark.parametrize("htmx", [False, True])
def test_a_failed_audit_write_rolls_the_transition_back(app, requested, monkeypatch, htmx):
    removal = requested["removal"]
    before = Removal.get_by_id(removal.id)
    events_before = AuditEvent.select().count()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # what a person sees, not the test traceback
    calls = _break_audit(monkeypatch)

    response = requested["lina"].post(
        f"/removals/{removal.id}/approve", {"version": before.version}, htmx=htmx
    )

    assert calls == ["approve"]  # the failure happened inside the transition, after save
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Sorry, there is a problem with the service" in html
    if htmx:
        assert response.headers["HX-Retarget"] == "#app-alerts" and "<html" not in html
    else:
        assert "saved whole or not at all" in html and "govuk-heading-l" in html
    after = Removal.get_by_id(removal.id)
    assert (
        (after.state, after.version)
        == (before.state, before.version)
        == ("requested", before.version)
    )
    assert AuditEvent.select().count() == events_before

    # Nothing is left broken: with the audit table back, the same click works.
    monkeypatch.undo()
    again = requested["lina"].post(f"/removals/{removal.id}/approve", {"version": before.version})
    assert again.status_code == 303
    assert Removal.get_by_id(removal.id).state == "approved_for_removal"
    assert AuditEvent.select().count() == events_before + 1


def test_with_propagation_on_the_failure_is_raised_not_hidden(app, requested, monkeypatch):
    # Flask's default PROPAGATE_EXCEPTIONS is None, which views._unexpected_error reads as
    # "do not re-raise": set it to True explicitly to see the exception itself.
    app.config["PROPAGATE_EXCEPTIONS"] = True
    removal = requested["removal"]
    _break_audit(monkeypatch)
    with pytest.raises(RuntimeError, match="audit table unavailable"):
        requested["lina"].post(f"/removals/{removal.id}/approve", {"version": removal.version})
    assert Removal.get_by_id(removal.id).state == "requested"


def test_a_failed_audit_write_saves_no_record_dispatch_or_breach(app, staff, web, monkeypatch):
    web.sign_in("pat")
    web.get("/")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _break_audit(monkeypatch)
    when = ago(hours=1)
    for url, data in (
        ("/records/new", {"case_id": "1234567", "description": "Bundle"}),
        (
            "/send/new",
            {
                "case_id": "1234567",
                "description": "Assessment",
                "method": "secure_email",
                "recipient_organisation": "Cafcass",
                "recipient_role": "Guardian",
                "address": RECIPIENT,
            },
        ),
        (
            "/breaches/new",
            {
                "what_happened": "Lost bag",
                "category": "near_miss",
                "data_left_control": "yes",
                "data_categories": "basic_identifiers",
                "people_affected": "1",
                "records_affected": "1",
                "happened_at": when,
                "discovered_at": when,
            },
        ),
    ):
        response = web.post(url, typed(data))
        assert response.status_code == 500, (url, response.status_code)
        assert "Sorry, there is a problem with the service" in response.get_data(as_text=True)
    assert Record.select().count() == 0
    assert Dispatch.select().count() == 0
    assert Breach.select().count() == 0
    assert AuditEvent.select().where(AuditEvent.entity_type != "user").count() == 0


# -- Signed out while htmx was asking: back to the page afterwards -------------------------


def _sign_in_at(client, location: str):
    page = client.get(location)
    assert page.status_code == 200
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        location,
        data={"username": "lina", "password": "correct-horse-battery", "csrf_token": token},
    )


def test_a_board_that_timed_out_signs_back_in_to_the_board(staff, web):
    web.sign_in("lina")
    team = staff.team("Children North").id
    assert web.client.get(f"/board?team={team}&page=1").status_code == 200
    clock.travel(dt.timedelta(minutes=31))  # the board is left open past the idle limit
    poll = web.client.get(
        f"/board?team={team}&page=1",
        headers={
            "HX-Request": "true",
            "HX-Target": "board-body",
            "HX-Current-URL": f"http://localhost/board?team={team}&page=1",
        },
    )
    assert poll.status_code == 204
    location = poll.headers["HX-Redirect"]
    assert urlsplit(location).path == "/sign-in"
    assert parse_qs(urlsplit(location).query) == {
        "next": [f"/board?team={team}&page=1"],
        "ended": ["idle"],
    }
    signed_in = _sign_in_at(web.client, location)
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == f"/board?team={team}&page=1"


@pytest.mark.parametrize(
    "current",
    [
        "https://evil.example/board",  # another site
        "http://localhost.evil.example/board",
        "//evil.example/board",
        "http://localhost//evil.example/board",  # a path that is another host
        "http://localhost/\\evil.example",
        "javascript:alert(1)",
        "/board",  # htmx always sends an absolute URL: anything else is not from htmx
        "http://localhost/sign-in?next=/board",
        "http://[::1",
        "",
    ],
)
def test_htmx_sign_in_redirect_names_only_a_page_of_this_site(staff, client, current):
    response = client.get("/board", headers={"HX-Request": "true", "HX-Current-URL": current})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/sign-in"


def test_sign_in_next_with_a_backslash_goes_home(client, staff):
    for target in ("/\\evil.example", "/\\\\evil.example/x", "/\t/evil.example"):
        token = csrf_from(client.get("/sign-in").get_data(as_text=True))
        response = client.post(
            "/sign-in",
            query_string={"next": target},
            data={"username": "pat", "password": "correct-horse-battery", "csrf_token": token},
        )
        assert response.status_code == 303
        assert response.headers["Location"] == "/", target
        client.post(
            "/sign-out", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))}
        )


# -- Reset links: never in a log line, ended for good, kept out of the cookie (issue 24) ----------


@pytest.fixture
def reset_cast(mail_app, inbox, people, new_web):
    """Ada (an administrator) and Pat, to whom she has just sent a reset link."""
    people.add("ada", "admin", team="Information Governance")
    pat = people.add("pat")
    ada = new_web()
    ada.sign_in("ada")
    ada.get(f"/admin/people/{pat.id}/reset-password")
    sent = ada.post(f"/admin/people/{pat.id}/reset-password", {"method": "link"})
    assert sent.status_code == 303
    (message,) = inbox.to("pat@council.example")
    path = re.search(r"(/reset-password/\S+)", message.get_content()).group(1)
    return {"ada": ada, "pat": pat, "link": path, "token": path.rsplit("/", 1)[1]}


def _admin_sets_active(ada, pat, active: bool) -> None:
    from models.people import User

    version = User.get_by_id(pat.id).version
    if active:
        response = ada.post(f"/admin/people/{pat.id}/enable", {"version": version})
    else:
        ada.get(f"/admin/people/{pat.id}/disable")
        form = {"version": version, "work_seen": ""}
        response = ada.post(f"/admin/people/{pat.id}/disable", form)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def test_a_refused_reset_link_is_logged_by_its_id_and_no_log_line_holds_its_token(
    reset_cast, new_web, caplog
):
    from models.people import PasswordReset

    caplog.set_level(logging.DEBUG)  # every logger: request lines, security events, errors
    token, link = reset_cast["token"], reset_cast["link"]
    stranger = new_web()
    # A mistyped copy of a live link, then the link itself once it has expired.
    assert stranger.client.get(link + "x").status_code == 404
    clock.travel(dt.timedelta(minutes=61))
    assert stranger.client.get(link).status_code == 404
    events = [(r, getattr(r, "security_event", "")) for r in caplog.records]
    refused = [record for record, event in events if event == "reset_link_refused"]
    assert [r.link_id for r in refused] == [None, PasswordReset.get().id]
    assert {r.path for r in refused} == {"/reset-password/<secret:token>"}
    # Every logger but the test's own mail server's ("mail.log"), which logs the email it got.
    for record in caplog.records:
        if record.name != "mail.log":
            assert token not in repr(vars(record)) + record.getMessage(), record.name


def test_a_disable_ends_a_reset_link_for_good_even_once_followed(reset_cast, new_web):
    pat_browser = new_web()
    assert pat_browser.client.get(reset_cast["link"]).status_code == 303  # followed, not used
    _admin_sets_active(reset_cast["ada"], reset_cast["pat"], active=False)
    _admin_sets_active(reset_cast["ada"], reset_cast["pat"], active=True)
    # Within the hour, with the account enabled again: neither the link nor the browser that
    # followed it can set a password.
    assert new_web().client.get(reset_cast["link"]).status_code == 404
    assert pat_browser.client.get("/reset-password").status_code == 404


def test_a_password_change_or_a_new_link_ends_an_outstanding_link(reset_cast, new_web, inbox):
    ada, pat = reset_cast["ada"], reset_cast["pat"]
    ada.post(f"/admin/people/{pat.id}/reset-password", {"method": "link"})
    assert new_web().client.get(reset_cast["link"]).status_code == 404
    second = re.search(r"(/reset-password/\S+)", inbox.to("pat@council.example")[-1].get_content())
    ada.post(f"/admin/people/{pat.id}/reset-password", {"method": "temporary"})
    assert new_web().client.get(second.group(1)).status_code == 404


def test_the_reset_token_is_not_in_the_session_cookie(reset_cast, app, new_web):
    from tests.conftest import PASSWORD

    person = new_web()
    assert person.client.get(reset_cast["link"]).status_code == 303
    cookie = person.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    # Signed, not encrypted: anyone holding the cookie can read what it keeps.
    kept = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert reset_cast["token"] not in repr(kept)
    person.get("/reset-password")
    new_password = PASSWORD + "-renewed"
    done = person.post(
        "/reset-password", {"new_password": new_password, "confirm_password": new_password}
    )
    assert done.status_code == 303
    new_web().sign_in("pat", new_password)


# -- Forms from another site: refused even with a valid CSRF token (issue 24) --------------------


def _post_a_record(web, **headers):
    web.get("/records/new")
    return web.post(
        "/records/new", {"case_id": CASE_ID, "description": "Court bundle"}, headers=headers
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site", "HX-Request": "true"},
    ],
)
def test_a_form_sent_from_another_site_is_refused_and_logged(people, web, caplog, headers):
    caplog.set_level(logging.INFO, logger="safekeep.security")
    people.add("pat")
    web.sign_in("pat")
    response = _post_a_record(web, **headers)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Your form could not be sent" in page and "another website" in page
    assert Record.select().count() == 0
    (refused,) = [r for r in caplog.records if getattr(r, "security_event", "") != ""]
    assert refused.security_event == "cross_origin_refused" and refused.path == "/records/new"
    assert "evil" not in caplog.text


@pytest.mark.parametrize(
    "headers",
    [
        {},  # an old browser, a script: the CSRF token alone decides
        {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://LOCALHOST:80"},
        {"Origin": "https://safekeep.council.test"},  # the public address (REMINDER_BASE_URL)
    ],
)
def test_a_form_from_this_site_is_taken(app, people, web, headers):
    app.config["REMINDER_BASE_URL"] = "https://safekeep.council.test/"
    people.add("pat")
    web.sign_in("pat")
    assert _post_a_record(web, **headers).status_code == 303
    assert Record.select().count() == 1


@pytest.mark.parametrize("backend", ["sqlite"])
def test_behind_a_tls_proxy_the_sites_origin_is_its_https_address(tmp_path, request, backend):
    from tests.conftest import People, make_app
    from tests.http.conftest import Web

    app = make_app(backend, tmp_path, request, TRUSTED_PROXIES=1)
    People().add("pat")
    web = Web(app.test_client())
    web.sign_in("pat")
    proxied = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    # Over HTTPS Flask-WTF also wants a Referer from this site.
    refused = _post_a_record(
        web, Origin="http://localhost", Referer="https://localhost/records/new", **proxied
    )
    assert refused.status_code == 403
    taken = _post_a_record(
        web, Origin="https://localhost", Referer="https://localhost/records/new", **proxied
    )
    assert taken.status_code == 303
