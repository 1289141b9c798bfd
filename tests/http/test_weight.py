"""What a council laptop downloads: a first visit under 60 KB compressed, small htmx swaps."""

from __future__ import annotations

import re

BUDGET = 60 * 1024


def _fetch(web, url):
    return web.client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})


def test_a_first_visit_transfers_under_60_kb_compressed(web):
    page = _fetch(web, "/sign-in")
    assert page.headers["Content-Encoding"] in ("br", "gzip")
    html = web.client.get("/sign-in").get_data()  # the same page, uncompressed, to read
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+)"', html)
    assert any(a.endswith(b".css") for a in assets) and any(a.endswith(b".js") for a in assets)
    sizes = {"/sign-in": len(page.get_data())}
    for asset in assets:
        response = _fetch(web, asset.decode())
        assert response.status_code == 200, asset
        sizes[asset.decode()] = len(response.get_data())
    assert sum(sizes.values()) < BUDGET, sizes


def test_static_files_are_compressed_and_pages_vary_on_encoding(web):
    response = _fetch(web, "/static/build/app.css")
    assert response.headers.get("Content-Encoding") in ("br", "deflate", "gzip")
    assert "Accept-Encoding" in _fetch(web, "/sign-in").headers["Vary"]
