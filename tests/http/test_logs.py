"""Structured logs: a JSON line per request with its id, and no service user's data in them."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from services.logs import JsonFormatter, RequestContext, configure


@pytest.fixture
def log_lines():
    """What the app logs during the test, as the production handler formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    root.addHandler(handler)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield lines
    root.removeHandler(handler)


def request_lines(lines):
    return [line for line in lines() if line["logger"] == "safekeep.request"]


def test_each_request_is_one_json_line_with_its_id_route_status_and_duration(
    web, people, log_lines
):
    pat = people.add("pat")
    web.sign_in("pat")
    response = web.get("/")
    line = request_lines(log_lines)[-1]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["user_id"] == pat.id
    assert line["level"] == "INFO" and line["message"] == "request"
    assert (line["method"], line["endpoint"], line["route"], line["status"]) == (
        "GET",
        "home.index",
        "/",
        200,
    )
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d.*", line["time"])


def test_request_ids_are_new_per_request_and_a_safe_incoming_one_is_kept(client):
    first = client.get("/sign-in").headers["X-Request-ID"]
    second = client.get("/sign-in").headers["X-Request-ID"]
    assert first != second and re.fullmatch(r"[0-9a-f]{16}", first)
    kept = client.get("/sign-in", headers={"X-Request-ID": "lb-7f3a9c21.e4"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a9c21.e4"


@pytest.mark.parametrize(
    "incoming",
    ["x" * 65, "short", "has space inside", "<script>alert(1)</script>", "a\\b/c:d;e=f%0A"],
)
def test_an_unsafe_incoming_request_id_is_replaced_and_never_logged(client, log_lines, incoming):
    response = client.get("/sign-in", headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] != incoming
    assert incoming not in json.dumps(log_lines())


def test_no_case_id_search_term_or_form_value_reaches_the_log(web, people, log_lines):
    people.add("pat")
    web.sign_in("pat")
    web.get("/records/new")
    web.post("/records/new", {"case_id": "9081726", "description": "Parenting assessment"})
    web.post("/records", {"term": "9081726"})
    web.get("/records?term=9081726")  # even if someone puts it in a URL
    text = json.dumps(log_lines())
    assert "9081726" not in text and "Parenting assessment" not in text
    routes = {line["route"] for line in request_lines(log_lines)}
    assert {"/records/new", "/records"} <= routes


@pytest.mark.own_app
def test_an_unexpected_error_logs_its_type_and_stack_not_its_message_and_the_page_quotes_the_id(
    app, web, people, log_lines
):
    case_id = "9081726"

    def boom():
        raise ValueError(f"case {case_id} refused")  # as a database error may quote a row

    app.add_url_rule("/boom", "boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    people.add("pat")
    web.sign_in("pat")
    response = web.client.get("/boom")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert request_id in response.get_data(as_text=True)
    errors = [line for line in log_lines() if line.get("exc_info")]
    assert errors and errors[0]["request_id"] == request_id
    assert "ValueError" in errors[0]["exc_info"] and "in boom" in errors[0]["exc_info"]
    assert "9081726" not in json.dumps(log_lines())
    assert request_lines(log_lines)[-1]["status"] == 500
    assert request_lines(log_lines)[-1]["level"] == "ERROR"


def test_logging_is_configured_once_however_many_apps_are_made():
    from app import create_app

    create_app({"SECRET_KEY": "x", "TESTING": True})
    configure()
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "safekeep-json"]
    assert len(ours) == 1
    assert isinstance(ours[0].formatter, JsonFormatter)


def test_the_development_servers_request_lines_with_their_query_strings_are_dropped():
    from services.logs import _NoDevServerAccessLines

    def record(msg, *args):
        return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, msg, args, None)

    keep = _NoDevServerAccessLines()
    access = record('127.0.0.1 - - [29/Nov/2026 10:00:00] "%s" %s %s\n', "GET /x?c=1", 200, "-")
    assert not keep.filter(access)
    assert keep.filter(record(" * Running on http://127.0.0.1:5000"))
    werkzeug = logging.getLogger("werkzeug")
    assert not werkzeug.propagate  # never reaches the JSON handler on the root
    assert any(isinstance(f, _NoDevServerAccessLines) for h in werkzeug.handlers for f in h.filters)
