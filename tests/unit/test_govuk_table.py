"""Our faster govukTable writes exactly the HTML of govuk-frontend-jinja's own.

templates/govuk_frontend_jinja/components/table/macro.html stands in front of the package's
macro; this renders both with the app's Jinja settings over every parameter the component
takes, so an upgrade of the package that changes its table shows up here.
"""

from __future__ import annotations

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader
from markupsafe import Markup

from tests.conftest import ROOT

IMPORT = '{% from "govuk_frontend_jinja/components/table/macro.html" import govukTable %}'
PACKAGE = PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})


def environment(loader) -> Environment:
    env = Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return env


OURS = environment(ChoiceLoader([FileSystemLoader(str(ROOT / "templates")), PACKAGE]))
THEIRS = environment(PACKAGE)


def render(env: Environment, params: dict) -> str:
    return env.from_string(IMPORT + "{{ govukTable(params) }}").render(params=params)


CELLS = [
    {"text": "Plain <text> & more"},
    {"html": Markup('<a class="govuk-link" href="/x">Link</a>')},
    {"html": '<strong class="govuk-tag">Tag</strong>'},
    {"text": 42, "format": "numeric"},
    {"text": "Wide", "colspan": 2, "classes": "app-wide"},
    {"text": "Tall", "rowspan": 3},
    {"text": "Attributes", "attributes": {"data-sort": "1", "aria-hidden": True}},
    {"text": "As a string", "attributes": ' id="cell-1"'},
    {"text": "Optional", "attributes": {"hidden": {"value": None, "optional": True}}},
    {"text": ""},
    {},
]

PARAMS = [
    {"rows": []},
    {"rows": [[CELLS[0], CELLS[1]], [], [CELLS[2], CELLS[3]]]},
    {
        "caption": "Caption & <b>bold</b>",
        "captionClasses": "govuk-table__caption--m",
        "classes": "app-table",
        "attributes": {"id": "the-table", "data-module": "x"},
        "firstCellIsHeader": True,
        "head": [
            {"text": "Papers"},
            {"html": "<span>Due</span>", "format": "numeric", "classes": "x"},
            {"text": "Span", "colspan": 2, "rowspan": 1, "attributes": {"aria-sort": "none"}},
        ],
        "rows": [CELLS[:4], CELLS[4:8], CELLS[8:], [CELLS[6], CELLS[7]]],
    },
    {"head": [{"text": "Only a head"}], "rows": [[CELLS[5]]], "attributes": ' data-x="1"'},
]


@pytest.mark.parametrize("params", PARAMS)
def test_the_same_html_as_the_packages_table(params):
    ours, theirs = render(OURS, params), render(THEIRS, params)
    assert ours == theirs


def test_the_app_finds_our_table_first():
    source, filename, _ = OURS.loader.get_source(
        OURS, "govuk_frontend_jinja/components/table/macro.html"
    )
    assert filename.startswith(str(ROOT / "templates")) and "firstCellIsHeader" in source
