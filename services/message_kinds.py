"""The kinds of e-mail Safekeep sends: the names its claims, delivery rows and audit events
use, the words people read for them, and the order cron sends them in. Each kind has its own
GOV.UK Notify template (NOTIFY_TEMPLATE_<KIND>) when Notify is the channel."""

from __future__ import annotations

DUE_TOMORROW = "due_tomorrow"
OVERDUE = "overdue"
CONFIRM_LOCATION = "confirm_location"
ICO_DEADLINE = "ico_deadline"
BREACH_REPORTED = "breach_reported"
LINE_MANAGER_TOLD = "line_manager_told"
POLICE_REFERENCE = "police_reference"
APPROVAL_NEEDED = "approval_needed"
DECIDED = "request_decided"
AGREEMENT_ENDING = "agreement_ending"
DELIVERY_FAILED = "delivery_failed"
TRAINING_LAPSING = "training_lapsing"
# After a breach decision: what the ICO is owed, and actions to prevent the next breach
# (services/follow_through_reminders.py finds them).
ICO_ITEM_DUE = "ico_item_due"
ACTION_DUE = "action_due"
TRAINING_LAPSED = "training_lapsed"
# Sent at once by an administrator, never by cron: no claim, no delivery row.
PASSWORD_RESET = "password_reset"
# Cron's, most urgent first: if the mail server goes away mid-run, the breach chain heard of
# a new case and the statutory deadline went first.
KINDS = (
    BREACH_REPORTED,
    LINE_MANAGER_TOLD,
    DELIVERY_FAILED,
    ICO_DEADLINE,
    POLICE_REFERENCE,
    ICO_ITEM_DUE,
    CONFIRM_LOCATION,
    OVERDUE,
    DUE_TOMORROW,
    APPROVAL_NEEDED,
    DECIDED,
    AGREEMENT_ENDING,
    ACTION_DUE,
    TRAINING_LAPSED,
    TRAINING_LAPSING,
)
# Every kind that needs a Notify template.
TEMPLATE_KINDS = (*KINDS, PASSWORD_RESET)
KIND_LABELS = {
    BREACH_REPORTED: "breach reported",
    LINE_MANAGER_TOLD: "line manager told",
    DELIVERY_FAILED: "undelivered e-mail followed up",
    ICO_DEADLINE: "ICO deadline",
    POLICE_REFERENCE: "no crime reference",
    CONFIRM_LOCATION: "confirm location",
    OVERDUE: "overdue",
    DUE_TOMORROW: "due tomorrow",
    APPROVAL_NEEDED: "waiting for approval",
    DECIDED: "request decided",
    AGREEMENT_ENDING: "agreement ending",
    TRAINING_LAPSED: "training lapsed",
    TRAINING_LAPSING: "training lapsing",
    ICO_ITEM_DUE: "owed to the ICO",
    ACTION_DUE: "breach action due",
    PASSWORD_RESET: "password reset link",
}
