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
    "ico_item": ("machines.ico_follow_up", "IcoItemMachine"),
    "breach_action": ("machines.breach_action", "BreachActionMachine"),
}

# A block named `NAME:moves` shows only the transitions that change the state: the README
# keeps to its length that way, and docs/lifecycles.md has the whole chart.
_BLOCK = re.compile(r"(<!-- diagram:(\w+)(:moves|) -->\n)(.*?)(<!-- /diagram:\2\3 -->)", re.S)
_STAYS = re.compile(r"^\s+(\w+) --> \1 : ")
# The files whose diagram blocks `flask --app app update-readme` regenerates.
DIAGRAM_FILES = ("README.md", "docs/lifecycles.md")


def mermaid(name: str, moves_only: bool = False) -> str:
    module, cls = MACHINES[name]
    machine = getattr(importlib.import_module(module), cls)
    lines = format(machine, "mermaid").strip().splitlines()
    if moves_only:
        lines = [line for line in lines if not _STAYS.match(line)]
    return "```mermaid\n" + "\n".join(lines) + "\n```\n"


def render_readme(text: str) -> str:
    """Return the text with every diagram block regenerated from its machine."""
    return _BLOCK.sub(
        lambda m: m.group(1) + mermaid(m.group(2), bool(m.group(3))) + m.group(5), text
    )
