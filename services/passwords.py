"""The password rule, the same everywhere a password is chosen: create-user, an admin's
temporary password, a reset link and a person changing their own.

ASVS 4.0 V2.1 / NIST SP 800-63B 5.1.1.2: at least 12 characters, no composition rules and no
forced rotation, but never a password that is known from breaches. The list shipped is the
UK National Cyber Security Centre's "PwnedPasswordsTop100k.txt", the 100,000 passwords seen
most often in Have I Been Pwned's breach corpus
(https://www.ncsc.gov.uk/static-assets/documents/PwnedPasswordsTop100k.txt, also in SecLists
as Passwords/Common-Credentials/100k-most-used-passwords-NCSC.txt; Crown copyright, Open
Government Licence v3.0). It is kept gzipped as published, header lines included
(services/data/ncsc-pwned-passwords-top100k.txt.gz).

Each worker loads it once, on first use, as a sorted array of 64-bit BLAKE2b digests of the
lower-cased passwords (about 800 kB, against some 8 MB for a set of the strings) and looks a
password up by binary search. Two different passwords sharing a digest would refuse one
wrongly; among 100,000 entries that happens with a probability of about 1 in 10^9.

A password is refused when it, or its core (what is left once digits and symbols are taken
off both ends: "Liverpool2026!" is "liverpool"), is on the list, ignoring case: the common
word with a year and a "!" added is the breached password people actually choose.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from array import array
from bisect import bisect_left
from pathlib import Path

MIN_LENGTH = 12
# argon2 hashes any length quickly, but a form field has to stop somewhere (ASVS: 64 at least).
MAX_LENGTH = 128
# Fewer different characters than this is a pattern, not a password ("abcabcabcabc").
MIN_DISTINCT = 5
# A core shorter than this says nothing ("ab" is on the list, and inside most passwords).
MIN_CORE = 4

LIST_FILE = Path(__file__).resolve().parent / "data" / "ncsc-pwned-passwords-top100k.txt.gz"

_lock = threading.Lock()
_digests: array | None = None
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _load() -> array:
    """The list's digests, sorted: read once per process (thread-safe)."""
    global _digests
    if _digests is None:
        with _lock:
            if _digests is None:
                lines = gzip.decompress(LIST_FILE.read_bytes()).decode("utf-8").splitlines()
                # The file opens with a few lines of explanation, ended by a line "--".
                start = lines.index("--") + 1 if "--" in lines[:20] else 0
                found = sorted({_digest(line.strip().lower()) for line in lines[start:] if line})
                _digests = array("Q", found)
    return _digests


def is_common(password: str) -> bool:
    """True when the password (ignoring case) is on the shipped list of breached passwords."""
    digests = _load()
    wanted = _digest(password.strip().lower())
    at = bisect_left(digests, wanted)
    return at < len(digests) and digests[at] == wanted


def core(password: str) -> str:
    """The password without the digits and symbols at either end, lower-cased."""
    return _EDGES.sub("", password).lower()


def password_problem(password: str, username: str | None = None, name: str = "The password"):
    """Why this password may not be used (a GOV.UK error message), or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"{name} must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"{name} must be {MAX_LENGTH} characters or fewer"
    if len(set(password.lower())) < MIN_DISTINCT:
        return f"{name} repeats too few characters: choose one that is harder to guess"
    if username and len(username) >= 3 and username.lower() in password.lower():
        return f"{name} must not contain the username"
    stem = core(password)
    if is_common(password) or (len(stem) >= MIN_CORE and is_common(stem)):
        return (
            f"{name} is too easy to guess: it, or the word in it, is on a list of passwords "
            "known from data breaches. Choose another, such as three random words"
        )
    return None
