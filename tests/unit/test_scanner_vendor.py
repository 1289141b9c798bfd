"""The copy of qr-scanner: its decoder becomes a worker file of this site, never a blob: URL."""

from __future__ import annotations

import pytest

from services import scanner_vendor
from services.scanner_vendor import UnexpectedRelease

LIBRARY = 'let a=1;const w=()=>import("./qr-scanner-worker.min.js");\n//# sourceMappingURL=x.map'
DECODER = r"self.onmessage=e=>{const s=`a${1}`;postMessage(s+'\\')}"
WORKER_MODULE = (
    "export const createWorker=()=>new Worker(URL.createObjectURL(new Blob([`"
    + DECODER.replace("\\", "\\\\").replace("`", "\\`").replace("$", "\\$")
    + '`]),{type:"application/javascript"}))//# sourceMappingURL=qr-scanner-worker.min.js.map'
)


def test_the_decoder_is_the_worker_string_read_as_javascript_reads_it(tmp_path):
    package = tmp_path / "qr-scanner"
    package.mkdir()
    (package / "qr-scanner.min.js").write_text(LIBRARY)
    (package / "qr-scanner-worker.min.js").write_text(WORKER_MODULE)
    library, worker, decoder = scanner_vendor.copy(package, tmp_path / "vendor")
    assert decoder.read_text() == DECODER + "\n"
    assert worker.read_text() == (
        'export const createWorker=()=>new Worker("/static/vendor/qr-scanner-decoder.js");\n'
    )
    assert library.read_text() == (
        'let a=1;const w=()=>import("/static/vendor/qr-scanner-worker.min.js");\n'
    )


@pytest.mark.parametrize(
    ("library", "worker_module"),
    [
        # The library no longer imports its worker module by that name.
        ("import('./qr-scanner-worker.min.js')", WORKER_MODULE),
        # The worker built another way, or its string needing more than the three escapes.
        (LIBRARY, "export const createWorker=()=>new Worker('w.js')"),
        (LIBRARY, WORKER_MODULE.replace("postMessage", "\\npostMessage")),
        (LIBRARY, WORKER_MODULE.replace("a\\${1}", "a${1}")),
    ],
)
def test_a_release_that_loads_its_worker_otherwise_is_not_copied(tmp_path, library, worker_module):
    package = tmp_path / "qr-scanner"
    package.mkdir()
    (package / "qr-scanner.min.js").write_text(library)
    (package / "qr-scanner-worker.min.js").write_text(worker_module)
    with pytest.raises(UnexpectedRelease):
        scanner_vendor.copy(package, tmp_path / "vendor")
