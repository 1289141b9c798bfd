"""Static files: fingerprinted names, cached for a year, and a page's CSP untouched."""

from __future__ import annotations

import hashlib
import re

from services.assets import IMMUTABLE, build

FINGERPRINT = re.compile(r"/static/dist/[\w.-]+\.([0-9a-f]{12})\.\w+")


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_every_static_file_a_page_names_is_fingerprinted_and_cached_for_a_year(client):
    page = client.get("/sign-in")
    urls = static_urls(page.get_data(as_text=True))
    assert len(urls) >= 4  # stylesheet, htmx, our script, favicon
    for url in urls:
        match = FINGERPRINT.fullmatch(url)
        assert match, f"{url} is not fingerprinted"
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url
        # The name changes whenever the content does.
        assert hashlib.sha256(response.get_data()).hexdigest()[:12] == match.group(1), url
    assert page.headers["Cache-Control"] == "no-store"  # the page itself is never kept


def test_files_named_inside_static_files_are_fingerprinted_too(client):
    html = client.get("/sign-in").get_data(as_text=True)
    script = next(u for u in static_urls(html) if "/app." in u and u.endswith(".js"))
    imported = re.search(r'from "([^"]+)"', client.get(script).get_data(as_text=True)).group(1)
    assert FINGERPRINT.fullmatch(imported)
    assert client.get(imported).headers["Cache-Control"] == IMMUTABLE
    sheet = next(u for u in static_urls(html) if u.endswith(".css"))
    for url in re.findall(r'url\("?(/static/[^")]+)', client.get(sheet).get_data(as_text=True)):
        assert FINGERPRINT.fullmatch(url), url
        assert client.get(url).status_code == 200, url


def test_the_logical_names_still_work_but_are_revalidated(client):
    response = client.get("/static/build/app.css")
    assert response.status_code == 200
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_the_csp_still_allows_scripts_from_this_origin_only(client):
    csp = client.get("/sign-in").headers["Content-Security-Policy"]
    assert re.search(r"script-src 'self' 'nonce-[\w-]+';", csp)
    assert "unsafe-inline" not in csp


def test_the_build_renames_a_file_whose_content_changes_and_clears_old_names(tmp_path):
    from services.assets import FINGERPRINTED

    for logical in FINGERPRINTED:
        (tmp_path / logical).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / logical).write_text(f"/* {logical} */")
    (tmp_path / "build/app.js").write_text(
        'import { x } from "/static/govuk/govuk-frontend.min.js";'
    )
    first = build(tmp_path)
    (tmp_path / "govuk/govuk-frontend.min.js").write_text("/* a new release */")
    second = build(tmp_path)
    assert second["govuk/govuk-frontend.min.js"] != first["govuk/govuk-frontend.min.js"]
    # app.js did not change, but what it imports did: so its name changes too.
    assert second["build/app.js"] != first["build/app.js"]
    assert second["govuk/govuk-frontend.min.js"] in (tmp_path / second["build/app.js"]).read_text()
    assert second["build/app.css"] == first["build/app.css"]
    left = {p.name for p in (tmp_path / "dist").iterdir()}
    assert left == {name.split("/")[1] for name in second.values()} | {"manifest.json"}
