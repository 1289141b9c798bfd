"""The accessibility statement's known issues, each shown by a test here that fails while the
issue is there (marked known_issue: an expected failure, strict). A fix makes its test pass,
which fails the run until the issue comes off views/accessibility.py's KNOWN_ISSUES and the
test moves, unmarked, to the file where it belongs: the statement and what the tests know
cannot drift apart (tests/http/test_accessibility.py). None is known now: the board's figures
(test_kiosk_and_board.py) and the risk grid (test_breaches.py) were the last."""

from __future__ import annotations

import pytest

from views.accessibility import KNOWN_ISSUES

ISSUES = {issue.key: issue for issue in KNOWN_ISSUES}


def known_issue(key: str):
    return pytest.mark.xfail(strict=True, reason=ISSUES[key].what)
