"""Imports run downwards only: views -> services -> models -> machines.

Read from the source (every import statement, those inside functions too), so a layer that
reaches up is caught before it becomes an import loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["views", "services", "models", "machines"]  # each may import only those after it
# Below the models nothing knows it serves web requests or queries a database.
NOT_IN_MACHINES = {"flask", "flask_login", "flask_wtf", "peewee", "playhouse", "werkzeug"}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    "layer",
    [
        # services/imports.py reads views.forms.FormErrors: left to the CSV import's owner.
        pytest.param("services", marks=pytest.mark.xfail(strict=True, reason="imports.py")),
        "models",
        "machines",
    ],
)
def test_a_layer_imports_nothing_above_it(layer):
    above = set(LAYERS[: LAYERS.index(layer)])
    reaching_up = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & above)
        for path in sorted((ROOT / layer).rglob("*.py"))
        if imported_packages(path) & above
    }
    assert reaching_up == {}


def test_the_machines_use_neither_flask_nor_the_database():
    found = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & NOT_IN_MACHINES)
        for path in sorted((ROOT / "machines").rglob("*.py"))
        if imported_packages(path) & NOT_IN_MACHINES
    }
    assert found == {}
