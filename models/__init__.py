"""peewee models, one module per aggregate, and the schema they make together."""

from models.audit import AuditEvent
from models.base import SchemaVersion, db
from models.breaches import Breach, Notification
from models.dispatches import Dispatch
from models.people import KioskFailure, KioskSession, Team, User, UserRole, UserSession
from models.records import Record, Removal
from models.reminders import Reminder

# Bump when the schema changes, and add the step that migrates an older database.
# 2: the kioskfailure table (a new table only: create_tables(safe=True) below adds it to a
#    version 1 database, so `flask init-db` is the whole migration).
SCHEMA_VERSION = 2

ALL_MODELS = [
    SchemaVersion,
    Team,
    User,
    UserRole,
    UserSession,
    KioskFailure,
    KioskSession,
    AuditEvent,
    Record,
    Removal,
    Dispatch,
    Breach,
    Notification,
    Reminder,
]


def create_schema() -> int:
    """Create any missing tables and record the schema version; return the version."""
    with db.atomic():
        db.create_tables(ALL_MODELS, safe=True)
        current = (
            SchemaVersion.select(SchemaVersion.version)
            .order_by(SchemaVersion.version.desc())
            .scalar()
        )
        if current is None or current < SCHEMA_VERSION:
            SchemaVersion.create(version=SCHEMA_VERSION)
    return SCHEMA_VERSION
