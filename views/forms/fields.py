"""WTForms fields that read what people type and refuse it in GOV.UK words.

Text, whole numbers and dates are parsed here (a date with a time: times.py). Every field:
- reads the request as typed (`typed`, for showing the form again);
- turns it into a value (`data`) or an error message, never a guess: text over its limit is
  refused with the limit named, never cut; a number is ASCII digits only and bounded (Python's
  `int()` and `str.isdigit()` accept "²" and other Unicode digits); a date is a real date;
- knows where its error summary link points (`anchor`: the day box of a date, say).

The rules of the domain (a date after the discovery, a severity floor) are the machines';
these fields only make sure the machines receive well-formed values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from wtforms import Field
from wtforms.validators import StopValidation

from machines import privacy
from machines.common import is_digits, whole_number

_TRUE = {"yes", "on", "true", "1"}


def clean_text(value: str | None) -> str:
    """Stripped text without NUL bytes.

    PostgreSQL refuses NUL in text ("cannot contain NUL (0x00) bytes"); it is never
    meaningful in a form, so it is dropped alike for both databases.
    """
    return (value or "").replace("\x00", "").strip()


class GovField(Field):
    """A field with a GOV.UK message when it is required and left empty."""

    def __init__(self, label: str = "", required: str | None = None, **kwargs):
        super().__init__(label, **kwargs)
        self.required_message = required

    @property
    def anchor(self) -> str:
        return self.name

    @property
    def typed(self):
        return self.raw_data[0] if self.raw_data else ""

    def is_empty(self) -> bool:
        return self.data in (None, "", [])

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()
        if self.required_message and self.is_empty():
            raise StopValidation(self.required_message)


# An id typed or chosen as text (a team, a person): more digits than any id has.
ID_TEXT_MAX = 20
# A code with a format rule of its own (a case-system ID): room enough that a near miss hears
# that rule, not this limit.
CODE_TEXT_MAX = 100


class Text(GovField):
    """Free text, stripped. `limit` (required) refuses longer text naming the limit, before
    anything else looks at it; `one_line` folds runs of white space (newlines too) into single
    spaces.

    Text that looks like a service user's personal data (an NHS number, an address, "Mrs
    Smith": machines/privacy.py) is refused, saying what was found. `personal_data=True`
    lets it through where such details are the point: a member of staff's name, the address
    a dispatch goes to, an ID with its own format rule. A checked field's limit is at most
    privacy.LONGEST, the length the patterns' time is tested at.
    """

    def __init__(
        self,
        label: str = "",
        required: str | None = None,
        *,
        limit: int,
        one_line: bool = False,
        personal_data: bool = False,
        **kwargs,
    ):
        if not personal_data and limit > privacy.LONGEST:
            raise ValueError(f"{label}: a checked text's limit is {privacy.LONGEST:,} at most")
        super().__init__(label, required, **kwargs)
        self.limit = limit
        self.one_line = one_line
        self.personal_data = personal_data

    def process_formdata(self, valuelist) -> None:
        value = clean_text(valuelist[0] if valuelist else "")
        self.data = " ".join(value.split()) if self.one_line else value

    def _value(self) -> str:
        return self.data or ""

    def pre_validate(self, form) -> None:
        super().pre_validate(form)
        if len(self.data or "") > self.limit:
            raise StopValidation(f"{self.label.text} must be {self.limit:,} characters or fewer")
        if not self.personal_data and (
            found := privacy.problem(self.data, self.label.text or "The text")
        ):
            raise StopValidation(found)


class Secret(GovField):
    """A password or PIN exactly as typed (no stripping: spaces may be part of it)."""

    def process_formdata(self, valuelist) -> None:
        self.data = (valuelist[0] if valuelist else "").replace("\x00", "")

    @property
    def typed(self) -> str:
        return ""  # never sent back to the page


class WholeNumber(GovField):
    """A whole number from 0 to `maximum`, ASCII digits (commas between thousands allowed)."""

    def __init__(self, label: str = "", required: str | None = None, maximum: int = 0, **kwargs):
        super().__init__(label, required, **kwargs)
        self.maximum = maximum

    def process_formdata(self, valuelist) -> None:
        raw = clean_text(valuelist[0] if valuelist else "")
        self.data = None
        if not raw:
            return
        self.data = whole_number(raw, self.maximum, grouped=True)
        if self.data is None:
            if is_digits(raw, grouped=True):
                raise ValueError(f"{self.label.text} must be {self.maximum:,} or fewer")
            raise ValueError(f"{self.label.text} must be a whole number, like 3")


class _Chosen(GovField):
    """A field answered from `choices` (the stored keys). `invalid` is the message for
    anything else (default: `required`)."""

    def __init__(
        self,
        label: str = "",
        required: str | None = None,
        choices: Iterable[str] = (),
        invalid: str | None = None,
        **kwargs,
    ):
        super().__init__(label, required, **kwargs)
        self.choices = tuple(choices)
        self.invalid = invalid or required


class Choice(_Chosen):
    """One of `choices`, else None; an empty answer is refused with `required` when given."""

    def process_formdata(self, valuelist) -> None:
        value = clean_text(valuelist[0] if valuelist else "")
        self.data = value or None
        if value and value not in self.choices:
            self.data = None
            if self.invalid:  # else the machine that reads it names what to choose
                raise ValueError(self.invalid)


class Choices(_Chosen):
    """Any number of `choices` (checkboxes), kept in the order of `choices`, once each.
    Unknown keys are refused with `invalid`, or passed on when there is no such message."""

    def process_formdata(self, valuelist) -> None:
        given = [clean_text(v) for v in valuelist if clean_text(v)]
        unknown = any(v not in self.choices for v in given)
        if unknown and self.invalid:
            raise ValueError(self.invalid)
        # Without a message of its own, unknown keys go on to the machine that judges them.
        self.data = given if unknown else [c for c in self.choices if c in given]

    @property
    def typed(self) -> list[str]:
        return list(self.raw_data or [])


class Checkbox(GovField):
    """A single checkbox: True when ticked."""

    def process_formdata(self, valuelist) -> None:
        self.data = bool(valuelist) and clean_text(valuelist[0]).lower() in _TRUE

    def process_data(self, value) -> None:
        self.data = bool(value)

    def is_empty(self) -> bool:
        return not self.data


class YesNo(GovField):
    """A yes/no radio: True, False, or None when unanswered (refused with `required`).
    `default` answers for a question the form may leave unasked."""

    def __init__(
        self, label: str = "", required: str | None = None, default: bool | None = None, **kw
    ):
        super().__init__(label, required, **kw)
        self.answer_default = default

    def process_formdata(self, valuelist) -> None:
        value = clean_text(valuelist[0] if valuelist else "").lower()
        self.data = {"yes": True, "no": False}.get(value, self.answer_default)
        if value and value not in ("yes", "no") and self.required_message:
            self.data = None
            raise ValueError(self.required_message)


class GovDate(GovField):
    """A GOV.UK date input: three boxes named `<name>-day`, `-month` and `-year`.

    `label` is how messages name it, in lower case: "the date the papers were last seen".
    """

    PARTS = ("day", "month", "year")

    def __init__(self, label: str = "", required: bool = True, **kwargs):
        super().__init__(label, None, **kwargs)
        self.required = required
        self._anchor = None

    def process(self, formdata, data=None, extra_filters=None) -> None:
        self.process_errors = []
        self.data = None
        self.parts = {p: "" for p in self.PARTS}
        if formdata is None:
            return
        self.parts = {p: clean_text(formdata.get(f"{self.name}-{p}")) for p in self.PARTS}
        self.raw_data = list(self.parts.values())
        try:
            self.data = self._parse()
        except ValueError as error:
            self.process_errors.append(error.args[0])

    def _parse(self) -> dt.date | None:
        label = self.label.text
        name = label[0].upper() + label[1:]
        values = [self.parts[p] for p in self.PARTS]
        if not any(values):
            if self.required:
                self._anchor = f"{self.name}-day"
                raise ValueError(f"Enter {label}")
            return None
        missing = [p for p, v in zip(self.PARTS, values, strict=True) if not v]
        if missing:
            self._anchor = f"{self.name}-{missing[0]}"
            raise ValueError(f"{name} must include a {missing[0]}")
        numbers = [whole_number(v, 9999) for v in values]
        try:
            day, month, year = numbers
            if None in numbers or year < 1000:
                raise ValueError
            return dt.date(year, month, day)
        except (ValueError, TypeError, OverflowError):
            self._anchor = f"{self.name}-day"
            raise ValueError(f"{name} must be a real date") from None

    @property
    def anchor(self) -> str:
        return self._anchor or f"{self.name}-day"

    @property
    def typed(self) -> dict[str, str]:
        return {f"{self.name}-{p}": v for p, v in self.parts.items()}
