"""Every table of the app, in the order they are created: what an empty database is made of.

Apart from models/__init__.py so that migrations, which creates them in a fresh database,
need not import the package that imports it.
"""

from models.audit import AuditEvent
from models.base import SchemaVersion
from models.breach_stages import BreachStageTally
from models.breaches import Breach, Notification
from models.counters import ACTION_CHANGES, BREACH_CHANGES, Counter
from models.deliveries import Delivery
from models.dispatches import Dispatch
from models.follow_through import BreachAction, IcoItem
from models.heartbeat import Heartbeat
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
from models.removal_tallies import RemovalTally
from models.tallies import Tally
from models.training import TrainingException

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
    Delivery,
    Notification,
    IcoItem,
    BreachAction,
    Reminder,
    RemoteAgreement,
    Heartbeat,
    Counter,
    Tally,
    RemovalTally,
    BreachStageTally,
    TrainingException,
]

# Tables whose every change sets a change stamp (models/counters.py), made by their triggers.
STAMPED = [("breach", BREACH_CHANGES), ("breach_action", ACTION_CHANGES)]
