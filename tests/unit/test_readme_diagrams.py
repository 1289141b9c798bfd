"""The README's lifecycle diagrams are generated from the machines and must not drift."""

from pathlib import Path

from machines.diagrams import MACHINES, mermaid, render_readme

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_has_a_diagram_block_for_every_machine():
    text = README.read_text(encoding="utf-8")
    for name in MACHINES:
        assert f"<!-- diagram:{name} -->" in text and f"<!-- /diagram:{name} -->" in text


def test_readme_diagrams_match_the_machines():
    text = README.read_text(encoding="utf-8")
    assert render_readme(text) == text, "run: flask --app app update-readme"


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
