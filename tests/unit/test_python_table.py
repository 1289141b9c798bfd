"""views/tables.py writes the table govuk-frontend-jinja's govukTable writes.

Compared with the package's own macro over the parameters the component takes (but
`attributes`, which go to the macro: components/tables.html), with the whitespace between
tags set aside: the macro indents its HTML, the browser ignores whitespace between the
elements of a table, and inside each cell both write the content with nothing around it.
"""

from __future__ import annotations

import re

import pytest
from jinja2 import Environment, PackageLoader, PrefixLoader
from markupsafe import Markup

from tests.unit.test_govuk_table import CELLS, PARAMS
from views.tables import govuk_table, has_attributes

PACKAGE = Environment(
    loader=PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
IMPORT = '{% from "govuk_frontend_jinja/components/table/macro.html" import govukTable %}'


def packages(params: dict) -> str:
    return PACKAGE.from_string(IMPORT + "{{ govukTable(params) }}").render(params=params)


def between_tags(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


PLAIN_CELLS = [cell for cell in CELLS if "attributes" not in cell]
WITHOUT_ATTRIBUTES = [
    {"rows": []},
    {"rows": [PLAIN_CELLS[:3], [], PLAIN_CELLS[3:]]},
    {
        "caption": "Caption & <b>bold</b>",
        "captionClasses": "govuk-table__caption--m",
        "classes": "app-table",
        "firstCellIsHeader": True,
        "head": [
            {"text": "Papers"},
            {"html": "<span>Due</span>", "format": "numeric", "classes": "x"},
            {"text": "Span", "colspan": 2, "rowspan": 1},
            {"text": None},
        ],
        "rows": [PLAIN_CELLS[:4], PLAIN_CELLS[4:], [{"text": Markup("<i>kept</i>")}]],
    },
    {"caption": Markup("Already <em>safe</em>"), "rows": [[{"html": ""}, {"text": 0}]]},
    # The table's own attributes, as names and text: an id to link to, escaped as the macro does.
    {"attributes": {"id": "waiting-breaches", "data-note": 'a & "b"', "data-n": 3}, "rows": []},
]


@pytest.mark.parametrize("params", WITHOUT_ATTRIBUTES)
def test_the_same_table_as_the_packages_macro(params):
    assert between_tags(govuk_table(params)) == between_tags(packages(params))


@pytest.mark.parametrize("params", WITHOUT_ATTRIBUTES)
def test_a_table_without_attributes_is_written_in_python(params):
    assert not has_attributes(params)


@pytest.mark.parametrize("params", PARAMS[2:])
def test_a_table_with_attributes_anywhere_goes_to_the_macro(params):
    assert has_attributes(params)


def test_a_cell_with_attributes_goes_to_the_macro():
    assert has_attributes({"rows": [[{"text": "x", "attributes": {"id": "a"}}]]})
    assert has_attributes({"head": [{"text": "x", "attributes": {"id": "a"}}], "rows": []})
