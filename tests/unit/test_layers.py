"""Below the models nothing knows it serves web requests or queries a database (that imports
run downwards and never in a loop is tests/unit/test_import_structure.py's)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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


def test_the_machines_use_neither_flask_nor_the_database():
    found = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & NOT_IN_MACHINES)
        for path in sorted((ROOT / "machines").rglob("*.py"))
        if imported_packages(path) & NOT_IN_MACHINES
    }
    assert found == {}
