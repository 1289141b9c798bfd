"""Personal data in free text: find it (to refuse it at entry) and take it out (ICO draft).

Safekeep stores no service user's name, address or other identifier: people are referred to
by case-system ID, at most initials. What people type still carries them by habit ("Mrs Smith
at 14 Acacia Avenue, NHS 943 476 5919"), so every free-text field asks `find` and refuses
what it finds, saying what it found; the ICO draft runs `redact` over the same patterns as a
second line of defence.

Pure functions of text; no Flask, no queries. The patterns lean to catching: a person can
always rephrase ("the family's home"), but a name or address once saved is a second copy of
the confidential record. What must pass untouched: dates and times of events, team names,
case-system IDs, label codes, crime and ICO references, counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# kind -> what a person is told was found ("... looks like it contains <this>").
KINDS: dict[str, str] = {
    "nhs_number": "an NHS number",
    "ni_number": "a National Insurance number",
    "email": "an email address",
    "phone": "a phone number",
    "postcode": "a postcode",
    "address": "a house number and street",
    "date_of_birth": "a date of birth",
    "name": "a person's name",
}

REMOVED = "[removed]"

# The longest text the patterns are asked to read: every checked form field's limit is at most
# this (views/forms/fields.py), and each pattern's time is tested up to ten times it.
LONGEST = 4_000

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = (
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}"
    r"|\d{4}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{2,4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
_DATE_OF_BIRTH = re.compile(
    r"\b(?:d\.?\s?o\.?\s?b\b\.?|date\s+of\s+birth|birth\s*date|born(?:\s+on)?)"
    rf"\s*(?:[:\-–]\s*|(?:is|was)\s+)?{_DATE}",
    re.I,
)

# Ten digits, optionally 3-3-4 with spaces or hyphens; kept only with a valid check digit.
_NHS = re.compile(r"(?<![\w/.\-])(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})(?![\w/\-]|\.\d)")

# Two prefix letters (never D, F, I, Q, U, V; O not second; not BG, GB, KN, NK, NT, TN, ZZ),
# six digits (spaced in pairs or not) and a suffix A to D.
_NI = re.compile(
    r"(?<![A-Za-z0-9])(?!(?:BG|GB|KN|NK|NT|TN|ZZ))[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D](?![A-Za-z0-9])",
    re.I,
)

# Tried only where a run of address characters starts, and read to its end once (possessive):
# tried from every letter of a long word, the pattern took time quadratic in its length.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]++@[A-Za-z0-9\-]++(?:\.[A-Za-z0-9\-]++)*"
    r"\.[A-Za-z]{2,}"
)

# A UK number: 0 or +44 / 0044, then digits in groups (spaces, hyphens, brackets); counted
# afterwards, so dates ("01 02 2026") and references with slashes do not pass for one.
_PHONE = re.compile(r"(?<![\w/.\-])(?:\+44|0044|\(?0)[\d ()\-]{8,16}\d(?![\w/])")

# Outward code, optional space, inward code (its letters never C, I, K, M, O or V).
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9\-])(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
    r"(?![A-Za-z0-9])",
    re.I,
)
_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)$", re.I)

# Street words that are seldom anything else; "Court", "Park" and "Green" are left out, or
# "2 Family Court bundles" would read as an address.
_STREET = (
    r"(?:Road|Rd|Street|St(?!\.?\s+[A-Z])|Avenue|Ave|Lane|Ln|Close|Crescent|Cres|Drive"
    r"|Dr(?!\.?\s+[A-Z])|Gardens|Gdns|Grove|Terrace|Place|Way|Walk|Mews|Square|Parade"
    r"|Rise|Hill|Estate|Row|Wharf|Heights|Vale)"
)
_ADDRESS = re.compile(
    r"(?<![\w/.\-])(?:Flat\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+"
    rf"(?:[A-Z][A-Za-z'\-]+\s+){{1,3}}{_STREET}\b"
)
# All in small letters ("14 acacia avenue"): only unmistakable street words, and the words
# between may not be little words ("3 times the street" is not an address).
_LITTLE = r"(?!(?:the|a|an|on|in|at|of|to|by|up|down|along|from|near|into|times|and)\b)"
_ADDRESS_LOWER = re.compile(
    rf"(?<![\w/.\-])\d{{1,4}}[a-z]?,?\s+(?:{_LITTLE}[a-z'\-]+\s+){{1,2}}"
    r"(?:road|street|avenue|lane|crescent|gardens|terrace|mews|grove|close|drive)\b"
)

# A title and a name: "Mrs Smith", "Mr. J. Bloggs". A title with an initial only ("Mrs S")
# is what the service allows: initials.
_NAME = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?:[A-Z]\.?\s+)*[A-Z](?:[a-z]|'[A-Z])[A-Za-z'\-]*"
)

# A first and last name after a word that introduces a person: "the mother Jane Doe",
# "named Jane Doe". Names alone are not caught (too like "Children North"), nor words that
# are the council's or a service's ("called Social Work England").
_PERSON_WORD = (
    r"(?:named|called|mother|father|mum|dad|son|daughter|grandmother|grandfather|"
    r"grandparent|carer|sister|brother|aunt|uncle|nephew|niece|partner|wife|husband|boy|"
    r"girl|baby|client|pupil|patient|service user|young person)"
)
_PERSON = re.compile(
    rf"\b{_PERSON_WORD}[:,]?\s+([A-Z][a-z][A-Za-z'\-]*(?:\s+[A-Z](?:[a-z]|'[A-Z])[A-Za-z'\-]*)+)"
)
_NOT_NAMES = re.compile(
    r"\b(?:Teams?|Council|Services?|Court|Police|England|Care|Social|Work|Children|Adults"
    r"|North|South|East|West|Central|Hospital|School|Office|Unit|Section|Board|Panel"
    r"|Conference|Protection|Plan|Review|Trust|Agency|Centre|Department|Manager|Director"
    r"|Guardian|Officer|Worker)\b"
)


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int

    @property
    def what(self) -> str:
        return KINDS[self.kind]


def nhs_number_is_valid(digits: str) -> bool:
    """The NHS number's Modulus 11 check digit: weights 10 to 2 over the first nine digits."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _phone_digits(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    if digits.startswith("0044"):
        digits = "0" + digits[4:]
    elif digits.startswith("44") and match.lstrip().startswith("+"):
        digits = "0" + digits[2:]
    return digits.startswith("0") and len(digits) in (10, 11) and digits[1] != "0"


def find(value: str | None) -> list[Finding]:
    """Every stretch of `value` that looks like personal data, in order, none overlapping."""
    text = value or ""
    found: list[Finding] = []
    for match in _DATE_OF_BIRTH.finditer(text):
        found.append(Finding("date_of_birth", match.start(), match.end()))
    for match in _NHS.finditer(text):
        if nhs_number_is_valid("".join(match.groups())):
            found.append(Finding("nhs_number", match.start(), match.end()))
    for match in _NI.finditer(text):
        found.append(Finding("ni_number", match.start(), match.end()))
    for match in _EMAIL.finditer(text):
        found.append(Finding("email", match.start(), match.end()))
    for match in _PHONE.finditer(text):
        if _phone_digits(match.group()):
            found.append(Finding("phone", match.start(), match.end()))
    for match in _POSTCODE.finditer(text):
        if not _ORDINAL.search(match.group()):
            found.append(Finding("postcode", match.start(), match.end()))
    for pattern in (_ADDRESS, _ADDRESS_LOWER):
        for match in pattern.finditer(text):
            found.append(Finding("address", match.start(), match.end()))
    for match in _NAME.finditer(text):
        found.append(Finding("name", match.start(), match.end()))
    for match in _PERSON.finditer(text):
        if not _NOT_NAMES.search(match.group(1)):
            found.append(Finding("name", match.start(1), match.end(1)))
    # The first pattern listed wins where two overlap (a date of birth over its date). Each
    # character taken is marked, so the check costs the finding's length, not a comparison
    # with every finding kept (a page of postcodes made that quadratic).
    taken = bytearray(len(text))
    kept: list[Finding] = []
    for finding in found:
        if taken.find(1, finding.start, finding.end) == -1:
            taken[finding.start : finding.end] = b"\x01" * (finding.end - finding.start)
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


def problem(value: str | None, name: str = "The text") -> str | None:
    """The GOV.UK error for free text holding personal data, or None when there is none."""
    found = find(value)
    if not found:
        return None
    first = found[0]
    instead = "the case-system ID or initials" if first.kind == "name" else "the case-system ID"
    return f"{name} looks like it contains {first.what}. Use {instead} instead"


def redact(value: str | None) -> str:
    """The text with everything `find` finds replaced by [removed]."""
    text = value or ""
    pieces, end = [], 0
    for finding in find(text):
        pieces += [text[end : finding.start], REMOVED]
        end = finding.end
    return "".join([*pieces, text[end:]])
