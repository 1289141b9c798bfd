"""Reading form input into values, collecting GOV.UK error messages on the way."""

from __future__ import annotations

import datetime as dt

from flask import request

from models.base import MAX_ID


class FormErrors(dict):
    """field name -> GOV.UK error message, in the order the fields appear on the page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.anchors: dict[str, str] = {}

    def add(self, field: str, message: str, anchor: str | None = None) -> None:
        self.setdefault(field, message)
        if anchor:
            self.anchors.setdefault(field, anchor)

    def as_list(self) -> list[dict]:
        """The error summary's list: each message links to its field."""
        return [{"text": m, "href": "#" + self.anchors.get(f, f)} for f, m in self.items()]


def field_error(errors: dict | None, field: str) -> dict | None:
    """The errorMessage param of a GOV.UK macro for one field, or None."""
    if errors and field in errors:
        return {"text": errors[field]}
    return None


def errors_list(errors: dict | None) -> list[dict]:
    if not errors:
        return []
    if isinstance(errors, FormErrors):
        return errors.as_list()
    return [{"text": m, "href": f"#{f}"} for f, m in errors.items()]


def text(name: str, max_length: int = 500) -> str:
    # PostgreSQL refuses NUL in text ("cannot contain NUL (0x00) bytes": a 500); it is never
    # meaningful in a form field, so drop it for both databases alike.
    return (request.form.get(name) or "").replace("\x00", "").strip()[:max_length]


def checked(name: str) -> bool:
    return request.form.get(name) in ("yes", "on", "true", "1")


def date_input(name: str, errors: FormErrors, label: str) -> dt.date | None:
    """Read a GOV.UK date input (name-day, name-month, name-year)."""
    parts = [(request.form.get(f"{name}-{p}") or "").strip() for p in ("day", "month", "year")]
    if not any(parts):
        errors.add(name, f"Enter {label}", anchor=f"{name}-day")
        return None
    if not all(parts):
        missing = [p for p, v in zip(("day", "month", "year"), parts, strict=True) if not v]
        errors.add(
            name,
            f"{label[0].upper()}{label[1:]} must include a {missing[0]}",
            anchor=f"{name}-{missing[0]}",
        )
        return None
    try:
        day, month, year = (int(p) for p in parts)
        if year < 1000:
            raise ValueError
        return dt.date(year, month, day)
    except (ValueError, OverflowError):  # dt.date(2026, 1, 10**30) overflows, not ValueError
        errors.add(name, f"{label[0].upper()}{label[1:]} must be a real date", anchor=f"{name}-day")
        return None


def time_input(name: str, errors: FormErrors, label: str) -> dt.time | None:
    """Read a 24-hour time typed as HH:MM."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        errors.add(name, f"Enter {label}")
        return None
    try:
        return dt.datetime.strptime(raw.replace(".", ":"), "%H:%M").time()
    except ValueError:
        errors.add(name, f"Enter {label} as a 24-hour time, like 14:30")
        return None


def joined_error(errors: dict | None, *fields: str) -> dict | None:
    """One errorMessage for a group of fields (a fieldset of checkboxes), or None."""
    messages = [errors[f] for f in fields if errors and f in errors]
    return {"text": ". ".join(messages)} if messages else None


def id_arg(name: str) -> int | None:
    """An id from the query string, or None when it is missing, not a number or too big."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value <= MAX_ID else None


def form_version() -> int:
    """The version of the row the page was showing. A form without one (or with junk) never
    matches, so the change is refused as stale (409) instead of overwriting blind."""
    return request.form.get("version", -1, type=int)
