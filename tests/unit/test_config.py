"""Settings: the defaults work, and every checked setting refuses a value that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import MORE_THAN_ZERO, WHOLE_NUMBERS, check_settings, environment_settings


@pytest.fixture
def clean_environment(monkeypatch):
    """No setting from the machine running the tests: the defaults alone."""
    for name in environment_settings(Path("instance")):
        monkeypatch.delenv(name, raising=False)


def settings(tmp_path, **overrides) -> dict:
    config = {**environment_settings(tmp_path), "SECRET_KEY": "x", **overrides}
    check_settings(config, tmp_path)
    return config


def test_the_defaults_pass_their_checks_as_numbers(clean_environment, tmp_path):
    config = settings(tmp_path)
    assert config["SESSION_IDLE_MINUTES"] == 30
    assert config["SESSION_MAX_HOURS"] == 12.0
    assert config["KIOSK_IDLE_HOURS"] == 12
    assert config["SMTP_PORT"] == 25
    assert config["MAX_CONTENT_LENGTH"] == config["MAX_FORM_MEMORY_SIZE"] == 1024 * 1024
    assert config["TRUSTED_PROXIES"] == 0


def bad_whole_numbers() -> list:
    cases = []
    for name, least, most in WHOLE_NUMBERS:
        wrong = ["", " ", "many", "1.5", "-1", "²", "1_000", str(least - 1)]
        if most is not None:
            wrong.append(str(most + 1))
        cases += [
            pytest.param(name, value, id=f"{name}={value!r}") for value in dict.fromkeys(wrong)
        ]
    return cases


@pytest.mark.parametrize(("name", "value"), bad_whole_numbers())
def test_a_whole_number_setting_refuses_what_cannot_work(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"^{name} must be a whole number"):
        settings(tmp_path, **{name: value})


@pytest.mark.parametrize(("name", "least", "most"), WHOLE_NUMBERS)
def test_a_whole_number_setting_takes_its_limits(tmp_path, name, least, most):
    assert settings(tmp_path, **{name: f" {least} "})[name] == least
    if most is not None:
        assert settings(tmp_path, **{name: most})[name] == most


@pytest.mark.parametrize("value", ["0", "-2", "soon", "nan", "inf", ""])
@pytest.mark.parametrize("name", MORE_THAN_ZERO)
def test_a_positive_setting_refuses_zero_and_what_is_not_a_number(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"^{name} must be more than 0"):
        settings(tmp_path, **{name: value})


@pytest.mark.parametrize("name", MORE_THAN_ZERO)
def test_a_positive_setting_takes_a_fraction(tmp_path, name):
    assert settings(tmp_path, **{name: "0.5"})[name] == 0.5


def test_a_setting_from_the_environment_is_checked(clean_environment, monkeypatch, tmp_path):
    monkeypatch.setenv("SMTP_PORT", "25x")
    with pytest.raises(ValueError, match="SMTP_PORT must be a whole number from 1 to 65535"):
        settings(tmp_path)
