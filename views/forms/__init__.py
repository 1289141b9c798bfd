"""Form input: WTForms forms read the request, and their errors become a GOV.UK error summary.

`GovForm` is the base of every form (views/forms/<feature>.py). CSRF is not checked here:
Flask-WTF's CSRFProtect checks every POST of the app (htmx's included) before any view runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import request
from wtforms import Form

from machines.common import whole_number
from models.base import MAX_ID
from views.forms.fields import GovDate


class FormErrors(dict):
    """field name -> GOV.UK error message, in the order the fields appear on the page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.anchors: dict[str, str] = {}
        # Which boxes of a many-box field the error is about (a date's year, a time), to
        # highlight just those; a field not listed has all its boxes highlighted.
        self.parts: dict[str, tuple[str, ...]] = {}

    def add(self, field: str, message: str, anchor: str | None = None) -> None:
        self.setdefault(field, message)
        if anchor:
            self.anchors.setdefault(field, anchor)

    def add_all(self, errors: Mapping[str, str]) -> None:
        """Add errors found elsewhere (a machine's validators), keeping the first per field."""
        for field, message in errors.items():
            self.add(field, message)

    def in_order(self, fields: Iterable[str]) -> FormErrors:
        """The same errors with `fields` first, in that order (the page's order)."""
        ordered = FormErrors()
        for field in [*fields, *self]:
            if field in self and field not in ordered:
                ordered.add(field, self[field], self.anchors.get(field))
        ordered.parts = dict(self.parts)
        return ordered

    def as_list(self) -> list[dict]:
        """The error summary's list: each message links to its field."""
        return [{"text": m, "href": "#" + self.anchors.get(f, f)} for f, m in self.items()]


class GovForm(Form):
    """A WTForms form read from the request (POST body, or the query string for filters)."""

    def __init__(self, formdata=None, **kwargs):
        if formdata is None:
            formdata = request.form if request.method == "POST" else request.args
        super().__init__(formdata=formdata, **kwargs)

    def check(self) -> FormErrors:
        """Validate every field at once; the errors in the form's order (empty: all fine)."""
        self.validate()
        errors = FormErrors()
        for field in self:
            if field.errors:
                errors.add(field.name, field.errors[0], anchor=field.anchor)
                if getattr(field, "error_parts", None):
                    errors.parts[field.name] = field.error_parts
        return errors

    def check_posted(self) -> FormErrors:
        """`check` on a POST; on a GET the page is shown for the first time: no errors yet."""
        return self.check() if request.method == "POST" else FormErrors()

    @property
    def values(self) -> dict:
        """Every field's parsed value (None where it could not be read)."""
        return {field.name: field.data for field in self}

    @property
    def field_names(self) -> list[str]:
        return [field.name for field in self]

    def typed(self) -> dict:
        """What was typed, to show the form again: {name: text}, a date's three boxes as
        `<name>-day` and so on, and checkbox lists as lists."""
        typed: dict = {}
        for field in self:
            if isinstance(field, GovDate):
                typed.update(field.typed)
            else:
                typed[field.name] = field.typed
        return typed


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


def joined_error(errors: dict | None, *fields: str) -> dict | None:
    """One errorMessage for a group of fields (a fieldset of checkboxes), or None."""
    messages = [errors[f] for f in fields if errors and f in errors]
    return {"text": ". ".join(messages)} if messages else None


def id_arg(name: str) -> int | None:
    """An id from the query string, or None when it is missing, not a number or too big."""
    return whole_number(request.args.get(name), MAX_ID) or None


def form_version() -> int:
    """The version of the row the page was showing. A form without one (or with junk) never
    matches, so the change is refused as stale (409) instead of overwriting blind."""
    version = whole_number(request.form.get("version"), MAX_ID)
    return -1 if version is None else version
