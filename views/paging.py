"""Lists a page at a time: which page was asked for, its rows, and the GOV.UK pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, request, url_for

from machines.common import whole_number

MAX_PAGE = 1_000_000
# A total that costs a pass over every row it counts (no tally holds it) is counted this many
# pages past the page asked for, and no further: past that the list says "more than". Flat
# with the years: the count stops where the reader could get to in a few clicks.
COUNT_AHEAD = 10


def page_arg(param: str = "page") -> int:
    """The page number asked for, from 1 to MAX_PAGE (lists cap it at their last page too)."""
    return whole_number(request.args.get(param), MAX_PAGE) or 1


@dataclass(frozen=True)
class Page:
    rows: list
    number: int
    pages: int
    total: int
    param: str = "page"  # the query argument that names the page
    more: bool = False  # counted only so far (bounded_total): there are more than `total`

    def links(self, endpoint: str, label: str) -> dict:
        """govukPagination params to the other pages of this list: the same address with
        its own page argument changed and every other argument (another list's page, a
        filter) kept."""
        return page_links(
            self.number,
            self.pages,
            lambda n: url_for(endpoint, **{**request.args.to_dict(), self.param: n}),
            label,
        )


def page_of(
    query,
    total: int | None = None,
    size: int | None = None,
    param: str = "page",
    rows: Callable[[Any], list] = list,
    more: bool = False,
) -> Page:
    """The asked-for page of `query` (PAGE_SIZE rows); past the last page shows the last
    one, so a huge ?page= never reaches the SQL OFFSET. `total` saves a COUNT when known.
    `param` names the page's query argument, for pages with more than one list. `rows`
    reads the paged query (by default, its rows)."""
    total = query.count() if total is None else total
    return page_of_window(
        total, lambda offset, limit: rows(query.limit(limit).offset(offset)), size, param, more
    )


def count_bound(size: int | None = None, param: str = "page") -> int:
    """How far a list's total is counted: COUNT_AHEAD pages past the page asked for."""
    return (page_arg(param) + COUNT_AHEAD) * (size or current_app.config["PAGE_SIZE"])


def bounded_total(query, size: int | None = None, param: str = "page") -> tuple[int, bool]:
    """How many rows `query` has, counted no further than COUNT_AHEAD pages past the page
    asked for; and whether there are more than that."""
    bound = count_bound(size, param)
    counted = query.limit(bound + 1).count()
    return min(counted, bound), counted > bound


def page_of_window(
    total: int,
    read: Callable[[int, int], list],
    size: int | None = None,
    param: str = "page",
    more: bool = False,
) -> Page:
    """As page_of, for a list read by `read(offset, limit)`: one whose query is built for the
    page asked (so that it reads no further than the page's end). `more`: `total` is a
    bounded count (bounded_total), so there are pages past the last one it makes."""
    size = size or current_app.config["PAGE_SIZE"]
    pages = max(1, -(-total // size))
    number = min(page_arg(param), pages)
    return Page(read((number - 1) * size, size), number, pages, total, param, more)


def page_links(page: int, pages: int, href: Callable[[int], str], label: str) -> dict:
    """govukPagination params: previous/next and numbered links around the current page."""
    shown = sorted({1, pages, page - 1, page, page + 1} & set(range(1, pages + 1)))
    items: list[dict] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
        previous = number
    return {
        "previous": {"href": href(page - 1)} if page > 1 else None,
        "next": {"href": href(page + 1)} if page < pages else None,
        "items": items,
        "landmarkLabel": label,
    }
