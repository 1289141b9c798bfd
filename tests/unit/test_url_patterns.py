"""url_for from kept patterns (views/url_patterns.py) writes exactly the URL Flask writes:
for every route of the app, with ids of every length, with query values beside them."""

from __future__ import annotations

import random

from flask import Flask


def test_every_route_with_ids_gets_flasks_own_url(tmp_path):
    from app import create_app

    app = create_app({"SECRET_KEY": "x", "SQLITE_PATH": str(tmp_path / "never.db")})
    pick = random.Random(28)
    ids = [0, 1, 9, 10, 99, 12345, 10**17, *(pick.randrange(10**12) for _ in range(5))]
    checked = 0
    with app.test_request_context("/"):
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            names = sorted(rule.arguments)
            for extra in ((), ("page",)):  # a query value beside the route's own
                for n in ids:
                    values = {name: n + i for i, name in enumerate([*names, *extra])}
                    if not values:
                        continue
                    assert app.url_for(rule.endpoint, **values) == Flask.url_for(
                        app, rule.endpoint, **values
                    ), (rule.rule, values)
                    checked += 1
    assert checked > 1000


def test_a_url_the_pattern_cannot_explain_is_left_to_flask(tmp_path):
    """A converter that writes an id its own way (padded to eight digits), an anchor, an
    external address: Flask builds them, every time."""
    from werkzeug.routing import IntegerConverter

    from app import create_app

    class Padded(IntegerConverter):
        def __init__(self, url_map):
            super().__init__(url_map, fixed_digits=8)

    app = create_app({"SECRET_KEY": "x", "SQLITE_PATH": str(tmp_path / "never.db")})
    app.url_map.converters["padded"] = Padded
    app.add_url_rule("/padded/<padded:n>", "padded", lambda n: "")
    app.add_url_rule("/pair/<int:a>/<int:b>", "pair", lambda a, b: "")
    with app.test_request_context("/"):
        assert app.url_for("padded", n=5) == "/padded/00000005"
        assert app.url_for("padded", n=123456789) == "/padded/123456789"
        assert app.url_for("pair", a=5, b=5) == "/pair/5/5"
        assert app.url_for("pair", a=3, b=4, _anchor="x") == "/pair/3/4#x"
        assert app.url_for("pair", a=3, b=4, _external=True) == "http://localhost/pair/3/4"
