"""The checks every HTTP test's full page goes through (tests/http/html.py page_problems)."""

from tests.http.html import page_problems

GOOD = """<!DOCTYPE html><html lang="en"><head><title>Home – Safekeep – Council</title></head>
<body><main id="main-content"><form method="post" action="/x">
<input type="hidden" name="csrf_token" value="t"><button id="go">Go</button></form></main>
<footer class="govuk-footer"><a href="/cookies">Cookies</a>
<a class="govuk-footer__link" href="/accessibility">Accessibility statement</a></footer>
</body></html>"""


def test_a_sound_page_has_no_problems():
    assert page_problems("/", GOOD) == []


def test_each_missing_part_is_named():
    broken = {
        "title": GOOD.replace("– Safekeep ", ""),
        "duplicate ids": GOOD.replace('id="go"', 'id="main-content"'),
        "accessibility statement": GOOD.replace('href="/accessibility"', 'href="/help"'),
        "CSRF": GOOD.replace('name="csrf_token"', 'name="token"'),
    }
    for defect, html in broken.items():
        problems = page_problems("/", html)
        assert len(problems) == 1 and defect in problems[0], (defect, problems)


def test_the_statement_must_be_linked_from_the_footer_not_elsewhere():
    html = GOOD.replace('href="/accessibility"', 'href="/help"').replace(
        "<main", '<a href="/accessibility">A</a><main'
    )
    assert page_problems("/", html) == ["/: no accessibility statement"]


def test_data_attributes_ending_in_id_are_not_ids():
    html = GOOD.replace("<button", '<button data-id="main-content" aria-describedby="go"')
    assert page_problems("/", html) == []
