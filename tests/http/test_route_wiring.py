"""Every route is written where a reader looks for it: `grep -rn '@bp.post' views/` lists
every POST the app answers, and `@bp.get` every page, in the blueprint's own module."""

from __future__ import annotations

import inspect
import sys

import pytest
from werkzeug.exceptions import NotFound


def test_every_route_is_a_bp_get_or_bp_post_line_in_its_views_module(tmp_path):
    from app import create_app

    app = create_app({"SECRET_KEY": "x", "SQLITE_PATH": str(tmp_path / "never.db")})
    hidden = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        # A nested blueprint (admin.bulk) adds its prefix to its parent's.
        names = rule.endpoint.split(".")[:-1]
        path = rule.rule
        for depth in range(1, len(names) + 1):
            path = path.removeprefix(app.blueprints[".".join(names[:depth])].url_prefix or "")
        source = inspect.getsource(sys.modules[app.view_functions[rule.endpoint].__module__])
        for method in sorted(rule.methods & {"GET", "POST"}):
            if f'@bp.{method.lower()}("{path}")' not in source:
                hidden.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert hidden == []


# Addresses that answer both a GET (the form) and a POST (sending it), with a row's id.
FORM_ADDRESSES = ["/records/{}/remove", "/admin/people/{}/edit", "/admin/teams/{}/rename"]


@pytest.mark.parametrize("address", FORM_ADDRESSES)
def test_an_id_too_long_for_any_row_is_no_such_page_whatever_the_method(tmp_path, address):
    from app import create_app
    from models.base import MAX_ID

    app = create_app({"SECRET_KEY": "x", "SQLITE_PATH": str(tmp_path / "never.db")})
    urls = app.url_map.bind("localhost")
    for method in ("GET", "POST"):
        assert urls.match(address.format(12), method)[1] != {}
        for too_long in (MAX_ID, MAX_ID + 1, 10**30):
            with pytest.raises(NotFound):  # 404, not 405 for the other method's rule
                urls.match(address.format(too_long), method)
