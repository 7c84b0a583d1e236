"""What each role of an organisation may do, as data: one table, permission → roles.

``campaigns.selectors.user_may`` (one organisation) and ``organisations_user_may``
(lists) read it; every check of the code base asks for one of these permissions.
Platform superusers may act on any organisation's single objects (``user_may``)."""

from __future__ import annotations

from enum import StrEnum

from campaigns.models import Membership

Role = Membership.Role


class Permission(StrEnum):
    TEAM = "team"  # members and roles, invitations
    AUDIT = "audit"  # the organisation's journal of sensitive actions
    REFUND = "refund"  # refund an order or a gift, in whole or in part
    RECEIPTS = "receipts"  # tax receipts: list, export, declaration, cancellation, legal details
    PAYOUT_ACCOUNT = "payout_account"  # the payments page and the Stripe account
    LEDGER = "ledger"  # monthly statements and the campaign ledger exports
    ORDERS = "orders"  # the orders and gifts of the organisation, with their state
    CAMPAIGNS = "campaigns"  # create, edit, publish and close campaigns
    OBJECTS = "objects"  # the review queue and the objects of the organisation
    WINDOWS = "windows"  # shop windows, their placements, sheets and funnels
    HAND_OVER = "hand_over"  # the counter: hand a sold object over, the pick-ups waiting
    COUNTER = "counter"  # the till: record a sale or a cash or cheque gift at the counter, correct it
    DASHBOARD = "dashboard"  # the live dashboard and its stream
    NEWS = "news"  # post a campaign's news to its backers


EVERYONE = frozenset(Role)

PERMISSIONS: dict[Permission, frozenset[str]] = {
    Permission.TEAM: frozenset({Role.ADMIN}),
    Permission.AUDIT: frozenset({Role.ADMIN, Role.TREASURER}),
    Permission.REFUND: frozenset({Role.ADMIN, Role.TREASURER}),
    Permission.RECEIPTS: frozenset({Role.ADMIN, Role.TREASURER}),
    Permission.PAYOUT_ACCOUNT: frozenset({Role.ADMIN, Role.TREASURER}),
    Permission.LEDGER: frozenset({Role.ADMIN, Role.TREASURER, Role.MANAGER}),
    Permission.ORDERS: frozenset({Role.ADMIN, Role.TREASURER, Role.MANAGER}),
    Permission.CAMPAIGNS: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.OBJECTS: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.WINDOWS: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.HAND_OVER: EVERYONE,
    # Not volunteers: an entry puts money in the books and issues a tax receipt under the
    # organisation's numbering (a cheque gift), both sensitive; a volunteer hands objects over.
    Permission.COUNTER: frozenset({Role.ADMIN, Role.TREASURER, Role.MANAGER}),
    Permission.DASHBOARD: EVERYONE,
    Permission.NEWS: frozenset({Role.ADMIN, Role.MANAGER}),
}

# How far a role reaches: nobody invites to, or is given, a role above their own.
# Treasurer and manager stand side by side; the admin above both, the volunteer below.
ROLE_RANK: dict[str, int] = {Role.VOLUNTEER: 1, Role.MANAGER: 2, Role.TREASURER: 2, Role.ADMIN: 3}


def roles_with(permission: Permission) -> frozenset[str]:
    """The roles that hold ``permission`` (KeyError for a permission the table does not list)."""
    return PERMISSIONS[permission]


def role_permissions(role: str) -> list[Permission]:
    """What ``role`` may do, in the table's order (the team page shows it)."""
    return [permission for permission, roles in PERMISSIONS.items() if role in roles]
