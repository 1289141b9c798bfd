"""url_for for the rows of a list, built once per endpoint as a pattern.

A board or a home page links every row to its record or case: about a hundred url_for calls
a page, each matching the endpoint's rule and escaping its values in werkzeug (about 15 µs
apiece, 1.5 ms a page). A URL whose values are all ids is the same string for any ids but
the ids, so the first call for an endpoint and those value names builds it with stand-in
ids (long ones twice, and small ones), and keeps it as a pattern if the ids are all that
differs; later calls format the pattern. Anything else (a value that is not an int, an
anchor, a method, an external URL, a static file, a URL the builds do not explain) goes to
Flask.
"""

from __future__ import annotations

from collections.abc import Callable

# Two sets of stand-in ids: 16 digits, within IdConverter's 18, and unlike any real id.
_FIRST = 7_301_000_000_000_000
_SECOND = 8_402_000_000_000_000
_NO_PATTERN = object()


class UrlPatterns:
    """The patterns of one app, keyed by endpoint, value names and the script root."""

    def __init__(self) -> None:
        self._patterns: dict[tuple, str | None] = {}

    def url(self, build: Callable[..., str], endpoint: str, values: dict, root: str) -> str | None:
        """The URL from a kept pattern, or None when Flask must build it (`build` is
        Flask's own url_for, used to make the pattern)."""
        key = (endpoint, tuple(values), root)
        pattern = self._patterns.get(key, _NO_PATTERN)
        if pattern is _NO_PATTERN:
            pattern = self._patterns[key] = _pattern(build, endpoint, tuple(values))
        return None if pattern is None else pattern.format(*values.values())


def _pattern(build: Callable[..., str], endpoint: str, names: tuple[str, ...]) -> str | None:
    first = build(endpoint, **{name: _FIRST + n for n, name in enumerate(names)})
    second = build(endpoint, **{name: _SECOND + n for n, name in enumerate(names)})
    pattern = first.replace("{", "{{").replace("}", "}}")
    for n in range(len(names)):
        if pattern.count(str(_FIRST + n)) != 1:
            return None  # a value written twice, or not at all: not a plain id in the URL
        pattern = pattern.replace(str(_FIRST + n), f"{{{n}}}")
    if pattern.format(*(_SECOND + n for n in range(len(names)))) != second:
        return None
    # Small ids too: a converter may pad them (fixed digits), which long ones do not show.
    small = {name: n + 1 for n, name in enumerate(names)}
    if pattern.format(*small.values()) != build(endpoint, **small):
        return None
    return pattern
