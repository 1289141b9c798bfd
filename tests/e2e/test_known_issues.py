"""The accessibility statement's known issues, each shown by a test here that fails while the
issue is there (marked known_issue: an expected failure, strict). A fix makes its test pass,
which fails the run until the issue comes off views/accessibility.py's KNOWN_ISSUES: the
statement and what the tests know cannot drift apart (tests/http/test_accessibility.py)."""

from __future__ import annotations

import pytest

from models.breaches import Breach
from tests.e2e.conftest import REFLOW, sign_in
from views.accessibility import KNOWN_ISSUES

ISSUES = {issue.key: issue for issue in KNOWN_ISSUES}


def known_issue(key: str):
    return pytest.mark.xfail(strict=True, reason=ISSUES[key].what)


# Words of a table's cells that the browser split over two lines.
BROKEN_WORDS = """(selector) => {
  const broken = [];
  for (const cell of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode;
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


@known_issue("board-figures-clip")
def test_at_400_percent_the_boards_figures_fit_the_screen(page):
    sign_in(page, "lina")
    page.set_viewport_size(REFLOW)
    page.goto("/board")
    figures = page.locator("main table").first
    width = figures.evaluate("t => t.getBoundingClientRect().right")
    assert width <= REFLOW["width"], f"the figures reach {width:.0f} px"


@known_issue("risk-grid-breaks-words")
def test_the_risk_grid_never_splits_a_word(page):
    assessed = Breach.select().where(Breach.likelihood.is_null(False)).first()
    assert assessed is not None, "the demo has an assessed case"
    sign_in(page, "rita")
    page.set_viewport_size(REFLOW)
    page.goto(f"/breaches/{assessed.id}")
    page.locator(".app-risk-grid").first.wait_for()
    broken = page.evaluate(BROKEN_WORDS, ".app-risk-grid th, .app-risk-grid td")
    assert broken == [], f"split over two lines: {broken}"
