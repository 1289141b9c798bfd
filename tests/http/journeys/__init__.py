"""Journeys the HTTP tests share: people signed in, the dates they type, and pages read as
a person reads them (title, error summary, buttons, forms) rather than as substrings.

Per lifecycle: journeys/breaches.py, journeys/custody.py, journeys/sending.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html.parser import HTMLParser

from machines import clock


class Cast:
    """One signed-in browser per person, opened on first use."""

    def __init__(self, new_web):
        self.new_web = new_web
        self.webs = {}

    def again(self, username):
        """Sign in afresh (after the clock has moved on), in a new browser."""
        self.webs.pop(username, None)
        return self[username]

    def __getitem__(self, username):
        if username not in self.webs:
            web = self.new_web()
            web.sign_in(username)
            self.webs[username] = web
        return self.webs[username]


# -- helpers -------------------------------------------------------------------------------


def to_the_minute(at: dt.datetime) -> dt.datetime:
    """A stored UTC time as a person types it back: to the minute (UK offsets are whole hours)."""
    return at.replace(second=0, microsecond=0)


def ago(**delta) -> dt.datetime:
    """The app's now less `delta`, to the minute: post it through `typed`."""
    return to_the_minute(clock.now() - dt.timedelta(**delta))


def time_fields(name: str, at: dt.datetime) -> dict:
    """A date-and-time field's four boxes as a person types `at` (UTC): UK day, month, year
    and 24-hour time."""
    local = clock.to_uk(at)
    return {**date_fields(name, local.date()), f"{name}-time": f"{local:%H:%M}"}


def typed(data: dict) -> dict:
    """Form data with each datetime value typed into its field's boxes."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dt.datetime):
            out.update(time_fields(key, value))
        else:
            out[key] = value
    return out


def date_fields(name: str, day: dt.date) -> dict:
    """A GOV.UK date input's three boxes, as typed."""
    return {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}


def days_from_today(name: str, days: int) -> dict:
    return date_fields(name, clock.uk_today() + dt.timedelta(days=days))


# -- pages read as a person reads them -------------------------------------------------------


@dataclass
class Page:
    """A page (or htmx fragment) parsed: what its title, error summary and controls say."""

    status: int
    title: str = ""
    errors: list[str] = field(default_factory=list)  # the error summary, in order
    field_errors: dict[str, str] = field(default_factory=dict)  # summary link target -> text
    buttons: list[str] = field(default_factory=list)
    form_actions: list[str] = field(default_factory=list)
    text: str = ""

    @classmethod
    def of(cls, response) -> Page:
        parser = _PageParser()
        parser.feed(response.get_data(as_text=True))
        return cls(
            status=response.status_code,
            title=" ".join(parser.title.split()),
            errors=[" ".join(e.split()) for e in parser.errors],
            field_errors={k: " ".join(v.split()) for k, v in parser.field_errors.items()},
            buttons=[" ".join(b.split()) for b in parser.buttons],
            form_actions=parser.form_actions,
            text=" ".join(" ".join(parser.texts).split()),
        )


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.title = ""
        self.errors: list[str] = []
        self.field_errors: dict[str, str] = {}
        self.buttons: list[str] = []
        self.form_actions: list[str] = []
        self.texts: list[str] = []
        self._in: list[str] = []  # what we are inside: title, summary, link, button
        self._href = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "title":
            self._in.append("title")
        elif "govuk-error-summary__list" in classes:
            self._in.append("summary")
        elif tag == "a" and "summary" in self._in:
            self._href = (attrs.get("href") or "").lstrip("#")
            self.errors.append("")
            self._in.append("link")
        elif tag == "button" or (tag == "input" and attrs.get("type") == "submit"):
            self.buttons.append(attrs.get("value") or "")
            if tag == "button":
                self._in.append("button")
        elif tag == "form":
            self.form_actions.append(attrs.get("action") or "")

    def handle_endtag(self, tag):
        if tag == "title" and "title" in self._in:
            self._in.remove("title")
        elif tag == "a" and "link" in self._in:
            self._in.remove("link")
            self.field_errors[self._href] = self.errors[-1]
        elif tag == "ul" and "summary" in self._in and "link" not in self._in:
            self._in.remove("summary")
        elif tag == "button" and "button" in self._in:
            self._in.remove("button")

    def handle_data(self, data):
        if "title" in self._in:
            self.title += data
            return
        if "link" in self._in:
            self.errors[-1] += data
        if "button" in self._in:
            self.buttons[-1] += data
        self.texts.append(data)
