"""Static files with their content's hash in the name, cached for a year.

`python3 -m services.assets` (run by `make assets` and the container build) copies the built
stylesheet and scripts, and the images they refer to, into static/dist/ as
`<name>.<hash><suffix>`, rewriting each reference to another of them (app.js imports the GOV.UK
script; app.css names the crest), and writes static/dist/manifest.json: logical name to
fingerprinted name. At run time `url_for("static", filename="build/app.css")` gives the
fingerprinted URL, and those files are served with
`Cache-Control: public, max-age=31536000, immutable`: a browser asks for each once, and a
new release's files have new names. Everything else under /static/ keeps Flask's default
(revalidate each time). Without a manifest (assets not built) the logical names are used.

Beside each fingerprinted file the build writes it compressed as small as each encoding makes
it (`<name>.br` at Brotli 11, `<name>.gz` at gzip 9), and those copies are what a browser that
accepts the encoding gets: Brotli 11 takes about 6 MB and half a second for the stylesheet,
which every worker would otherwise spend, and partly keep, on its first request for it.

The build needs only Python's standard library, so it runs before any package is installed;
without the brotli module it writes the gzip copies only, and a worker compresses a file in
Brotli itself, once, the first time it is asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
DIST = "dist"
MANIFEST = "manifest.json"
IMMUTABLE = "public, max-age=31536000, immutable"

# Files referred to by others come first, so each reference is rewritten before its file is
# hashed (a changed image changes the stylesheet's name too).
FINGERPRINTED = (
    "govuk/assets/images/favicon.ico",
    "govuk/assets/images/govuk-crest.svg",
    "govuk/govuk-frontend.min.js",
    "vendor/htmx.min.js",
    "build/app.css",
    # app.js first: the page modules import it, and must name the same file as the page's
    # own script tag (one URL, one module instance, started once).
    "build/app.js",
    "build/board.js",
    "build/kiosk.js",
    # "Scan label" (build/scan.js), on the pages that offer it only: the library imports its
    # worker module, which starts the decoder (services/scanner_vendor.py).
    "vendor/qr-scanner-decoder.js",
    "vendor/qr-scanner-worker.min.js",
    "vendor/qr-scanner.min.js",
    "build/scan.js",
)
TEXT_SUFFIXES = {".css", ".js"}
# Our own scripts are shipped without their comment lines and indentation (a third of their
# gzipped size): there is no minifier in the build, and none is needed for that.
OWN_SCRIPTS = "build/"
COMMENT_LINE = re.compile(r"^[ \t]*//[^\n]*\n", re.MULTILINE)
INDENTATION = re.compile(r"^[ \t]+", re.MULTILINE)


def fingerprinted_name(logical: str, content: bytes) -> str:
    path = Path(logical)
    digest = hashlib.sha256(content).hexdigest()[:12]
    return f"{DIST}/{path.stem}.{digest}{path.suffix}"


def stripped(script: str) -> str:
    """The script without whole-line comments and indentation. Safe for our scripts, which
    keep every template literal on one line (a test holds them to it)."""
    return INDENTATION.sub("", COMMENT_LINE.sub("", script))


def build(static: Path = STATIC) -> dict[str, str]:
    """Write static/dist/ and its manifest from the built files; return the manifest."""
    dist = static / DIST
    dist.mkdir(exist_ok=True)
    manifest: dict[str, str] = {}
    for logical in FINGERPRINTED:
        content = (static / logical).read_bytes()
        if Path(logical).suffix in TEXT_SUFFIXES:
            text = content.decode("utf-8")
            if logical.startswith(OWN_SCRIPTS) and logical.endswith(".js"):
                text = stripped(text)
            for earlier, name in manifest.items():
                text = text.replace(f"/static/{earlier}", f"/static/{name}")
            content = text.encode("utf-8")
        name = fingerprinted_name(logical, content)
        (static / name).write_bytes(content)
        for suffix, compress in _compressors().items():
            (static / (name + suffix)).write_bytes(compress(content))
        manifest[logical] = name
    # Old releases' files go: the directory holds exactly what the manifest names.
    keep = {Path(name).name + suffix for name in manifest.values() for suffix in ("", *SUFFIXES)}
    keep.add(MANIFEST)
    for old in dist.iterdir():
        if old.name not in keep:
            old.unlink() if old.is_file() else shutil.rmtree(old)
    (dist / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


class Manifest:
    """The manifest as last built; read again when the file changes (`make assets` while the
    development server runs)."""

    def __init__(self, path: Path):
        self.path = path
        self._stamp: float | None = None
        self.names: dict[str, str] = {}
        self.served: frozenset[str] = frozenset()

    def refresh(self) -> None:
        try:
            stamp = self.path.stat().st_mtime
        except FileNotFoundError:
            self.names, self.served, self._stamp = {}, frozenset(), None
            return
        if stamp != self._stamp:
            self.names = json.loads(self.path.read_text())
            self.served = frozenset(self.names.values())
            self._stamp = stamp


def init_app(app) -> None:
    """Serve fingerprinted URLs from url_for, and cache those files for a year."""
    from flask import request

    static = Path(app.static_folder)
    manifest = Manifest(static / DIST / MANIFEST)
    manifest.refresh()
    compressed: dict[tuple[str, str], bytes] = {}  # (fingerprinted name, encoding): body

    @app.url_defaults
    def _fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            if app.debug:
                manifest.refresh()
            values["filename"] = manifest.names.get(values["filename"], values["filename"])

    @app.after_request
    def _cache_for_a_year(response):
        if (
            request.endpoint == "static"
            and response.status_code == 200
            and (request.view_args or {}).get("filename") in manifest.served
        ):
            response.headers["Cache-Control"] = IMMUTABLE
            encoding = next((e for e in ENCODINGS if request.accept_encodings.quality(e) > 0), None)
            if encoding:
                name = request.view_args["filename"]
                _send_compressed(response, static / name, encoding, compressed)
        return response


def _brotli(data: bytes) -> bytes:
    import brotli  # Flask-Compress's dependency

    return brotli.compress(data, quality=11)


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


# Best first. Flask-Compress sends a file with its everyday Brotli quality 4 (the stylesheet
# 17 KB against 13 at 11) and streams it, which leaves gzip-only clients uncompressed.
ENCODINGS = {"br": _brotli, "gzip": _gzip}
# The build's compressed copy of a file in each encoding: the file's name and this suffix.
SUFFIXES = {".br": "br", ".gz": "gzip"}


def _compressors() -> dict[str, Callable[[bytes], bytes]]:
    """The copies this Python can write, by suffix: gzip always, Brotli with its module."""
    try:
        import brotli  # noqa: F401
    except ImportError:
        return {".gz": _gzip}
    return {suffix: ENCODINGS[encoding] for suffix, encoding in SUFFIXES.items()}


def _built_copy(path: Path, encoding: str) -> bytes | None:
    suffix = next(s for s, e in SUFFIXES.items() if e == encoding)
    try:
        return path.with_name(path.name + suffix).read_bytes()
    except OSError:
        return None


def _send_compressed(
    response, path: Path, encoding: str, compressed: dict[tuple[str, str], bytes]
) -> None:
    """Send a fingerprinted file compressed as small as the encoding makes it: the build's
    copy, or, without one, compressed here. Its name fixes its content, so each worker reads
    or compresses it once and keeps the result (a few KB). Flask-Compress leaves an encoded
    response alone."""
    key = (path.name, encoding)
    response.direct_passthrough = False
    body = compressed.get(key)
    if body is None:
        body = _built_copy(path, encoding)
        if body is None:
            body = ENCODINGS[encoding](response.get_data())
        compressed[key] = body
    etag, weak = response.get_etag()
    file_left_open = getattr(response.response, "close", None)
    response.set_data(body)
    if file_left_open is not None:
        file_left_open()
    response.headers["Content-Encoding"] = encoding
    response.vary.add("Accept-Encoding")
    if etag:
        response.set_etag(f"{etag}:{encoding}", weak=weak)


if __name__ == "__main__":
    built = build(Path(sys.argv[1]) if len(sys.argv) > 1 else STATIC)
    print(f"Fingerprinted {len(built)} static files into static/{DIST}/.")
