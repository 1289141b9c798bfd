"""Who may do what: every role, and the capabilities each role grants. No Flask, no queries.

This is the one module that names roles. Everything else asks for a capability
(`actor.can(Can.APPROVE_REMOVALS)`, `@requires(Can.WATCH_BOARD)`, the navigation), so
changing who may do something is one line here. The machines' guards add the facts of the
case on top (same team, not your own request, the reporter's manager): a capability says
what a role may do in general, a guard says whether this person may do it to this row.

Role ids are stored (UserRole.role) and equal the keys of the breach notification list
(Notification.recipient): treat them as database schema.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PRACTITIONER = "practitioner"
    LINE_MANAGER = "line_manager"
    DIRECTOR = "director"
    ASSISTANT_DIRECTOR = "assistant_director"
    CALDICOTT_GUARDIAN = "caldicott_guardian"
    RECORDS_MANAGER = "records_manager"
    BUSINESS_IMPROVEMENT = "business_improvement"
    GOVERNANCE = "governance"
    DPO = "dpo"
    ADMIN = "admin"
    KIOSK = "kiosk"


ROLE_LABELS: dict[Role, str] = {
    Role.PRACTITIONER: "Practitioner",
    Role.LINE_MANAGER: "Line manager",
    Role.DIRECTOR: "Director",
    Role.ASSISTANT_DIRECTOR: "Assistant Director",
    Role.CALDICOTT_GUARDIAN: "Caldicott Guardian",
    Role.RECORDS_MANAGER: "Information and Records Manager",
    Role.BUSINESS_IMPROVEMENT: "Business Improvement Manager",
    Role.GOVERNANCE: "Governance Team",
    Role.DPO: "Data Protection Officer",
    Role.ADMIN: "Administrator",
    Role.KIOSK: "Team-base kiosk",
}


class Can(StrEnum):
    """What a person may do in general; the machines' guards add the facts of each case."""

    # Team work with paper records: add records, ask to take papers out, hold them, draft
    # dispatches and check a colleague's.
    WORK_WITH_PAPERS = "work_with_papers"
    # Agree a team's removals for a purpose that is not agreed in advance, and its remote
    # working agreements.
    APPROVE_REMOVALS = "approve_removals"
    # Agree them when nobody nearer can: the requester has no line manager who may see the
    # team's records and the team has no other line manager (machines.removal.approvers_for).
    APPROVE_AS_FALLBACK = "approve_as_fallback"
    # Be chosen as someone's line manager (their requests are put to them, their losses told
    # to them): the procedure's managers, up to the Director.
    LINE_MANAGE = "line_manage"
    # Act for the team on its members' work: cancel a request or dispatch, record papers
    # returned, destroyed or lost for someone who holds them.
    MANAGE_TEAM_WORK = "manage_team_work"
    # See every team's records and dispatches (need to know across teams).
    SEE_EVERY_TEAM = "see_every_team"
    # The team board; and the board of every team.
    WATCH_BOARD = "watch_board"
    WATCH_EVERY_TEAM = "watch_every_team"
    # Report a misdirected dispatch of any team (a line manager who hears of one).
    REPORT_ANY_MISDIRECTION = "report_any_misdirection"
    # The breach chain: every breach case, its ICO draft, and most of its steps.
    HANDLE_EVERY_BREACH = "handle_every_breach"
    APPROVE_EXEMPTION = "approve_exemption"  # not telling the service user
    # The Caldicott Guardian's own agreement, which the decision waits for.
    AGREE_BREACH_DECISION = "agree_breach_decision"
    DECIDE_BREACH = "decide_breach"
    CLOSE_BREACH = "close_breach"
    # What the ICO is told: written for the ICO, with no personal data (the ICO draft).
    WRITE_ICO_SUMMARY = "write_ico_summary"
    # Follow up Safekeep's e-mails to the breach chain that were not delivered (their home
    # page lists them): the procedure's keeper of the breach report.
    FOLLOW_UP_UNDELIVERED = "follow_up_undelivered"
    # After the referral: the ICO's questions, the follow-up report it is owed (Art. 33(4)
    # phased reporting) and its outcome, recorded by whoever handles the ICO.
    FOLLOW_UP_WITH_ICO = "follow_up_with_ico"
    # Actions that prevent the next breach: add them, change their owner or due date, and
    # record one done for its owner.
    PLAN_BREACH_ACTIONS = "plan_breach_actions"
    # Formally accept that an action is not needed, with a reason (the procedure's decision
    # is the Assistant Director's).
    ACCEPT_ACTION_NOT_NEEDED = "accept_action_not_needed"
    # The breach register with its figures (the procedure's report goes to the Director),
    # and its CSV export (the roles that keep and analyse the register).
    READ_REGISTER = "read_register"
    EXPORT_REGISTER = "export_register"
    # Warned by email when a reportable breach nears the ICO's 72 hours.
    RECEIVE_ICO_WARNINGS = "receive_ico_warnings"
    # A shared team-base PC: the kiosk screens and nothing else.
    KIOSK_DEVICE = "kiosk_device"
    ADMINISTER_ACCOUNTS = "administer_accounts"


_BREACH_CHAIN = frozenset(
    {
        Role.DIRECTOR,
        Role.ASSISTANT_DIRECTOR,
        Role.CALDICOTT_GUARDIAN,
        Role.RECORDS_MANAGER,
        Role.BUSINESS_IMPROVEMENT,
        Role.GOVERNANCE,
        Role.DPO,
    }
)
_GOVERNANCE_WORK = frozenset(
    {Role.GOVERNANCE, Role.RECORDS_MANAGER, Role.DPO, Role.CALDICOTT_GUARDIAN}
)

GRANTS: dict[Can, frozenset[Role]] = {
    Can.WORK_WITH_PAPERS: frozenset({Role.PRACTITIONER, Role.LINE_MANAGER}),
    Can.APPROVE_REMOVALS: frozenset({Role.LINE_MANAGER}),
    Can.APPROVE_AS_FALLBACK: frozenset({Role.DIRECTOR, Role.ASSISTANT_DIRECTOR}),
    Can.LINE_MANAGE: frozenset({Role.LINE_MANAGER, Role.ASSISTANT_DIRECTOR, Role.DIRECTOR}),
    Can.MANAGE_TEAM_WORK: frozenset({Role.LINE_MANAGER}),
    Can.SEE_EVERY_TEAM: frozenset(
        {
            Role.DIRECTOR,
            Role.ASSISTANT_DIRECTOR,
            Role.CALDICOTT_GUARDIAN,
            Role.RECORDS_MANAGER,
            Role.GOVERNANCE,
            Role.DPO,
        }
    ),
    Can.WATCH_BOARD: frozenset({Role.LINE_MANAGER, Role.DIRECTOR, Role.ASSISTANT_DIRECTOR}),
    Can.WATCH_EVERY_TEAM: frozenset({Role.DIRECTOR, Role.ASSISTANT_DIRECTOR}),
    Can.REPORT_ANY_MISDIRECTION: frozenset({Role.LINE_MANAGER}),
    Can.HANDLE_EVERY_BREACH: _BREACH_CHAIN,
    Can.APPROVE_EXEMPTION: frozenset({Role.CALDICOTT_GUARDIAN}),
    Can.AGREE_BREACH_DECISION: frozenset({Role.CALDICOTT_GUARDIAN}),
    Can.DECIDE_BREACH: frozenset({Role.ASSISTANT_DIRECTOR}),
    Can.CLOSE_BREACH: frozenset({Role.RECORDS_MANAGER}),
    Can.WRITE_ICO_SUMMARY: frozenset({Role.RECORDS_MANAGER}),
    Can.FOLLOW_UP_UNDELIVERED: frozenset({Role.RECORDS_MANAGER}),
    Can.FOLLOW_UP_WITH_ICO: frozenset({Role.RECORDS_MANAGER, Role.DPO}),
    Can.PLAN_BREACH_ACTIONS: frozenset({Role.ASSISTANT_DIRECTOR, Role.RECORDS_MANAGER}),
    Can.ACCEPT_ACTION_NOT_NEEDED: frozenset({Role.ASSISTANT_DIRECTOR}),
    Can.READ_REGISTER: _GOVERNANCE_WORK
    | {Role.DIRECTOR, Role.ASSISTANT_DIRECTOR, Role.BUSINESS_IMPROVEMENT},
    Can.EXPORT_REGISTER: _GOVERNANCE_WORK,
    Can.RECEIVE_ICO_WARNINGS: frozenset({Role.RECORDS_MANAGER, Role.DPO}),
    Can.KIOSK_DEVICE: frozenset({Role.KIOSK}),
    Can.ADMINISTER_ACCOUNTS: frozenset({Role.ADMIN}),
}


def roles_that(capability: Can) -> frozenset[Role]:
    """The roles granting a capability (for queries such as "everyone warned about the ICO")."""
    return GRANTS[capability]


def grants(roles: frozenset[str] | set[str], capability: Can) -> bool:
    """True when any of these roles grants the capability."""
    return not GRANTS[capability].isdisjoint(roles)
