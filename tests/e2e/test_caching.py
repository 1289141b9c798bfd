"""A browser fetches each static file once: the next page asks the server for none of them."""

from __future__ import annotations

import logging

import pytest
from flask import request

from tests.e2e.conftest import sign_in


class StaticRequests(logging.Handler):
    """Counts the static files the live server answers (from its request log lines)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Emitted in the server's request thread, so the request is at hand.
        if getattr(record, "endpoint", None) == "static":
            self.urls.append(request.path)


@pytest.fixture
def static_requests():
    handler = StaticRequests()
    logger = logging.getLogger("safekeep.request")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_the_next_page_loads_no_static_file_from_the_server(page, static_requests):
    page.goto("/sign-in")
    page.wait_for_load_state("networkidle")
    assert len(static_requests.urls) >= 4  # the first visit fetches them all
    static_requests.urls.clear()
    sign_in(page, "pat")  # the sign-in page again, then the home page
    page.wait_for_load_state("networkidle")
    page.goto("/records")
    page.wait_for_load_state("networkidle")
    # Chromium's favicon loader keeps a cache of its own and may ask again: the page's own
    # stylesheet and scripts are what every page used to revalidate.
    fetched = [url for url in static_requests.urls if not url.endswith(".ico")]
    # Find a record is the first page with Scan label: its scripts come once, with it.
    assert [url.split("/")[-1].split(".")[0] for url in fetched] == ["scan", "qr-scanner"]
    static_requests.urls.clear()
    page.goto("/")
    page.goto("/records")
    page.wait_for_load_state("networkidle")
    fetched = [url for url in static_requests.urls if not url.endswith(".ico")]
    assert fetched == [], "revalidated instead of cached"


def test_a_first_visit_stays_under_60_kb_on_the_wire(browser, base_url):
    """Every byte Chromium receives on a first visit (empty cache, cache off): the page, its
    stylesheet, scripts and favicon, response headers included; as `make bench` measures."""
    from demo.accounts import DEMO_PASSWORD
    from tests.bench.browser import FIRST_VISIT_BUDGET, first_visit, signed_in_state

    signed_in = signed_in_state(browser, base_url, "lina", DEMO_PASSWORD)
    for path, state in (("/sign-in", None), ("/", signed_in)):
        transfers = first_visit(browser, base_url, path, state)
        paths = sorted(t.url.removeprefix(base_url) for t in transfers)
        # The whole page arrived: its HTML, stylesheet, the scripts and the favicon.
        assert path in paths and all(t.status == 200 for t in transfers), transfers
        assert [p.rsplit(".", 1)[-1] for p in paths].count("js") >= 3, paths
        assert any(p.endswith(".css") for p in paths) and any(p.endswith(".ico") for p in paths)
        total = sum(t.bytes for t in transfers)
        assert total <= FIRST_VISIT_BUDGET, f"{path}: {total} bytes: {transfers}"
