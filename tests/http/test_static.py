"""Static files: fingerprinted names, cached for a year, and a page's CSP untouched."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

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
    named = {name.split("/")[1] for name in second.values()}
    assert left == {n + suffix for n in named for suffix in ("", ".br", ".gz")} | {"manifest.json"}


def test_the_build_writes_each_file_compressed_beside_it(tmp_path):
    import brotli

    from services.assets import FINGERPRINTED

    for logical in FINGERPRINTED:
        (tmp_path / logical).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / logical).write_text(f"/* {logical} */ " + "body { margin: 0 } " * 200)
    for name in build(tmp_path).values():
        plain = (tmp_path / name).read_bytes()
        assert brotli.decompress((tmp_path / f"{name}.br").read_bytes()) == plain, name
        assert gzip.decompress((tmp_path / f"{name}.gz").read_bytes()) == plain, name


def test_a_fingerprinted_file_goes_in_brotli_at_its_best(client):
    import brotli

    html = client.get("/sign-in").get_data(as_text=True)
    sheet = next(u for u in static_urls(html) if u.endswith(".css"))
    plain = client.get(sheet).get_data()
    response = client.get(sheet, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert brotli.decompress(response.get_data()) == plain
    # Smaller than Flask-Compress's everyday quality 4 would make it.
    assert len(response.get_data()) < len(brotli.compress(plain, quality=4)) * 0.85
    again = client.get(sheet, headers={"Accept-Encoding": "br"})
    assert again.get_data() == response.get_data() and again.headers["Content-Encoding"] == "br"
    gzipped = client.get(sheet, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"


@pytest.mark.own_app  # an app of its own: the shared one keeps what earlier tests compressed
def test_a_worker_sends_the_builds_compressed_copies_and_compresses_nothing(
    app, client, monkeypatch
):
    # Brotli 11 takes a worker about 6 MB for the stylesheet (and half a second): the build
    # does it once instead.
    from services import assets

    def compressing(data):
        raise AssertionError("a worker compressed a file the build had compressed")

    monkeypatch.setattr(assets, "ENCODINGS", dict.fromkeys(assets.ENCODINGS, compressing))
    html = client.get("/sign-in").get_data(as_text=True)
    for url in static_urls(html):
        for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
            response = client.get(url, headers={"Accept-Encoding": encoding})
            assert response.status_code == 200, url
            assert response.headers["Content-Encoding"] == encoding, url
            built = Path(app.static_folder) / (url.removeprefix("/static/") + suffix)
            assert response.get_data() == built.read_bytes(), url


def test_only_the_board_loads_the_boards_script_and_only_a_kiosk_the_kiosks(web, people):
    lina = people.add("lina", "line_manager")
    people.add("kiosk1", "kiosk", manager=lina)

    def scripts(url: str) -> list[str]:
        html = web.get(url).get_data(as_text=True)
        return [u.split("/")[-1].split(".")[0] for u in static_urls(html) if u.endswith(".js")]

    web.sign_in("lina")
    assert scripts("/") == ["htmx", "app"]
    assert scripts("/board") == ["htmx", "app", "board"]
    web.client.post("/sign-out", data={"csrf_token": web.csrf})
    web.sign_in("kiosk1")
    assert scripts("/kiosk/") == ["htmx", "app", "kiosk"]


def test_our_scripts_ship_without_comments_but_keep_every_line_of_code():
    from services.assets import stripped
    from tests.conftest import ROOT

    for source in (ROOT / "static" / "src").glob("*.js"):
        text = source.read_text()
        # stripped() removes indentation: safe only while no template literal spans lines.
        for number, line in enumerate(text.splitlines(), start=1):
            assert line.count("`") % 2 == 0, f"{source.name}:{number} spans lines"
        code = [line.strip() for line in text.splitlines()]
        code = [line for line in code if line and not line.startswith("//")]
        assert [line for line in stripped(text).splitlines() if line] == code
