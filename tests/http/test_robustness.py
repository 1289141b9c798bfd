"""Every route against missing, junk and huge values, with and without a CSRF token: the fuzz
test. Every form is posted empty, with junk (huge, NUL, non-ASCII digits, far dates, negative
and huge numbers, no or a wrong version, duplicated fields), as a page and through htmx; no
answer is a 500, and a refusal changes no row.

The sweep walks `app.url_map` itself, so a route added later is swept without editing this
file. Under TESTING the app re-raises unexpected exceptions, so a would-be 500 shows up here
as the exception (collected per URL, reported together).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid

import pytest
from werkzeug.datastructures import MultiDict

from machines import clock
from models.base import write_transaction
from models.breaches import Breach
from models.deliveries import Delivery
from models.dispatches import Dispatch
from models.follow_through import BreachAction, IcoItem
from models.people import User
from models.records import Record, Removal
from models.remote_working import RemoteAgreement
from services import deliveries
from services.channel import Receipt
from tests.http.journeys import ago, date_fields, typed
from tests.http.journeys.breaches import refer_data

HUGE = 10**30  # far past any 64-bit integer column
# Junk in every query argument a page reads, several arguments to an address (each page
# was asked 15 times, one argument at a time, and the sweep was most of this file's time).
# Each address pairs a value of `page` with arguments read apart from it; the ids that may
# well answer 404 (a team or record that does not exist) go with the least else.
JUNK_QUERY = [
    "page=abc&team=abc&record=abc",
    "page=-5&state=nonsense&category=%00",
    "page=0&from-day=99&from-month=99&from-year=99999",
    "page=99999&to-day=1&to-month=13&to-year=2026",
    "team=999999&timed_out=abc&done=%3Cscript%3E",
    "record=999999&next=//evil.example",
]
JUNK_FORM = {
    "version": str(HUGE),
    "page": "abc",
    "term": "x" * 5000,
    "case_id": "%00<script>",
    "description": "\x00" * 10,
    "purpose": "nonsense",
    "purpose_other": "x" * 10000,
    "papers": "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "due_kind": "never",
    "happened_at-day": "99",
    "happened_at-month": "99",
    "happened_at-year": "9999",
    "happened_at-time": "99:99",
    "discovered_at-day": "abc",
    "discovered_at-time": "abc",
    "category": "nope",
    "data_categories": "nope",
    "people_affected": str(HUGE),
    "records_affected": "-1",
    "likelihood": str(HUGE),
    "severity": "abc",
    "method": "pigeon",
    "address": "@@@",
    "staff_number": str(HUGE),
    "pin": "x" * 1000,
    "label_code": "\x00",
    "password": "x" * 10000,
    "pin_confirm": "y",
    "username": "x" * 1000,
    "due_on-day": str(HUGE),
    "due_on-month": "1",
    "due_on-year": "2026",
    "returned_on-day": "31",
    "returned_on-month": "2",
    "returned_on-year": "2026",
    "returned_at": "25:61",
    "reportable_override": "maybe",
    "ico_referred": "abc",
    "police_reference": "x" * 500,
    "delivery_evidence": "abc",
    "step": "preview",
}
# The same fields again with other junk: digits that are not ASCII (int() reads some, and
# isdigit() accepts "²"), negative numbers, dates far in the past and future, and text that
# could only be personal data.
OTHER_JUNK_FORM = {
    **{key: "²" for key in ("people_affected", "records_affected", "likelihood", "severity")},
    "version": "٣",
    "due_on-day": "-1",
    "due_on-month": "١",
    "due_on-year": "0001",
    "happened_at-day": "1",
    "happened_at-month": "1",
    "happened_at-year": "0001",
    "happened_at-time": "00:00",
    "discovered_at-day": "31",
    "discovered_at-month": "12",
    "discovered_at-year": "9999",
    "discovered_at-time": "23:59",
    "ico_referred_at-day": "30",
    "ico_referred_at-month": "2",
    "ico_referred_at-year": "2026",
    "ico_referred_at-time": "10:00",
    "last_seen_on-day": "31",
    "last_seen_on-month": "2",
    "last_seen_on-year": "99999",
    "last_seen_on-time": "-1:00",
    "staff_number": "-12",
    "pin": "１２３４",
    "case_id": "٣٣٣٣٣٣",
    "what_happened": "Jane Doe, 14 Acacia Avenue, NW1 4RY, NHS 943 476 5919",
    "page": "-1",
}
# Duplicated fields: a form that sends one field twice (a tampered page, a double-click).
DUPLICATED_FORM = [
    ("version", "1"),
    ("version", "2"),
    ("purpose", "court"),
    ("purpose", "other"),
    ("category", "loss"),
    ("category", "theft"),
    ("method", "shredded"),
    ("method", "burnt"),
    ("likelihood", "3"),
    ("likelihood", "9"),
]
FORMS = {
    "empty": {},
    "junk": JUNK_FORM,
    "other junk": OTHER_JUNK_FORM,
    "duplicated": DUPLICATED_FORM,
}
CASE_ID = "7731905"

# What a refused form must leave as it was: every table's rows, every lifecycle row's
# version, and the audit trail of changes. Left out: rows that a refusal itself writes on
# purpose (the count of failed identifications at a kiosk, the session's last activity,
# healthz's heartbeat) and audit events of the people side (a lock after failed tries).
UNCOUNTED = {"UserSession", "KioskSession", "KioskFailure", "Heartbeat", "AuditEvent", "User"}


def snapshot() -> dict:
    """Every counted table's rows, every lifecycle table's sum of versions, and the audited
    changes: one statement (the sweep takes a snapshot around every refused form)."""
    from models.base import db

    keys, sql = _snapshot_statement()
    return dict(zip(keys, db.execute_sql(sql).fetchone(), strict=True))


@functools.cache
def _snapshot_statement() -> tuple[list[str], str]:
    from models import ALL_MODELS
    from models.audit import AuditEvent
    from models.base import VersionedModel

    counted = [m for m in ALL_MODELS if m.__name__ not in UNCOUNTED]
    keys = [m.__name__ for m in counted]
    parts = [f'(SELECT COUNT(*) FROM "{m._meta.table_name}")' for m in counted]
    for model in ALL_MODELS:
        if issubclass(model, VersionedModel):
            keys.append(model.__name__ + " versions")
            parts.append(f'(SELECT SUM(version) FROM "{model._meta.table_name}")')
    keys.append("changes audited")
    parts.append(
        f'(SELECT COUNT(*) FROM "{AuditEvent._meta.table_name}" WHERE '
        f"{AuditEvent.entity_type.column_name} IN ('removal', 'breach', 'dispatch', 'record'))"
    )
    return keys, "SELECT " + ", ".join(parts)


def csrf_error_page(response) -> bool:
    html = response.get_data(as_text=True)
    return (
        response.status_code == 400
        and "Your form could not be sent" in html
        and "govuk-heading-l" in html
        and "<html" in html
    )


@pytest.fixture
def world(web, new_web, people):
    """Two teams, a record, a removal, a dispatch and a breach, all made through the app."""
    lina = people.add("lina", "line_manager")
    people.add("pat", "practitioner", manager=lina)
    people.add("sam", "practitioner", manager=lina)
    people.add("rita", "records_manager", "dpo")
    people.add("kiosk1", "kiosk", pin=None)
    people.add("alex", "practitioner", team="Adults East")
    people.add("ada", "admin", team="Governance")
    web.sign_in("pat")
    web.get("/records/new")
    assert (
        web.post("/records/new", {"case_id": CASE_ID, "description": "Court bundle"}).status_code
        == 303
    )
    record = Record.get(Record.case_id == CASE_ID)
    day = clock.uk_today() + dt.timedelta(days=7)
    web.get(f"/records/{record.id}/remove")
    assert (
        web.post(
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
    web.get("/send/new")
    assert (
        web.post(
            "/send/new",
            {
                "case_id": CASE_ID,
                "description": "Assessment",
                "method": "secure_email",
                "recipient_organisation": "Cafcass",
                "recipient_role": "Guardian",
                "address": "guardian@cafcass.example.org",
            },
        ).status_code
        == 303
    )
    when = ago(hours=2)
    web.get("/breaches/new")
    response = web.post(
        "/breaches/new",
        typed(
            {
                "what_happened": "Bundle left on a train",
                "category": "loss",
                "data_categories": "basic_identifiers",
                "people_affected": "3",
                "records_affected": "1",
                "happened_at": when,
                "discovered_at": when,
                "case_id": CASE_ID,
            }
        ),
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    breach = Breach.select().get()
    rita = new_web()
    rita.sign_in("rita")
    referred = rita.post(
        f"/breaches/{breach.id}/refer_to_ico", typed({"version": breach.version, **refer_data()})
    )
    assert referred.status_code == 303, referred.get_data(as_text=True)[:2000]
    owed = {"kind": "follow_up_report", "asked": "How many records", **date_fields("due_on", day)}
    assert rita.post(f"/breaches/{breach.id}/ico/new", owed).status_code == 303
    # An action is added once a case is decided: walking this one there is not the point, so
    # it is made as the add would leave it, for the sweep to hit its pages.
    BreachAction.create(
        breach=breach,
        state="open",
        category="training",
        description="Retrain the team",
        owner=lina,
        due_on=day,
        added_at=clock.now(),
    )
    web.get("/remote-working/new")
    assert (
        web.post(
            "/remote-working/new",
            {
                "where": "Home",
                "why": "Court report",
                "ends_on-day": day.day,
                "ends_on-month": day.month,
                "ends_on-year": day.year,
            },
        ).status_code
        == 303
    )
    # An e-mail about the case that GOV.UK Notify could not deliver (the services cron and
    # Notify's callback use), so the page recording who told the person another way exists.
    breach = Breach.select().get()
    rita = User.get(User.username == "rita")
    with write_transaction():
        deliveries.record_sent(
            ("breach_reported", "breach", breach.id, rita.id, 0),
            Receipt("notify", "created", str(uuid.uuid4())),
            clock.now(),
        )
    delivery = Delivery.select().get()
    deliveries.apply_status(delivery.notify_id, "permanent-failure", clock.now())
    return {
        "delivery_id": delivery.id,
        "record_id": record.id,
        "removal_id": Removal.get(Removal.record == record).id,
        "dispatch_id": Dispatch.select().get().id,
        "breach_id": Breach.select().get().id,
        "person_id": lina.id,
        "team_id": lina.team_id,
        "agreement_id": RemoteAgreement.select().get().id,
        "item_id": IcoItem.select().get().id,
        "action_id": BreachAction.select().get().id,
    }


def fill(rule, ids: dict, variant: str) -> str | None:
    """The rule's URL with every variable filled: 'existing', 'missing', 'junk' or 'huge'."""
    values = {}
    for name in rule.arguments:
        if name == "filename":
            values[name] = {
                "existing": "build/app.css",
                "missing": "nope.css",
                "junk": "../app.py",
                "huge": "x" * 2000,
            }[variant]
        elif name == "event":
            values[name] = {
                "existing": "approve",
                "missing": "no_such_event",
                "junk": "__init__",
                "huge": "x" * 300,
            }[variant]
        else:
            values[name] = {
                "existing": ids.get(name, 1),
                "missing": 999999,
                "junk": "abc",
                "huge": HUGE,
            }[variant]
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def rules_of(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


# Posted by GOV.UK Notify, not a browser: its bearer token stands for the CSRF token (401
# without it; tests/http/test_notify.py).
NO_CSRF = {"notify.callback"}

# Endpoints that end the sweeping person's own session (tests/http/test_account.py has theirs).
SIGNING_OUT = ("auth.sign_out", "account.sign_out_everywhere", "account.sign_in_again")


HTMX = {"HX-Request": "true"}


def _forms_to_post(variant: str):
    """Each form, as a page and as htmx, to an object that exists: what a refusal may change
    depends on the form. To one that does not, the answer is 404 whatever is posted (nothing
    is looked at before the object), so two forms tell as much as eight."""
    if variant == "missing":
        return [("empty", FORMS["empty"], {}), ("junk", FORMS["junk"], HTMX)]
    return [(name, data, headers) for name, data in FORMS.items() for headers in ({}, HTMX)]


def sweep(web, app, ids: dict, with_query: bool = True, kiosk: bool = False) -> list[str]:
    """Hit every rule in every variant; return the failures as readable lines.

    A kiosk account gets 403 for any URL outside the kiosk (even one that does not exist),
    and the kiosk's action URL sends it back to identify a person (303) before looking up
    anything: both are allowed for it.
    """
    failures: list[str] = []
    not_found = (403, 404) if kiosk else (404,)

    def hit(method, url, **kwargs):
        try:
            response = getattr(web.client, method)(url, **kwargs)
            # Read a streamed body (the CSV downloads) to its end, then close it: an error
            # half-way through a download is a would-be 500 too, and a stream left open would
            # be finished by the garbage collector in the middle of a later request.
            response.get_data()
            response.close()
            return response
        except Exception as error:  # noqa: BLE001 - a would-be 500
            failures.append(f"{method.upper()} {url[:120]}: raised {error!r}"[:300])
            return None

    for rule in rules_of(app):
        if rule.endpoint in SIGNING_OUT:
            continue  # swept separately: it would end the session mid-sweep
        for variant in ("existing", "missing", "junk", "huge"):
            url = fill(rule, ids, variant)
            has_ids = bool(rule.arguments)
            if variant != "existing" and not has_ids:
                continue
            if "GET" in rule.methods:
                queries = [""] + (JUNK_QUERY if with_query and variant == "existing" else [])
                for query in queries:
                    full = url + ("?" + query if query else "")
                    response = hit("get", full)
                    if response is None:
                        continue
                    if response.status_code >= 500:
                        failures.append(f"GET {full}: {response.status_code}")
                    if variant in ("missing", "junk", "huge") and (
                        response.status_code not in (403, 404)
                    ):
                        failures.append(f"GET {full}: {response.status_code}, want 404")
            if (
                "POST" in rule.methods
                and variant in ("junk", "huge")
                and (rule.arguments - {"event"})
            ):
                # "abc" or 30 digits where the route wants an id: no such URL, token or not.
                if web.client.post(url, data={}).status_code not in not_found:
                    failures.append(f"POST {url}: want 404 for a non-numeric id")
            elif "POST" in rule.methods:
                bare = None if rule.endpoint in NO_CSRF else hit("post", url, data={})
                if bare is not None and not csrf_error_page(bare):
                    failures.append(f"POST {url} without CSRF: {bare.status_code}, want 400 page")
                bare_hx = (
                    None
                    if rule.endpoint in NO_CSRF or variant == "missing"
                    else hit("post", url, data={}, headers={"HX-Request": "true"})
                )
                if bare_hx is not None and (
                    bare_hx.status_code != 400
                    or "Your form could not be sent" not in bare_hx.get_data(as_text=True)
                ):
                    failures.append(f"POST {url} (htmx) without CSRF: {bare_hx.status_code}")
                for name, data, headers in _forms_to_post(variant):
                    before = snapshot()
                    fields = MultiDict([("csrf_token", web.csrf)])
                    for key, value in data.items() if isinstance(data, dict) else data:
                        fields.add(key, value)
                    response = hit("post", url, data=fields, headers=headers)
                    if response is None:
                        continue
                    if response.status_code >= 500:
                        failures.append(f"POST {url} {name}: {response.status_code}")
                    if response.status_code >= 400 and snapshot() != before:
                        changed = {
                            k: (before[k], v) for k, v in snapshot().items() if before[k] != v
                        }
                        failures.append(f"POST {url} {name}: refused, but changed {changed}")
                    if (
                        variant == "missing"
                        and rule.arguments
                        and (response.status_code not in (403, 404))
                        and not (kiosk and response.status_code == 303)
                    ):
                        failures.append(f"POST {url} {name}: {response.status_code}, want 404")
                # Whatever the sweep did, the person is still signed in.
                if web.client.get("/healthz").status_code != 200:
                    failures.append(f"after POST {url}: healthz failed")
    return failures


def signed_in(new_web, username):
    web = new_web()
    web.sign_in(username)
    web.get("/" if username != "kiosk1" else "/kiosk/")
    assert web.csrf
    return web


@pytest.mark.slow
@pytest.mark.parametrize("username", ["pat", "lina", "rita", "kiosk1", "alex", "ada"])
def test_no_route_ever_answers_500_and_missing_objects_are_404(app, world, new_web, username):
    web = signed_in(new_web, username)
    failures = sweep(web, app, world, kiosk=username == "kiosk1")
    short = sorted({f if len(f) < 200 else f[:200] + "…" for f in failures})
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(short)


def test_the_sweep_covers_every_route_but_static(app):
    swept = {r.endpoint for r in rules_of(app)}
    assert {
        "records.show",
        "breaches.transition",
        "dispatches.transition",
        "kiosk.act",
        "boards.board",
        "register.index",
        "breaches.register_csv",
    } <= swept
    # Every int variable in the map is one the world fixture can fill with a real id.
    names = {n for r in rules_of(app) for n in r.arguments} - {"event", "token", "kind"}
    ids = {"record_id", "removal_id", "breach_id", "dispatch_id", "agreement_id", "delivery_id"}
    ids |= {"item_id", "action_id"}
    assert names <= ids | {"person_id", "team_id"}, names


@pytest.mark.parametrize(
    "path",
    [
        "/records/999999",
        "/breaches/999999",
        "/dispatches/999999",
        "/breaches/999999/report",
        "/breaches/999999/ico-draft",
        "/records/999999/remove",
    ],
)
def test_missing_objects_get_the_govuk_404_page(world, new_web, path):
    web = signed_in(new_web, "rita" if "breaches" in path else "pat")
    response = web.client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "govuk-heading-l" in html


@pytest.mark.parametrize(
    "path",
    [
        "/removals/999999/approve",
        "/dispatches/999999/check",
        "/breaches/999999/notify",
        "/breaches/999999/police",
        "/records/999999/remove",
    ],
)
def test_posts_to_missing_objects_are_404(world, new_web, path):
    web = signed_in(new_web, "lina")
    assert web.post(path, {"version": "1"}).status_code == 404
    hx = web.post(path, {"version": "1"}, htmx=True)
    assert hx.status_code == 404
    assert hx.headers.get("HX-Retarget") == "#app-alerts"  # the alert, not a page in a panel


def test_sign_out_without_csrf_is_400_and_with_it_signs_out(world, new_web):
    web = signed_in(new_web, "pat")
    assert csrf_error_page(web.client.post("/sign-out", data={"junk": "x"}))
    assert web.client.get("/").status_code == 200
    assert web.post("/sign-out", JUNK_FORM).status_code == 303
    assert web.client.get("/").status_code == 302


def test_sign_in_with_junk_never_500s(app, world):
    from tests.http.conftest import csrf_from

    client = app.test_client()
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    for data in ({}, JUNK_FORM, {"username": "\x00", "password": "\x00"}):
        response = client.post("/sign-in?next=//evil.example", data={"csrf_token": token, **data})
        assert response.status_code in (401, 422)
    assert csrf_error_page(client.post("/sign-in", data={"username": "pat", "password": "x"}))


# Numbers too big for a 64-bit column, in query arguments. Each once reached the database
# (SQLite: OverflowError; PostgreSQL: DataError "bigint out of range") or dt.date()
# (OverflowError is not a ValueError) and answered 500; views/forms.py id_arg and page_arg
# now bound them.
HUGE_QUERIES = [
    ("/breaches", f"page={HUGE}", "views/breaches.py index(): page not capped"),
    ("/breaches", f"page={2**63}", "views/breaches.py index(): page not capped"),
    ("/breaches", f"page={2**62}", "views/breaches.py index(): (page-1)*25 overflows"),
    ("/records/labels", f"page={2**62}", "views/records.py labels(): (page-1)*size overflows"),
    ("/board", f"page={2**62}", "views/boards.py board(): (page-1)*size overflows"),
    ("/records/labels", f"page={HUGE}", "views/records.py labels(): page not capped"),
    ("/board", f"page={HUGE}", "views/boards.py board(): page not capped"),
    ("/send/new", f"record={HUGE}", "views/dispatches.py _prefill_from_record(): id not capped"),
    ("/register", f"team={HUGE}", "views/register.py read_filters(): team not capped"),
    (
        "/register",
        f"from-day={HUGE}&from-month=1&from-year=2026",
        "views/register.py _date_arg(): catches ValueError, not OverflowError",
    ),
    (
        "/breaches/register.csv",
        f"from-day={HUGE}&from-month=1&from-year=2026",
        "views/register.py _date_arg(): catches ValueError, not OverflowError",
    ),
]


@pytest.mark.postgres
@pytest.mark.parametrize("path,query,where", HUGE_QUERIES)
def test_huge_numbers_in_query_arguments_are_not_a_500(app, world, new_web, path, query, where):
    web = signed_in(new_web, "lina" if path == "/board" else "rita" if "regist" in path else "pat")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # see the 500 page a person would get
    response = web.client.get(f"{path}?{query}")
    assert response.status_code in (200, 400, 404, 422), where


def test_a_huge_date_part_in_a_form_is_an_error_message_not_a_500(world, new_web):
    """views/forms.date_input caught ValueError only; dt.date(2026, 1, 10**30) overflows."""
    web = signed_in(new_web, "pat")
    web.get("/records/new")
    assert (
        web.post("/records/new", {"case_id": "1234567", "description": "Notes"}).status_code == 303
    )
    record_id = Record.get(Record.case_id == "1234567").id
    web.get(f"/records/{record_id}/remove")
    response = web.post(
        f"/records/{record_id}/remove",
        {
            "purpose": "court",
            "papers": "Bundle",
            "due_kind": "return",
            "due_on-day": str(HUGE),
            "due_on-month": "1",
            "due_on-year": "2026",
        },
    )
    assert response.status_code == 422
    assert "must be a real date" in response.get_data(as_text=True)


def test_nul_bytes_in_form_text_are_dropped_not_a_500(app, world, new_web):
    """PostgreSQL refuses NUL in text: views/forms.text() drops it before anything is saved."""
    from tests.http.conftest import csrf_from

    client = app.test_client()
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    refused = client.post(
        "/sign-in", data={"username": "pat\x00", "password": "x\x00", "csrf_token": token}
    )
    assert refused.status_code == 401
    web = signed_in(new_web, "pat")
    web.get("/records/new")
    response = web.post(
        "/records/new", {"case_id": "12345\x0067", "description": "Court\x00 bundle"}
    )
    assert response.status_code == 303
    assert Record.get(Record.case_id == "1234567").description == "Court bundle"
    found = web.post("/records", {"term": "\x001234567"})
    assert found.status_code == 200 and "Court bundle" in found.get_data(as_text=True)
