"""The personal-data patterns take time linear in the text they read.

Each pattern (every compiled pattern in machines/privacy.py, found by walking the module, so a
pattern added later is timed too) reads adversarial text of the longest checked field's limit
and of ten times that: linear time makes the second about ten times slower, quadratic about a
hundred. Once a 100,000-character field kept a worker busy past its 30 s timeout.

The inputs aim at the patterns' shapes: long runs of word characters, spaces and digits, and
near misses repeated (postcodes without their inward code, titles before initials, person
words before capitals, numbers before capitalised words with no street word).
"""

from __future__ import annotations

import re
import time

import pytest

from machines import privacy

pytestmark = pytest.mark.slow  # hundreds of timed runs: make test, not the fast loop

L = privacy.LONGEST
# Linear gives about 10, quadratic about 100: the line sits between them on a log scale, so
# a busy machine (which slows one measurement more than the other) does not cross it.
LINEAR = 32

PATTERNS = {name: value for name, value in vars(privacy).items() if isinstance(value, re.Pattern)}


def _tiled(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


ADVERSARIAL = {
    "letters": lambda n: "a" * n,
    "capitals": lambda n: "A" * n,
    "digits": lambda n: "1" * n,
    "spaces after a number": lambda n: "1" + " " * n,
    "email characters": lambda n: _tiled("a.b_c%d+e-", n),
    "at signs": lambda n: _tiled("a@b.", n),
    "domain without an ending": lambda n: "a@" + _tiled("b1.", n),
    "words and spaces": lambda n: _tiled("Aa ", n),
    "numbers before capitals": lambda n: _tiled("1 Aaa Bbb ", n),
    "numbers before small words": lambda n: _tiled("1 aaa bbb ", n),
    "a number then capitalised words": lambda n: "14 " + _tiled("Acacia ", n),
    "flat numbers": lambda n: "Flat " + "1" * n,
    "titles before initials": lambda n: "Mrs " + _tiled("A. ", n),
    "titles": lambda n: _tiled("Mr A. ", n),
    "person words before capitals": lambda n: "mother " + _tiled("Jane ", n),
    "person words": lambda n: _tiled("mother Jane ", n),
    "postcodes": lambda n: _tiled("SW1A 1AA ", n),
    "outward codes": lambda n: _tiled("SW1A ", n),
    "national insurance near misses": lambda n: _tiled("AB 12 34 56 ", n),
    "phone near misses": lambda n: _tiled("(0(0 ", n),
    "ten digits": lambda n: _tiled("943 476 5919 ", n),
    "born then spaces": lambda n: "born " + " " * n,
    "date of birth words": lambda n: _tiled("date of birth ", n),
    "dates without a year": lambda n: "born on 1 " + _tiled("jan ", n),
}


def _seconds(run, text: str, times: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(times):
        run(text)
    return (time.perf_counter() - start) / times


def _ratio(run, make) -> float:
    """time(10 L) / time(L), each the fastest of several runs taken in turn, and the lowest
    of three tries: other work on a shared machine slows a measurement down, but never makes
    a quadratic pattern look linear."""
    short, long = make(L), make(10 * L)
    run(short)  # warm up
    ratios = []
    for _ in range(3):
        short_time = long_time = float("inf")
        for _ in range(4):
            # Ten times over at the short length, so both sides are long enough to measure.
            short_time = min(short_time, _seconds(run, short, 10))
            long_time = min(long_time, _seconds(run, long))
        ratios.append(long_time / short_time)
        if ratios[-1] <= LINEAR:
            break
    return min(ratios)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_each_pattern_takes_time_linear_in_the_text(name: str) -> None:
    pattern = PATTERNS[name]

    def run(text: str) -> None:
        for _ in pattern.finditer(text):
            pass

    slow = {
        input_name: round(ratio, 1)
        for input_name, make in ADVERSARIAL.items()
        if (ratio := _ratio(run, make)) > LINEAR
    }
    assert not slow, f"{name}: ten times the text took this many times as long: {slow}"


def test_finding_and_taking_out_take_time_linear_in_the_text() -> None:
    # redact runs find: every pattern, then keeping the first of overlapping findings.
    slow = {
        input_name: round(ratio, 1)
        for input_name, make in ADVERSARIAL.items()
        if (ratio := _ratio(privacy.redact, make)) > LINEAR
    }
    assert not slow, f"ten times the text took this many times as long: {slow}"
