"""The risk grid: scales and thresholds come from the data file, not from code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from machines.risk import (
    GRID_PATH,
    Grid,
    assess,
    default_grid,
    grid_scales,
    load_grid,
    parse_grid,
)

GRID = load_grid()


def shipped() -> dict[str, Any]:
    return json.loads(GRID_PATH.read_text(encoding="utf-8"))


def write_grid(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


# -- the shipped grid ----------------------------------------------------------------------


def test_shipped_scales_are_the_councils_five_point_scales() -> None:
    assert [level.label for level in GRID.likelihood] == [
        "Not occurred",
        "Not likely",
        "Likely",
        "Highly likely",
        "Occurred",
    ]
    assert [level.label for level in GRID.severity] == [
        "No adverse effect",
        "Minor",
        "Adverse effect",
        "Serious",
        "Catastrophic",
    ]
    assert all(level.description for level in GRID.likelihood + GRID.severity)
    assert GRID.vulnerable_severity_floor == 2


def test_grid_scales_are_the_radios_value_label_pairs() -> None:
    scales = grid_scales(GRID)
    assert scales.likelihood[0] == (1, "Not occurred")
    assert scales.severity[-1] == (5, "Catastrophic")
    assert [value for value, _ in scales.likelihood] == [1, 2, 3, 4, 5]
    assert grid_scales() == scales  # the default grid is the shipped file


def test_default_grid_is_read_once() -> None:
    assert default_grid() is default_grid()
    assert default_grid() == GRID


CELLS = [(likelihood, severity) for likelihood in range(1, 6) for severity in range(1, 6)]


@pytest.mark.parametrize(("likelihood", "severity"), CELLS)
def test_every_cell_of_the_shipped_grid(likelihood: int, severity: int) -> None:
    result = assess(likelihood, severity, False, GRID)
    # DOMAIN.md §4: reportable when likelihood >= 3 and severity >= 2; high risk from serious.
    assert result.reportable is (likelihood >= 3 and severity >= 2)
    assert result.high_risk is (likelihood >= 3 and severity >= 4)
    assert result.score == likelihood * severity
    assert (result.likelihood, result.severity) == (likelihood, severity)
    assert not result.severity_raised


def test_labels_come_with_the_result() -> None:
    result = assess(4, 3, False, GRID)
    assert (result.likelihood_label, result.severity_label) == ("Highly likely", "Adverse effect")


def test_children_or_vulnerable_adults_start_at_severity_two() -> None:
    plain = assess(3, 1, False, GRID)
    assert (plain.severity, plain.reportable) == (1, False)

    raised = assess(3, 1, True, GRID)
    assert (raised.severity, raised.entered_severity, raised.score) == (2, 1, 6)
    assert raised.severity_raised
    assert raised.reportable is True
    assert raised.severity_label == "Minor"


def test_the_floor_never_lowers_a_severity() -> None:
    result = assess(5, 4, True, GRID)
    assert result.severity == 4
    assert not result.severity_raised
    assert result.high_risk


def test_not_likely_stays_unreportable_even_for_children() -> None:
    assert assess(2, 5, True, GRID).reportable is False


@pytest.mark.parametrize("bad", [0, 6, -1, None, "3", 3.0, True])
def test_values_off_the_scale_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError):
        assess(bad, 3, False, GRID)
    with pytest.raises(ValueError):
        assess(3, bad, False, GRID)


def test_is_likelihood_and_is_severity() -> None:
    assert GRID.is_likelihood(1) and GRID.is_severity(5)
    assert not GRID.is_likelihood(True)
    assert not GRID.is_severity("2")
    assert GRID.severity_floor(True) == 2 and GRID.severity_floor(False) == 1


# -- the thresholds are data ---------------------------------------------------------------


def test_changing_the_file_changes_the_answer_without_code(tmp_path: Path) -> None:
    data = shipped()
    data["reportable"] = {"score_at_least": 9}
    data["high_risk"] = {"likelihood_at_least": 4, "severity_at_least": 5}
    data["vulnerable_severity_floor"] = 3
    grid = load_grid(write_grid(tmp_path, data))

    assert assess(3, 2, False, grid).reportable is False  # 6 < 9, though 3 x 2 passes shipped
    assert assess(3, 3, False, grid).reportable is True
    assert assess(5, 2, False, grid).reportable is True  # score 10
    assert assess(3, 5, False, grid).high_risk is False
    assert assess(4, 5, False, grid).high_risk is True
    assert assess(3, 1, True, grid).severity == 3


def test_high_risk_is_never_without_reportable(tmp_path: Path) -> None:
    data = shipped()
    data["high_risk"] = {"likelihood_at_least": 1}
    grid = load_grid(write_grid(tmp_path, data))
    result = assess(1, 5, False, grid)
    assert (result.reportable, result.high_risk) == (False, False)


def test_labels_are_read_from_the_file(tmp_path: Path) -> None:
    data = shipped()
    data["likelihood"][2]["label"] = "Probable"
    grid = load_grid(write_grid(tmp_path, data))
    assert grid.scales.likelihood[2] == (3, "Probable")
    assert assess(3, 3, False, grid).likelihood_label == "Probable"


def _broken(mutate) -> dict[str, Any]:
    data = shipped()
    mutate(data)
    return data


BROKEN = {
    "not json": "{not json",
    "not an object": [],
    "missing scale": _broken(lambda d: d.pop("severity")),
    "one level": _broken(lambda d: d.update(likelihood=d["likelihood"][:1])),
    "out of order": _broken(lambda d: d["severity"].reverse()),
    "gap": _broken(lambda d: d["likelihood"].pop(2)),
    "empty label": _broken(lambda d: d["severity"][0].update(label=" ")),
    "floor off scale": _broken(lambda d: d.update(vulnerable_severity_floor=6)),
    "floor not a number": _broken(lambda d: d.update(vulnerable_severity_floor="2")),
    "threshold missing": _broken(lambda d: d.pop("reportable")),
    "threshold unknown key": _broken(lambda d: d.update(high_risk={"severity_over": 3})),
    "threshold above scale": _broken(lambda d: d.update(reportable={"likelihood_at_least": 6})),
    "threshold zero": _broken(lambda d: d.update(reportable={"severity_at_least": 0})),
    "score above grid": _broken(lambda d: d.update(high_risk={"score_at_least": 26})),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_grid_file_is_refused_when_loaded(tmp_path: Path, name: str) -> None:
    path = write_grid(tmp_path, BROKEN[name])
    with pytest.raises(ValueError) as refused:
        load_grid(path)
    assert str(path) in str(refused.value)


def test_parse_grid_builds_the_same_grid_as_the_file() -> None:
    grid = parse_grid(shipped())
    assert isinstance(grid, Grid)
    assert grid == GRID
