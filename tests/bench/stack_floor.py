"""The floor of the stack Safekeep must run on: what every signed-in page and every transition
costs before any feature of its own. Flask + Flask-Login with a server-side session row looked
up per request, Flask-WTF CSRF, the GOV.UK Frontend Jinja page template with a header, a
20-row govukTable, and on POST one INSERT plus one HMAC-chained audit INSERT in one IMMEDIATE
transaction, answered with a small fragment. peewee on SQLite (WAL, one persistent connection
per worker). Run under gunicorn with the app's own venv (it has these packages):

  BARE_DB=path/to/floor.db gunicorn -w 2 tests.bench.stack_floor:app   (from the repository)
GET /login?u=N signs in (creates the user and a session row); GET /page; POST /write.

The reference the issue of performance against the floor set (the council's), copied as it
is (only laid out by ruff): tests/bench/run.py serves it beside Safekeep and divides.
"""

import hashlib
import hmac
import os
import secrets
import time

from flask import Flask, render_template, request, session
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_wtf.csrf import CSRFProtect, generate_csrf
from jinja2 import ChoiceLoader, DictLoader, PackageLoader, PrefixLoader
from peewee import CharField, FloatField, IntegerField, Model, SqliteDatabase

db = SqliteDatabase(
    os.environ["BARE_DB"],
    pragmas={
        "journal_mode": "wal",
        "busy_timeout": 5000,
        "synchronous": "normal",
        "foreign_keys": 1,
    },
)


class Base(Model):
    class Meta:
        database = db


class Person(Base):
    username = CharField(unique=True)
    display_name = CharField()


class ServerSession(Base):
    sid = CharField(unique=True)
    person_id = IntegerField()
    expires = FloatField()


class Row(Base):
    name = CharField()
    state = CharField()
    n = IntegerField(index=True)


class Audit(Base):
    entity = CharField()
    event = CharField()
    at = FloatField()
    by = IntegerField()
    prev = CharField()
    mac = CharField()


db.connect(reuse_if_open=True)
with db.atomic("IMMEDIATE"):
    db.create_tables([Person, ServerSession, Row, Audit])
    if Row.select().count() < 20:
        Row.insert_many(
            [{"name": f"Bundle {i}", "state": "Out", "n": i} for i in range(20)]
        ).execute()

app = Flask(__name__)
app.config.update(SECRET_KEY="floor", WTF_CSRF_TIME_LIMIT=None)
CSRFProtect(app)
login = LoginManager(app)
KEY = b"audit-key-outside-the-database"


class Who(UserMixin):
    def __init__(self, p):
        self.id, self.display_name = p.id, p.display_name


@login.user_loader
def load(_):
    s = ServerSession.get_or_none(ServerSession.sid == session.get("sid", ""))
    if s is None or s.expires < time.time():
        return None
    p = Person.get_or_none(Person.id == s.person_id)
    return Who(p) if p else None


@app.before_request
def connect():
    db.connect(reuse_if_open=True)


PAGE = """{% extends "govuk_frontend_jinja/template.html" %}
{% from "govuk_frontend_jinja/components/header/macro.html" import govukHeader %}
{% from "govuk_frontend_jinja/components/table/macro.html" import govukTable %}
{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}
{% from "govuk_frontend_jinja/components/footer/macro.html" import govukFooter %}
{% block pageTitle %}Team board – Floor{% endblock %}
{% block header %}{{ govukHeader({"serviceName": "Floor", "serviceUrl": "/page"}) }}{% endblock %}
{% block footer %}{{ govukFooter({}) }}{% endblock %}
{% block content %}
<h1 class="govuk-heading-l">Team board</h1><p class="govuk-body">Signed in as {{ who }}</p>
{{ govukTable({"caption": "Records out",
  "head": [{"text": "Bundle"}, {"text": "State"}, {"text": "Number"}],
  "rows": rows}) }}
<form method="post" action="/write"><input type="hidden" name="csrf_token" value="{{ csrf }}">
{{ govukButton({"text": "Approve"}) }}</form>
{% endblock %}"""

FRAGMENT = """{% from "govuk_frontend_jinja/components/tag/macro.html" import govukTag %}
<div id="panel">{{ govukTag({"text": state}) }}
<p class="govuk-body">Approved by {{ who }}</p></div>"""


app.jinja_loader = ChoiceLoader(
    [
        DictLoader({"page.html": PAGE, "fragment.html": FRAGMENT}),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ]
)


@app.get("/login")
def sign_in():
    u = request.args.get("u", "1")
    p = Person.get_or_none(Person.username == u) or Person.create(
        username=u, display_name=f"Person {u}"
    )
    sid = secrets.token_urlsafe(24)
    ServerSession.create(sid=sid, person_id=p.id, expires=time.time() + 3600)
    session["sid"] = sid
    login_user(Who(p))
    return generate_csrf()


@app.get("/page")
@login_required
def page():
    rows = [
        [{"text": r["name"]}, {"text": r["state"]}, {"text": str(r["n"])}]
        for r in Row.select().order_by(Row.n).limit(20).dicts()
    ]
    return render_template(
        "page.html", rows=rows, who=current_user.display_name, csrf=generate_csrf()
    )


@app.post("/write")
@login_required
def write():
    with db.atomic("IMMEDIATE"):
        r = Row.create(name="x", state="Approved", n=1)
        last = Audit.select(Audit.mac).order_by(Audit.id.desc()).first()
        prev = last.mac if last else ""
        mac = hmac.new(
            KEY, f"{prev}|row|{r.id}|approve|{current_user.id}".encode(), hashlib.sha256
        ).hexdigest()
        Audit.create(
            entity="row", event="approve", at=time.time(), by=current_user.id, prev=prev, mac=mac
        )
    return render_template("fragment.html", state="Approved", who=current_user.display_name)
