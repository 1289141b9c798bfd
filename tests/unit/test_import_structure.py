"""Imports run downwards (views -> services -> models -> machines) and never in a loop.

Read from the source with ast, every import statement counted, those inside functions too: a
function-level import is still a dependency, and the usual way a loop hides.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lower numbers are lower floors: a module may import its own floor and those below.
FLOORS = {"machines": 1, "models": 2, "services": 3, "views": 4}
TOP = 5  # app.py, cli.py, config.py, demo/: they wire the rest; nothing imports them

# Upward imports another change is removing (the clock and the security log move below the
# models). Once one is gone, the test asks for its line here to go too.
PENDING: set[tuple[str, str]] = set()


def project_modules(root: Path) -> dict[str, Path]:
    files = [*root.glob("*.py"), *(root / "demo").rglob("*.py")]
    files += [path for package in FLOORS for path in (root / package).rglob("*.py")]
    modules = {}
    for path in files:
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def imported_names(module: str, path: Path, modules: set[str]) -> set[str]:
    """Every name an import statement of `module` names, absolute: `from a import b` names
    a.b when that is a module, else a."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                keep = len(parts) - node.level + (path.name == "__init__.py")
                base = ".".join([*parts[:keep], *([node.module] if node.module else [])])
            for alias in node.names:
                name = f"{base}.{alias.name}"
                names.add(name if name in modules else base)
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the project modules it imports (a name is its longest module prefix)."""
    modules = project_modules(root)
    graph = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(module, path, set(modules)):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def floor(module: str) -> int:
    return FLOORS.get(module.split(".")[0], TOP)


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if floor(target) > floor(module)
    }


def test_no_module_imports_itself_back_through_others():
    graph = import_graph(ROOT)
    described = [
        " <-> ".join(group)
        + ": "
        + "; ".join(f"{a} -> {b}" for a in group for b in sorted(graph[a]) if b in group)
        for group in loops(graph)
    ]
    assert described == []


def test_imports_run_downwards_only():
    assert upward(import_graph(ROOT)) - PENDING == set()


def test_every_pending_upward_import_is_still_there():
    assert PENDING - upward(import_graph(ROOT)) == set(), "remove these from PENDING"


def test_the_walk_finds_a_loop_and_an_upward_import(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "services").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "a.py").write_text("def f():\n    from models.b import g\n")
    (tmp_path / "models" / "b.py").write_text("from models import a\nimport services.c\n")
    (tmp_path / "services" / "c.py").write_text("from . import d\n")
    (tmp_path / "services" / "d.py").write_text("from .c import x\n")
    graph = import_graph(tmp_path)
    assert sorted(loops(graph)) == [["models.a", "models.b"], ["services.c", "services.d"]]
    assert upward(graph) == {("models.b", "services.c")}
