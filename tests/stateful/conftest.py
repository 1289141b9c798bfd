"""The stateful test uses the HTTP tests' fixtures (an app per backend, the SMTP inbox)."""

from tests.http.conftest import app, backend, inbox, mail_app  # noqa: F401
