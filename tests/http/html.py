"""A parsed page with CSS selectors, enough to assert on elements rather than substrings.

Selectors: a tag, `#id`, `.class`, `[attr]`, `[attr='v']`, `[attr$='v']`, `[attr*='v']`,
combined (`form[action$='/take_out']`) and joined by spaces (descendants: `#status p`).
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
_PART = re.compile(r"([a-zA-Z][\w-]*)|#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:([$*]?=)'([^']*)')?\]")


class Element:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    def __getitem__(self, name: str) -> str:
        return self.attrs[name]

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    def get_text(self, separator: str = "", strip: bool = False) -> str:
        parts = []
        for child in self.children:
            text = child.get_text(separator, strip) if isinstance(child, Element) else child
            parts.append(text.strip() if strip else text)
        joined = separator.join(p for p in parts if p or not strip)
        return " ".join(joined.split()) if strip else joined

    def descendants(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.descendants()

    def select(self, selector: str) -> list[Element]:
        found = [self]
        for step in selector.split():
            matches = _matcher(step)
            found = list(
                dict.fromkeys(e for root in found for e in root.descendants() if matches(e))
            )
        return found

    def select_one(self, selector: str) -> Element | None:
        found = self.select(selector)
        return found[0] if found else None


def _matcher(step: str):
    checks = []
    for tag, id_, cls, attr, op, value in _PART.findall(step):
        if tag:
            checks.append(lambda e, t=tag: e.tag == t)
        elif id_:
            checks.append(lambda e, i=id_: e.get("id") == i)
        elif cls:
            checks.append(lambda e, c=cls: c in (e.get("class") or "").split())
        elif not op:
            checks.append(lambda e, a=attr: a in e.attrs)
        elif op == "=":
            checks.append(lambda e, a=attr, v=value: e.get(a) == v)
        elif op == "$=":
            checks.append(lambda e, a=attr, v=value: (e.get(a) or "").endswith(v))
        else:
            checks.append(lambda e, a=attr, v=value: v in (e.get(a) or ""))
    return lambda element: all(check(element) for check in checks)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Element("[document]", {}, None)

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in _VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    return builder.root


# What every full page must have, found by regular expressions (our templates write every
# attribute in double quotes): an HTML parser in Python took a tenth of the HTTP tests' time.
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_ID = re.compile(r'\sid="([^"]*)"')
_FOOTER = re.compile(r"<footer\b.*?</footer>", re.S)
_POST_FORM = re.compile(r"<form\b[^>]*\bmethod=\"post\"", re.I)


def page_problems(url: str, html: str) -> list[str]:
    """What a page lacks that every page must have: the service in its title, ids used once,
    the accessibility statement in the footer, a CSRF token wherever it posts."""
    problems = []
    title = _TITLE.search(html)
    if not title or "Safekeep" not in title.group(1):
        problems.append(f"{url}: page title missing the service name")
    duplicates = [i for i, n in Counter(_ID.findall(html)).items() if n > 1]
    if duplicates:
        problems.append(f"{url}: duplicate ids {duplicates}")
    # The 2018 Accessibility Regulations: the statement is linked from every page.
    footer = _FOOTER.search(html)
    if not footer or 'href="/accessibility"' not in footer.group(0):
        problems.append(f"{url}: no accessibility statement")
    if _POST_FORM.search(html) and "csrf_token" not in html:
        problems.append(f"{url}: a form posts without a CSRF token")
    return problems
