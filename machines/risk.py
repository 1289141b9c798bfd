"""The breach risk grid: likelihood x severity, read from risk_grid.json (DOMAIN.md §4).

The scales and thresholds are configuration, not code: the council's information governance
team edits `machines/risk_grid.json`. It is checked when loaded, so a broken file stops the
app from starting instead of giving wrong answers later. No Flask, no queries.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRID_PATH = Path(__file__).with_name("risk_grid.json")


@dataclass(frozen=True)
class Level:
    """One point on a scale: 3, "Likely", and what it means."""

    value: int
    label: str
    description: str = ""


@dataclass(frozen=True)
class Threshold:
    """A region of the grid: every minimum given must be met."""

    likelihood_at_least: int = 1
    severity_at_least: int = 1
    score_at_least: int = 1

    def met(self, likelihood: int, severity: int) -> bool:
        return (
            likelihood >= self.likelihood_at_least
            and severity >= self.severity_at_least
            and likelihood * severity >= self.score_at_least
        )


@dataclass(frozen=True)
class Scales:
    """The radios' choices: (value, label) pairs for likelihood and for severity."""

    likelihood: list[tuple[int, str]]
    severity: list[tuple[int, str]]


@dataclass(frozen=True)
class Grid:
    likelihood: tuple[Level, ...]
    severity: tuple[Level, ...]
    vulnerable_severity_floor: int
    reportable: Threshold
    high_risk: Threshold
    about: str = ""

    @property
    def scales(self) -> Scales:
        return Scales(
            likelihood=[(level.value, level.label) for level in self.likelihood],
            severity=[(level.value, level.label) for level in self.severity],
        )

    def likelihood_label(self, value: int) -> str:
        return _label(self.likelihood, value)

    def severity_label(self, value: int) -> str:
        return _label(self.severity, value)

    def is_likelihood(self, value: Any) -> bool:
        return _on_scale(self.likelihood, value)

    def is_severity(self, value: Any) -> bool:
        return _on_scale(self.severity, value)

    def severity_floor(self, children_or_vulnerable: bool) -> int:
        """The lowest severity allowed: children or vulnerable adults start higher."""
        return self.vulnerable_severity_floor if children_or_vulnerable else self.severity[0].value


@dataclass(frozen=True)
class Assessment:
    """What the grid says about one breach."""

    likelihood: int
    severity: int  # after the children / vulnerable adults floor
    entered_severity: int
    score: int
    reportable: bool  # to the ICO (UK GDPR Art. 33)
    high_risk: bool  # to the people involved: they must be told (Art. 34)
    likelihood_label: str
    severity_label: str

    @property
    def severity_raised(self) -> bool:
        return self.severity != self.entered_severity


def _label(levels: tuple[Level, ...], value: int) -> str:
    for level in levels:
        if level.value == value:
            return level.label
    raise ValueError(f"{value!r} is not on the scale")


def _on_scale(levels: tuple[Level, ...], value: Any) -> bool:
    # bool is an int: True must not pass for 1
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and any(level.value == value for level in levels)
    )


# -- loading and checking the file ---------------------------------------------------------


def _levels(raw: Any, name: str) -> tuple[Level, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise ValueError(f"{name}: expected a list of at least two levels")
    levels = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise ValueError(f"{name}: level {position} is not an object")
        value, label = item.get("value"), item.get("label")
        if value != position or isinstance(value, bool):
            raise ValueError(f"{name}: levels must be numbered 1, 2, 3 ... in order")
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"{name}: level {position} needs a label")
        description = item.get("description", "")
        if not isinstance(description, str):
            raise ValueError(f"{name}: level {position} description must be text")
        levels.append(Level(value, label.strip(), description.strip()))
    return tuple(levels)


def _threshold(raw: Any, name: str, top_likelihood: int, top_severity: int) -> Threshold:
    keys = {"likelihood_at_least", "severity_at_least", "score_at_least"}
    if not isinstance(raw, dict) or not raw or set(raw) - keys:
        raise ValueError(f"{name}: expected some of {sorted(keys)}")
    for key, value in raw.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}.{key}: expected a whole number of 1 or more")
    threshold = Threshold(**raw)
    if threshold.likelihood_at_least > top_likelihood:
        raise ValueError(f"{name}.likelihood_at_least is above the likelihood scale")
    if threshold.severity_at_least > top_severity:
        raise ValueError(f"{name}.severity_at_least is above the severity scale")
    if threshold.score_at_least > top_likelihood * top_severity:
        raise ValueError(f"{name}.score_at_least is above the largest score")
    return threshold


def parse_grid(data: Any) -> Grid:
    """Build a Grid from the file's JSON data; ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    likelihood = _levels(data.get("likelihood"), "likelihood")
    severity = _levels(data.get("severity"), "severity")
    floor = data.get("vulnerable_severity_floor", 1)
    if not isinstance(floor, int) or isinstance(floor, bool) or not 1 <= floor <= len(severity):
        raise ValueError("vulnerable_severity_floor: expected a value on the severity scale")
    return Grid(
        likelihood=likelihood,
        severity=severity,
        vulnerable_severity_floor=floor,
        reportable=_threshold(data.get("reportable"), "reportable", len(likelihood), len(severity)),
        high_risk=_threshold(data.get("high_risk"), "high_risk", len(likelihood), len(severity)),
        about=str(data.get("about", "")),
    )


def load_grid(path: str | Path | None = None) -> Grid:
    """Read and check the grid file (machines/risk_grid.json unless told otherwise)."""
    path = Path(path) if path is not None else GRID_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return parse_grid(data)
    except (ValueError, TypeError) as error:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"risk grid {path}: {error}") from error


@functools.cache
def default_grid() -> Grid:
    """The grid file, read once per process."""
    return load_grid()


@dataclass(frozen=True)
class Cell:
    """One square of the grid and what the grid says of it."""

    likelihood: int
    severity: int
    score: int
    reportable: bool
    high_risk: bool


def grid_rows(grid: Grid | None = None) -> list[tuple[Level, list[Cell]]]:
    """The grid as a table: a row per severity, most severe first, a cell per likelihood."""
    grid = grid or default_grid()
    rows = []
    for severity in reversed(grid.severity):
        cells = []
        for likelihood in grid.likelihood:
            reportable = grid.reportable.met(likelihood.value, severity.value)
            cells.append(
                Cell(
                    likelihood=likelihood.value,
                    severity=severity.value,
                    score=likelihood.value * severity.value,
                    reportable=reportable,
                    high_risk=reportable and grid.high_risk.met(likelihood.value, severity.value),
                )
            )
        rows.append((severity, cells))
    return rows


def grid_scales(grid: Grid | None = None) -> Scales:
    """The likelihood and severity radios' (value, label) choices."""
    return (grid or default_grid()).scales


# -- the assessment ------------------------------------------------------------------------


def assess(
    likelihood: int,
    severity: int,
    children_or_vulnerable: bool = False,
    grid: Grid | None = None,
) -> Assessment:
    """Place a breach on the grid; ValueError when either value is not on its scale.

    Children or vulnerable adults raise the severity to the grid's floor (2 as shipped).
    High risk always implies reportable: a high risk to people is a risk to them.
    """
    grid = grid or default_grid()
    if not grid.is_likelihood(likelihood):
        raise ValueError(f"likelihood {likelihood!r} is not on the grid")
    if not grid.is_severity(severity):
        raise ValueError(f"severity {severity!r} is not on the grid")
    effective = max(severity, grid.severity_floor(bool(children_or_vulnerable)))
    reportable = grid.reportable.met(likelihood, effective)
    return Assessment(
        likelihood=likelihood,
        severity=effective,
        entered_severity=severity,
        score=likelihood * effective,
        reportable=reportable,
        high_risk=reportable and grid.high_risk.met(likelihood, effective),
        likelihood_label=grid.likelihood_label(likelihood),
        severity_label=grid.severity_label(effective),
    )
