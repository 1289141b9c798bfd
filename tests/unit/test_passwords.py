"""The password rule (services/passwords.py): length, the breached list, the word inside."""

from __future__ import annotations

import pytest

from services import passwords
from services.passwords import is_common, password_problem


@pytest.mark.parametrize(
    "password",
    [
        "q1w2e3r4t5y6",  # on the list as it is (12 characters)
        "QWERTY123456",  # on the list, in another case
        "Liverpool2026!",  # "liverpool" is on the list
        "!!Password1234",  # "password", with symbols and digits both ends
        "monkey-2026-2026",
    ],
)
def test_breached_passwords_and_their_words_are_refused(password):
    assert "known from data breaches" in password_problem(password)


@pytest.mark.parametrize(
    "password",
    ["correct-horse-battery", "sturdy kettle lantern", "Tr0ub4dor&3xyz", "safekeep-demo-2026"],
)
def test_long_uncommon_passwords_are_fine(password):
    assert password_problem(password) is None


def test_length_patterns_and_the_username():
    assert password_problem("short-one") == "The password must be at least 12 characters"
    assert password_problem("x" * 129) == "The password must be 128 characters or fewer"
    assert "repeats too few characters" in password_problem("abcdabcdabcd")
    assert password_problem("pat-likes-long-walks", "pat") == (
        "The password must not contain the username"
    )
    assert password_problem("a" * 11, name="Your new password").startswith("Your new password")


def test_the_list_is_the_ncsc_top_100000_loaded_once():
    first = passwords._load()
    assert passwords._load() is first  # once per process
    assert 97_000 < len(first) <= 100_000  # its distinct lower-cased entries
    assert is_common("123456") and is_common("iloveyou") and not is_common("correct-horse-battery")
    # Sorted digests, not the strings: under a megabyte.
    assert first.itemsize * len(first) < 1_000_000
