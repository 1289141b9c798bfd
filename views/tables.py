"""govukTable's markup, written in Python for the tables on the busiest pages.

GOV.UK Frontend's Jinja macro calls another macro (govukAttributes) and fills a block for
every cell: a board's three tables cost a few milliseconds a page. This writes the same
elements, classes and text (tests/unit/test_python_table.py compares it with the macro's output,
whitespace between tags aside) for the parameters Safekeep's tables use; a table given
`attributes` goes to the macro instead (components/tables.html).
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup, escape


def _content(item: Mapping) -> Markup:
    # As the macro: `item.html | safe if item.html else item.text`, a missing text empty.
    if item.get("html"):
        return Markup(item["html"])
    return escape(item["text"]) if "text" in item else Markup("")


def _spans(item: Mapping) -> str:
    spans = ""
    if item.get("colspan"):
        spans += f' colspan="{escape(item["colspan"])}"'
    if item.get("rowspan"):
        spans += f' rowspan="{escape(item["rowspan"])}"'
    return spans


def _classes(base: str, item: Mapping, modifier: str | None = None) -> str:
    classes = base
    if modifier and item.get("format"):
        classes += f" {modifier}--{item['format']}"
    if item.get("classes"):
        classes += f" {item['classes']}"
    return str(escape(classes))


def _plain_attributes(attributes) -> bool:
    """Attributes given as names and text (an id, say), which this writes as the macro does;
    booleans, optional values and a string of HTML are the macro's to write."""
    return isinstance(attributes, Mapping) and all(
        isinstance(name, str) and type(value) in (str, int) for name, value in attributes.items()
    )


def has_attributes(params: Mapping) -> bool:
    """True when some part of the table sets `attributes` only the macro writes: any on a
    cell or heading, or the table's own unless they are plain names and text."""
    if params.get("attributes") and not _plain_attributes(params["attributes"]):
        return True
    cells = [*(params.get("head") or []), *(c for row in params.get("rows") or [] for c in row)]
    return any(cell.get("attributes") for cell in cells)


def govuk_table(params: Mapping) -> Markup:
    """The HTML govukTable(params) writes, for params without attributes but the table's
    own plain ones (has_attributes)."""
    own = "".join(
        f' {escape(name)}="{escape(value)}"'
        for name, value in (params.get("attributes") or {}).items()
    )
    parts = [f'<table class="{_classes("govuk-table", params)}"{own}>']
    if params.get("caption"):
        caption_classes = "govuk-table__caption"
        if params.get("captionClasses"):
            caption_classes += f" {params['captionClasses']}"
        parts.append(
            f'<caption class="{escape(caption_classes)}">{escape(params["caption"])}</caption>'
        )
    if params.get("head"):
        parts.append('<thead class="govuk-table__head"><tr class="govuk-table__row">')
        for item in params["head"]:
            classes = _classes("govuk-table__header", item, "govuk-table__header")
            parts.append(f'<th scope="col" class="{classes}"{_spans(item)}>{_content(item)}</th>')
        parts.append("</tr></thead>")
    parts.append('<tbody class="govuk-table__body">')
    first_is_header = params.get("firstCellIsHeader")
    for row in params.get("rows") or []:
        if not row:
            continue
        parts.append('<tr class="govuk-table__row">')
        for n, cell in enumerate(row):
            if n == 0 and first_is_header:
                classes = _classes("govuk-table__header", cell)
                parts.append(
                    f'<th scope="row" class="{classes}"{_spans(cell)}>{_content(cell)}</th>'
                )
            else:
                classes = _classes("govuk-table__cell", cell, "govuk-table__cell")
                parts.append(f'<td class="{classes}"{_spans(cell)}>{_content(cell)}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return Markup("\n".join(parts))
