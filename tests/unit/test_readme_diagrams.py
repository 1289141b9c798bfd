"""The README's lifecycle diagrams are generated from the machines and must not drift."""

from pathlib import Path

import pytest

from machines.diagrams import DIAGRAM_FILES, MACHINES, mermaid, render_readme

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_has_a_diagram_block_for_every_machine():
    text = README.read_text(encoding="utf-8")
    for name in MACHINES:
        whole = f"<!-- diagram:{name} -->" in text and f"<!-- /diagram:{name} -->" in text
        moves = f"<!-- diagram:{name}:moves -->" in text
        assert whole or moves, name


@pytest.mark.parametrize("name", DIAGRAM_FILES)
def test_diagrams_match_the_machines(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    assert render_readme(text) == text, "run: flask --app app update-readme"


def test_the_readme_stays_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300


def test_a_moves_only_diagram_leaves_out_what_keeps_the_state():
    whole, moves = mermaid("breach"), mermaid("breach", moves_only=True)
    assert "decided --> decided : Record the ICO's outcome" in whole
    assert "decided --> decided" not in moves
    assert "decided --> closed : Close the case [may_close]" in moves


def test_a_diagram_shows_each_transition_with_its_label():
    diagram = mermaid("removal")
    assert diagram.startswith("```mermaid\nstateDiagram-v2")
    assert "approved_for_removal --> out : Take out" in diagram
    assert "out --> lost : Report lost" in diagram


def test_render_replaces_a_stale_block_only():
    stale = "intro\n<!-- diagram:dispatch -->\nold\n<!-- /diagram:dispatch -->\noutro\n"
    rendered = render_readme(stale)
    assert rendered.startswith("intro\n<!-- diagram:dispatch -->\n```mermaid")
    assert rendered.endswith("<!-- /diagram:dispatch -->\noutro\n")
    assert "old" not in rendered
