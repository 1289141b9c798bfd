"""Copy the npm package qr-scanner into static/vendor/, its decoder a worker file of its own.

`python3 -m services.scanner_vendor` (a Makefile rule, like htmx's copy) writes three files:

- qr-scanner.min.js: the library, importing its worker module from /static/vendor/ (the
  package imports "./qr-scanner-worker.min.js" beside itself, a name fingerprinting changes);
- qr-scanner-worker.min.js: that module, starting the decoder from its own file;
- qr-scanner-decoder.js: the decoder, used where the browser has no BarcodeDetector.

The package starts its decoder from a `blob:` URL made of a string in the module. Our CSP
lets workers come from this origin only (`worker-src 'self'`), so the decoder is cut out of
that string into a file served from here: no `blob:` in the policy for it. The fingerprinted
names follow from services/assets.py, which rewrites each "/static/<name>" reference.

Standard library only, as services/assets.py: it runs before any Python package is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "node_modules" / "qr-scanner"
VENDOR = ROOT / "static" / "vendor"

LIBRARY = "qr-scanner.min.js"
WORKER_MODULE = "qr-scanner-worker.min.js"
DECODER = "qr-scanner-decoder.js"

_WORKER_IMPORT = f'import("./{WORKER_MODULE}")'
_BLOB_START = "export const createWorker=()=>new Worker(URL.createObjectURL(new Blob([`"
_BLOB_END = re.compile(
    r'`\]\),\{type:"application/javascript"\}\)\)(//# sourceMappingURL=\S*)?\s*\Z'
)
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S*\s*\Z")
# The only escapes the decoder's template literal holds; any other (a \n, say) would need
# JavaScript's own reading of the string, so a release with one fails the copy instead.
_ESCAPES = {"\\`": "`", "\\$": "$", "\\\\": "\\"}


class UnexpectedRelease(Exception):
    """qr-scanner changed how it loads its worker: look at the new release before copying."""


def library(source: str) -> str:
    """The library, importing its worker module by the path fingerprinting rewrites."""
    if source.count(_WORKER_IMPORT) != 1:
        raise UnexpectedRelease(f"{LIBRARY} does not import {WORKER_MODULE} once")
    source = source.replace(_WORKER_IMPORT, f'import("/static/vendor/{WORKER_MODULE}")')
    return _SOURCE_MAP.sub("\n", source)


def decoder(worker_module: str) -> str:
    """The decoder worker's own code, from the string the package makes a `blob:` URL of."""
    end = _BLOB_END.search(worker_module)
    if not worker_module.startswith(_BLOB_START) or end is None:
        raise UnexpectedRelease(f"{WORKER_MODULE} does not build its worker from one string")
    literal = worker_module[len(_BLOB_START) : end.start()]
    unknown = set(re.findall(r"\\.", literal, re.S)) - set(_ESCAPES)
    if unknown or "${" in literal.replace("\\${", ""):
        raise UnexpectedRelease(f"{WORKER_MODULE}'s worker string has escapes {unknown}")
    return re.sub(r"\\[`$\\]", lambda m: _ESCAPES[m.group(0)], literal) + "\n"


def worker_module() -> str:
    """The module the library imports: it starts the decoder from its file on this origin."""
    return f'export const createWorker=()=>new Worker("/static/vendor/{DECODER}");\n'


def copy(package: Path = PACKAGE, vendor: Path = VENDOR) -> list[Path]:
    """Write the three files into `vendor`; return their paths."""
    vendor.mkdir(parents=True, exist_ok=True)
    files = {
        LIBRARY: library((package / LIBRARY).read_text("utf-8")),
        WORKER_MODULE: worker_module(),
        DECODER: decoder((package / WORKER_MODULE).read_text("utf-8")),
    }
    for name, text in files.items():
        (vendor / name).write_text(text, "utf-8")
    return [vendor / name for name in files]


if __name__ == "__main__":
    try:
        written = copy()
    except UnexpectedRelease as error:
        sys.exit(f"qr-scanner: {error}")
    print(f"Copied qr-scanner into static/vendor/: {', '.join(p.name for p in written)}.")
