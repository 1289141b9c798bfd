"""README diagrams generated from the machines themselves, never drawn by hand.

`flask --app app update-readme` rewrites each block between
`<!-- diagram:NAME -->` and `<!-- /diagram:NAME -->`; a unit test fails when they drift.
"""

from __future__ import annotations

import importlib
import re

# diagram name -> (module, machine class)
MACHINES = {
    "removal": ("machines.removal", "RemovalMachine"),
    "breach": ("machines.breach", "BreachMachine"),
    "dispatch": ("machines.dispatch", "DispatchMachine"),
    "remote_working": ("machines.remote_working", "RemoteWorkingMachine"),
}

_BLOCK = re.compile(r"(<!-- diagram:(\w+) -->\n)(.*?)(<!-- /diagram:\2 -->)", re.S)


def mermaid(name: str) -> str:
    module, cls = MACHINES[name]
    machine = getattr(importlib.import_module(module), cls)
    return f"```mermaid\n{format(machine, 'mermaid').strip()}\n```\n"


def render_readme(text: str) -> str:
    """Return the README with every diagram block regenerated from its machine."""
    return _BLOCK.sub(lambda m: m.group(1) + mermaid(m.group(2)) + m.group(4), text)
