"""peewee models, one module per aggregate, and the schema they make together."""

from models.audit import AuditEvent
from models.base import SchemaVersion
from models.breaches import Breach, Notification
from models.counters import Counter
from models.dispatches import Dispatch
from models.heartbeat import Heartbeat
from models.migrations import latest, upgrade
from models.people import (
    KioskFailure,
    KioskSession,
    PasswordReset,
    Team,
    User,
    UserRole,
    UserSession,
)
from models.records import Record, Removal
from models.reminders import Reminder
from models.remote_working import RemoteAgreement

ALL_MODELS = [
    SchemaVersion,
    Team,
    User,
    UserRole,
    UserSession,
    KioskFailure,
    KioskSession,
    PasswordReset,
    AuditEvent,
    Record,
    Removal,
    Dispatch,
    Breach,
    Notification,
    Reminder,
    RemoteAgreement,
    Heartbeat,
    Counter,
]

# The version the numbered steps reach (models/migrations.py says how to add one).
SCHEMA_VERSION = latest()


def create_schema() -> int:
    """Create an empty database or upgrade an older one (models/migrations.py); the version."""
    return upgrade().after
