"""Personal data in free text: what is caught at entry (and taken out of the ICO draft), and
what people legitimately write about a case that must pass untouched."""

from __future__ import annotations

import pytest

from machines.privacy import REMOVED, find, nhs_number_is_valid, problem, redact

# (what kind, text a person might type). Every one must be refused at entry.
CAUGHT = [
    ("nhs_number", "NHS number 943 476 5919 was on the front sheet"),
    ("nhs_number", "nhs no 9434765919"),
    ("nhs_number", "NHS: 943-476-5919"),
    ("nhs_number", "his number is 401 023 2137, written on the file"),
    ("nhs_number", "Hospital letter quoting 4505577104"),
    ("ni_number", "NI number JC 12 34 56 C on the benefits letter"),
    ("ni_number", "national insurance AB123456C"),
    ("ni_number", "ni no. ab 12 34 56 d"),
    ("email", "emailed to jane.doe@gmail.com by mistake"),
    ("email", "sent to J.Smith@hotmail.co.uk instead of the school"),
    ("email", "the guardian's address guardian@cafcass.example.org"),
    ("phone", "called the mother on 07700 900123"),
    ("phone", "mobile 07700900123"),
    ("phone", "landline 020 7946 0018"),
    ("phone", "rang +44 7700 900123 to ask for it back"),
    ("phone", "office number (020) 7946 0018"),
    ("phone", "0161 496 0000 is the grandmother's"),
    ("phone", "0044 20 7946 0018"),
    ("postcode", "the family live near SE1 2QH"),
    ("postcode", "postcode n1 9gu"),
    ("postcode", "delivered to SW1A 1AA"),
    ("postcode", "M1 1AE"),
    ("address", "left at 14 Acacia Avenue"),
    ("address", "posted to 221B Baker Street"),
    ("address", "Flat 3, 12 High Street"),
    ("address", "the bag was found outside 14 acacia avenue"),
    ("address", "7 Church Rd"),
    ("address", "letter went to 32 Windsor Gardens"),
    ("name", "spoke to Mrs Smith about the letter"),
    ("name", "Mr. J. Bloggs opened the envelope"),
    ("name", "Ms O'Brien rang the office"),
    ("name", "Miss Patel's school report"),
    ("name", "copied to Dr Okafor at the surgery"),
    ("name", "the mother Jane Doe rang to say it arrived"),
    ("name", "a letter for the service user: Amy Smith"),
    ("date_of_birth", "DOB 01/02/2010"),
    ("date_of_birth", "D.O.B. 1.2.10"),
    ("date_of_birth", "the child was born 1 Feb 2010"),
    ("date_of_birth", "date of birth: 3rd March 2012"),
    ("date_of_birth", "born on 2010-02-01"),
]

# What people write about a case that is not personal data: kept exactly as typed.
PASSES = [
    "Discovered on 01/02/2026 at 14:30",
    "It happened on 3 March 2026, around 09:15",
    "Between 10:00 and 11:30 on Tuesday 4 March",
    "Left on the 18:05 train from Waterloo",
    "Children North team told Adults East team",
    "Case 1234567 and MOS-1234567 are both involved",
    "Label SK-AB23CD45 was on the bundle",
    "Crime reference CAD 4471/25NOV",
    "CRIS 5012345/26 from the police",
    "Police reference 01/123456/25",
    "ICO reference IC-123456-A1B2",
    "3 people, 2 records, 12 pages",
    "Court bundle, volume 2; 2 Family Court bundles went with it",
    "Special delivery tracking AB123456789GB",
    "Meeting in room 2.14 on the 3rd floor",
    "Mrs S was told face to face",
    "Taken to St Thomas' Hospital and then St Mary's",
    "The 72-hour deadline; within 24 hours",
    "Reference 1234567890 from the old system",
    "Approximately 25 people affected",
    "Version 2.1 of the care plan",
    "Phoned the police at 14:40 on 5/3/2026",
    "Court 3 at 10am, then back to the office",
    "3 times the street door was left open",
    "Supervision notes for case 2345678, volume 1 of 4",
    "Child Protection Conference papers, and the Looked After Child Review",
    "We called Social Work England and the Family Court",
    "The mother rang the Children North team",
]


@pytest.mark.parametrize(("kind", "text"), CAUGHT, ids=[text for _, text in CAUGHT])
def test_personal_data_is_found(kind: str, text: str) -> None:
    assert [f.kind for f in find(text)] == [kind]


@pytest.mark.parametrize(("kind", "text"), CAUGHT, ids=[text for _, text in CAUGHT])
def test_personal_data_is_taken_out(kind: str, text: str) -> None:
    redacted = redact(text)
    assert REMOVED in redacted
    assert find(redacted) == []


@pytest.mark.parametrize("text", PASSES)
def test_what_people_write_about_a_case_passes_untouched(text: str) -> None:
    assert find(text) == []
    assert redact(text) == text
    assert problem(text) is None


def test_there_are_enough_samples_of_each_kind() -> None:
    kinds = [kind for kind, _ in CAUGHT]
    assert len(CAUGHT) >= 30
    assert all(kinds.count(kind) >= 3 for kind in set(kinds))


def test_the_message_names_what_was_found_and_what_to_use_instead() -> None:
    assert problem("NHS number 943 476 5919", "What happened") == (
        "What happened looks like it contains an NHS number. Use the case-system ID instead"
    )
    assert problem("spoke to Mrs Smith") == (
        "The text looks like it contains a person's name. "
        "Use the case-system ID or initials instead"
    )


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("9434765919", True), ("9434765918", False), ("1234567890", False), ("4010232137", True)],
)
def test_the_nhs_number_check_digit(digits: str, valid: bool) -> None:
    assert nhs_number_is_valid(digits) is valid


def test_ten_digits_with_a_wrong_check_digit_are_not_an_nhs_number() -> None:
    assert find("943 476 5918") == []


def test_everything_in_one_text_is_taken_out_and_the_rest_kept() -> None:
    text = (
        "Mrs Smith (DOB 01/02/2010) of 14 Acacia Avenue, SE1 2QH, NHS 943 476 5919, "
        "tel 07700 900123, jane@example.com: case 1234567 on 3 March 2026"
    )
    assert redact(text) == (
        "[removed] ([removed]) of [removed], [removed], NHS [removed], "
        "tel [removed], [removed]: case 1234567 on 3 March 2026"
    )
