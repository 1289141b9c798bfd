"""Schema steps for the security work (issue 11 and issue 15's time limits).

Fresh databases get all of this from the models (`create_schema()`); these steps bring an
existing database up to date. Each takes a playhouse.migrate migrator (SqliteMigrator or
PostgresqlMigrator) for the lead to number into the migration list.
"""

from __future__ import annotations

from playhouse.migrate import migrate

from models.audit import AuditEvent
from models.base import db
from models.people import KioskSession, UserSession


def add_kiosk_session_table(migrator) -> None:
    """Create `kiosksession`: who is identified at each kiosk, kept on the server.

    Replaces the `kiosk_person` / `kiosk_seen` values in the kiosk's cookie; people
    identified at a kiosk at upgrade time simply identify again.
    """
    db.create_tables([KioskSession], safe=True)


def add_session_ended_reason(migrator) -> None:
    """Add `usersession.ended_reason` (null): why a session ended, for the sign-in page."""
    migrate(migrator.add_column("usersession", "ended_reason", UserSession.ended_reason))


def add_audit_hmac_and_version(migrator) -> None:
    """Add `auditevent.hmac` and `auditevent.entity_version` (both null).

    Existing events keep neither: they stay valid by hash, and are verified by hash only up
    to the first event written with an HMAC (see models/audit.py). Their lifecycle rows are
    checked by counting events (services/audit_anchor.py).
    """
    migrate(
        migrator.add_column("auditevent", "entity_version", AuditEvent.entity_version),
        migrator.add_column("auditevent", "hmac", AuditEvent.hmac),
    )


STEPS = [add_kiosk_session_table, add_session_ended_reason, add_audit_hmac_and_version]
