"""Setting up in bulk: people, records or training dates from a CSV file, checked row by row
before anything is saved (services/imports.py holds the rules and the transaction).

A blueprint nested in views.admin (endpoints admin.bulk.*), so the administrators-only check
and the error pages of administration apply here too.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from machines import clock
from machines.permissions import Can
from services import imports
from views.access import requires
from views.errors import render_error
from views.forms import FormErrors
from views.forms.accounts import ImportConfirm

bp = Blueprint("bulk", __name__, url_prefix="/import")


@bp.get("")
@requires(Can.ADMINISTER_ACCOUNTS)
def start():
    return _choose_file_page(request.args.get("kind"), FormErrors())


def _choose_file_page(kind: str | None, errors: FormErrors):
    """The first page: what to import and the file (a kind it does not know is not chosen)."""
    return render_template(
        "admin/import.html",
        title="Import people, records or training dates",
        errors=errors,
        kind=kind if kind in imports.KINDS else None,
        columns=imports.COLUMNS,
    ), 422 if errors else 200


@bp.post("")
@requires(Can.ADMINISTER_ACCOUNTS)
def check_file():
    kind = request.form.get("kind")
    errors = FormErrors()
    if kind not in imports.KINDS:
        errors.add("kind", "Choose what to import")
    upload = request.files.get("file")
    text = None
    if upload is None or not upload.filename:
        errors.add("file", "Choose a CSV file to import")
    else:
        text, problem = imports.read_upload(upload.read())
        if problem:
            errors.add("file", problem)
    if errors:
        return _choose_file_page(kind, errors)
    preview = imports.preview(kind, text)
    return _preview_page(kind, text, preview)


def _preview_page(kind: str, text: str, preview, status: int | None = None):
    return render_template(
        "admin/import_preview.html",
        title="Check the import",
        kind=kind,
        nouns=imports.NOUNS[kind],
        csv_text=text,
        preview=preview,
        errors=_import_errors(preview),
        columns=imports.COLUMNS[kind],
    ), status or (422 if preview.problems else 200)


def _import_errors(preview) -> FormErrors:
    """The error summary: file problems, then each row with errors (linked to it)."""
    errors = FormErrors()
    for n, problem in enumerate(preview.file_errors):
        errors.add(f"file-{n}", problem, anchor="file-problems")
    bad = [row for row in preview.rows if row.errors]
    for row in bad[: imports.SUMMARY_ROWS]:
        errors.add(f"row-{row.line}", f"Row {row.line}: {'; '.join(row.errors)}")
    if len(bad) > imports.SUMMARY_ROWS:
        more = len(bad) - imports.SUMMARY_ROWS
        errors.add("more", f"And {more} more rows with errors", anchor="rows")
    return errors


@bp.post("/confirm")
@requires(Can.ADMINISTER_ACCOUNTS)
def confirm():
    form = ImportConfirm()
    if form.check() or not form.csv_text.data:
        return render_error(400)
    kind, text = form.kind.data, form.csv_text.data
    try:
        result = imports.commit(kind, text, current_user.id, clock.now())
    except imports.ImportRefused as refused:
        return _preview_page(kind, text, refused.preview)
    except imports.ImportStopped as stopped:
        return render_template(
            "admin/import_stopped.html",
            title="Import stopped",
            kind=kind,
            nouns=imports.NOUNS[kind],
            stopped=stopped,
        ), 409
    return render_template(
        "admin/import_done.html",
        title="Import complete",
        kind=kind,
        nouns=imports.NOUNS[kind],
        result=result,
    )


@bp.get("/template-<kind>.csv")
@requires(Can.ADMINISTER_ACCOUNTS)
def template(kind: str):
    if kind not in imports.KINDS:
        abort(404)
    return Response(
        imports.template(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="safekeep-{kind}-template.csv"'},
    )
