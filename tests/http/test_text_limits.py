"""Every free-text field has a length limit, checked before anything else reads the text.

The fields are found by walking the forms (every GovForm subclass the views define), not from
a hand-kept list: a text field added later without a limit fails here. Over its limit a field
is refused with the GOV.UK message naming the limit, and the personal-data patterns
(machines/privacy.py) never see the text: once they took a worker 30 s on one long field.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from werkzeug.datastructures import MultiDict

import views
from machines import breach_report, privacy
from models.breaches import Breach
from tests.http.journeys import Cast
from tests.http.journeys.breaches import breach_staff, report
from views.forms import GovForm
from views.forms.breaches import notify_form
from views.forms.fields import Text


def _every_form() -> list[type[GovForm]]:
    for module in pkgutil.walk_packages(views.__path__, "views."):
        importlib.import_module(module.name)
    for category, _ in breach_report.CATEGORIES:
        notify_form(category)  # made per category on first use
    found, waiting = [], [GovForm]
    while waiting:
        for sub in waiting.pop().__subclasses__():
            found.append(sub)
            waiting.append(sub)
    return list(dict.fromkeys(found))


def _text_fields() -> list[tuple[type[GovForm], str]]:
    fields = []
    for form in _every_form():
        for field in form(formdata=MultiDict()):
            if isinstance(field, Text):
                fields.append((form, field.name))
    return fields


TEXT_FIELDS = _text_fields()
IDS = [f"{form.__module__}.{form.__qualname__}.{name}" for form, name in TEXT_FIELDS]


def test_the_walk_finds_the_forms_people_type_into() -> None:
    names = set(IDS)
    assert "views.forms.breaches.ReportBreach.what_happened" in names
    assert "views.forms.dispatches.DraftDispatch.description" in names
    assert "views.transitions.WithReason.reason" in names
    assert len(TEXT_FIELDS) > 40


def _checked(form_class: type[GovForm], name: str, value: str):
    form = form_class(formdata=MultiDict({name: value}))
    form.validate()
    return form[name]


@pytest.mark.parametrize(("form_class", "name"), TEXT_FIELDS, ids=IDS)
def test_a_text_field_takes_its_limit_and_refuses_more_before_any_pattern_runs(
    form_class, name, monkeypatch
) -> None:
    field = form_class(formdata=MultiDict())[name]
    assert field.label.text, "a text field needs a label: its messages start with it"
    limit = field.limit
    assert field.personal_data or limit <= privacy.LONGEST

    at_limit = _checked(form_class, name, "a" * limit)
    assert not any("characters or fewer" in error for error in at_limit.errors)

    def no_pattern(value, *args, **kwargs):
        # The form's other fields are empty: only the long text must never get here.
        assert len(value or "") <= limit, "a personal-data pattern read text over the limit"
        return []

    monkeypatch.setattr(privacy, "find", no_pattern)
    over = _checked(form_class, name, "a" * (limit * 100))
    assert over.errors == [f"{field.label.text} must be {limit:,} characters or fewer"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_report_far_over_its_limit_is_refused_at_once_and_nothing_is_saved(new_web, people):
    breach_staff(people)
    web = Cast(new_web)["pat"]
    response = report(web, what_happened="A" * 100 * breach_report.TEXT_MAX)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "What happened must be 2,000 characters or fewer" in html
    assert Breach.select().count() == 0
