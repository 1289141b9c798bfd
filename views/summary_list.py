"""govukSummaryList's markup, written in Python for the summary lists of the status panels.

GOV.UK Frontend's Jinja macro builds every list inside a block, then trims and indents it, and
calls the attributes macro: a status panel's list, sent after every transition, costs a
fifth of rendering the panel. This writes exactly the macro's HTML, whitespace included, for
the lists Safekeep shows (rows of a key and a value); a list with a card, actions or
attributes goes to the package's own macro. The stand-in
(templates/govuk_frontend_jinja/components/summary-list/macro.html) chooses;
tests/unit/test_components_written_out.py compares the two over generated lists.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2.filters import do_indent
from markupsafe import Markup, escape


def _part(item: Mapping) -> str:
    # As the macro: `item.html | safe | trim | indent(6) if item.html else item.text`.
    if item.get("html"):
        return do_indent(Markup(item["html"]).strip(), 6)
    return escape(item["text"]) if "text" in item else ""


def _class(base: str, item: Mapping) -> str:
    return f"{base} {escape(item['classes'])}" if item.get("classes") else base


def is_plain(params) -> bool:
    """True for a list this module writes: rows of a key and a value (dicts), no card,
    no actions and no attributes anywhere."""
    if not isinstance(params, Mapping) or params.get("card") or params.get("attributes"):
        return False
    rows = params.get("rows")
    if not isinstance(rows, list | tuple):
        return False
    return all(
        not row
        or (
            isinstance(row, Mapping)
            and isinstance(row.get("key"), Mapping)
            and isinstance(row.get("value"), Mapping)
            and not row.get("actions")
        )
        for row in rows
    )


def govuk_summary_list(params: Mapping) -> Markup:
    """The HTML govukSummaryList(params) writes, for a list is_plain() accepts."""
    parts = [f'<dl class="{_class("govuk-summary-list", params)}">\n']
    for row in params["rows"]:
        if not row:
            continue
        key, value = row["key"], row["value"]
        parts.append(
            f'  <div class="{_class("govuk-summary-list__row", row)}">\n'
            f'    <dt class="{_class("govuk-summary-list__key", key)}">\n'
            f"      {_part(key)}\n"
            "    </dt>\n"
            f'    <dd class="{_class("govuk-summary-list__value", value)}">\n'
            f"      {_part(value)}\n"
            "    </dd>\n"
            "  </div>\n"
        )
    parts.append("</dl>")
    return Markup("".join(parts))
