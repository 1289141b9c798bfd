"""GOV.UK components the app writes out itself are the HTML govuk-frontend-jinja writes.

The summary list:
templates/govuk_frontend_jinja/components/summary-list/macro.html stands in front of the
package's macro and writes plain lists in Python (views/summary_list.py). Rendered through the
app's loader and globals, every generated list must come out as the package's macro writes it,
to the character: lists of keys and values, and those the stand-in hands back to the package
(a card, actions, attributes). The success banner at the top of a status panel
(components/forms.html's outcome_banner) is written out in the template.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment, PackageLoader, PrefixLoader
from markupsafe import Markup

from app import template_loader
from views.summary_list import govuk_summary_list, is_plain

CALL = (
    '{% from "govuk_frontend_jinja/components/summary-list/macro.html" '
    "import govukSummaryList %}{{ govukSummaryList(params) }}"
)


def environment(loader) -> Environment:
    return Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)


APP = environment(template_loader())
APP.globals.update(govuk_summary_list=govuk_summary_list, summary_list_is_plain=is_plain)
PACKAGE = environment(PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}))

# Text as people type it (markup, ampersands, line breaks, spaces around), and HTML as the
# templates pass it (a tag, several lines).
words = st.text(alphabet=st.sampled_from("ab <>&\"'\n\t"), max_size=12)
html = st.one_of(
    st.just(Markup('<strong class="govuk-tag">Out</strong>')),
    st.builds(lambda a, b: f"  <p>{a}</p>\n<p>{b}</p>\n ", words, words),
    st.just(""),
)
classes = st.sampled_from(["", "app-x", "govuk-!-width-one-half app-<y>"])


@st.composite
def part(draw):
    item = {}
    if draw(st.booleans()):
        item["text"] = draw(st.one_of(words, st.integers(0, 99), st.none()))
    if draw(st.booleans()):
        item["html"] = draw(html)
    if draw(st.booleans()):
        item["classes"] = draw(classes)
    return item


@st.composite
def row(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([None, {}]))
    made = {"key": draw(part()), "value": draw(part())}
    if draw(st.booleans()):
        made["classes"] = draw(classes)
    if draw(st.integers(0, 5)) == 0:  # the package's: actions
        made["actions"] = {
            "items": [{"href": "/change", "text": "Change", "visuallyHiddenText": "x"}]
        }
    return made


@st.composite
def summary_list(draw):
    params = {"rows": draw(st.lists(row(), max_size=5))}
    if draw(st.booleans()):
        params["classes"] = draw(classes)
    extra = draw(st.integers(0, 7))
    if extra == 0:
        params["attributes"] = {"id": "answers"}
    elif extra == 1:
        params["card"] = {"title": {"text": "Card"}}
    return params


@settings(max_examples=300, deadline=None)
@given(summary_list())
def test_the_app_writes_every_summary_list_as_the_package_does(params):
    ours = APP.from_string(CALL).render(params=params)
    assert ours == PACKAGE.from_string(CALL).render(params=params)


def test_a_status_panels_list_is_written_in_python_not_by_the_macro():
    panel = {"rows": [{"key": {"text": "Status"}, "value": {"html": "<strong>Out</strong>"}}]}
    assert is_plain(panel)
    assert not is_plain({**panel, "attributes": {"id": "x"}})
    assert not is_plain({"rows": [{**panel["rows"][0], "actions": {"items": [{}]}}]})


BANNER = (
    '{% from "govuk_frontend_jinja/components/notification-banner/macro.html" '
    "import govukNotificationBanner %}{% set html %}"
    '<p class="govuk-notification-banner__heading">{{ outcome }}</p>{% endset %}'
    '{{ govukNotificationBanner({"type": "success", "titleText": "Success", "html": html}) }}'
)
OUTCOME = '{% from "components/forms.html" import outcome_banner %}{{ outcome_banner(outcome) }}'


@settings(max_examples=50, deadline=None)
@given(words.filter(str.strip))
def test_a_panels_success_banner_is_the_packages_banner(outcome):
    ours = APP.from_string(OUTCOME).render(outcome=outcome).strip()
    assert ours == PACKAGE.from_string(BANNER).render(outcome=outcome).strip()
    assert APP.from_string(OUTCOME).render(outcome="").strip() == ""
