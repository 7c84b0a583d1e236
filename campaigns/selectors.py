"""Reads on organisations and campaigns, without money (the ledger's totals
are in ledger.selectors), in a fixed number of queries."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import User
from campaigns.models import Campaign, Membership, Organisation
from campaigns.permissions import Permission, roles_with
from kernel.errors import NotFound, PermissionDenied

PUBLIC_CAMPAIGN_STATUSES = (Campaign.Status.LIVE, Campaign.Status.CLOSED)

# What the item page keeps of a campaign (its row, its organisation, its ledger totals: see
# ledger.selectors.campaign_page_campaign) lives under this generation token, replaced when a change
# of the campaign, of its organisation or of its ledger commits (campaigns.services.campaigns_changed).
CAMPAIGN_GENERATION_SECONDS = 24 * 3600


def campaign_generation(pk: int) -> str:
    return f"campaign:{pk}"


def public_campaigns() -> QuerySet[Campaign]:
    """Campaigns anyone may see, with their organisation, without totals."""
    return (
        Campaign.objects.filter(status__in=PUBLIC_CAMPAIGN_STATUSES)
        .select_related("organisation")
        .order_by("status", "-starts_at", "id")
    )


# --- Tenant scoping and roles ----------------------------------------------
# Every query a member makes goes through these functions: a view never
# filters on organisations by itself, so no view can forget to. Each asks for
# one permission of the table of campaigns.permissions.


def _acting(user: User | AnonymousUser | None) -> int | None:
    """The id of ``user`` if they may act at all: anonymous and inactive users act for no one."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return int(user.pk)


def organisations_user_may(user: User | AnonymousUser | None, permission: Permission) -> QuerySet[Organisation]:
    """Organisations in which ``user`` holds a role with ``permission`` (lists: no superuser rule)."""
    user_id = _acting(user)
    if user_id is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        memberships__user_id=user_id, memberships__role__in=sorted(roles_with(permission))
    ).distinct()


def user_may(user: User | AnonymousUser | None, organisation_id: int, permission: Permission) -> bool:
    """May ``user`` do what ``permission`` names for the organisation? Its members whose
    role holds it, and superusers; never anonymous or inactive users."""
    user_id = _acting(user)
    if user_id is None:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(
        user_id=user_id, organisation_id=organisation_id, role__in=sorted(roles_with(permission))
    ).exists()


def user_role(user: User | AnonymousUser | None, organisation_id: int) -> str | None:
    """The role of ``user`` in the organisation, or None (not a member, or not acting)."""
    user_id = _acting(user)
    if user_id is None:
        return None
    memberships = Membership.objects.filter(user_id=user_id, organisation_id=organisation_id)
    return memberships.values_list("role", flat=True).first()


def permission_require(user: User | AnonymousUser | None, organisation_id: int, permission: Permission) -> None:
    """Services' check: a member whose role lacks ``permission`` is told they may not
    (403); anyone else gets the answer of a missing object (404), so another
    organisation's ids are not a hint."""
    if user_may(user, organisation_id, permission):
        return
    who = getattr(user, "pk", None)
    if user_role(user, organisation_id) is not None:
        raise PermissionDenied(f"user {who} may not {permission} for organisation {organisation_id}")
    raise NotFound(f"user {who} is not a member of organisation {organisation_id}")


# The names from before roles, with their meaning then (manager or admin; admin).
# Kept for code written against them; new code asks ``user_may`` for its permission.


def organisations_managed_by(user: User | AnonymousUser | None) -> QuerySet[Organisation]:
    """Organisations in which ``user`` is a manager or an admin (as ``Permission.CAMPAIGNS``)."""
    return organisations_user_may(user, Permission.CAMPAIGNS)


def user_manages(user: User | AnonymousUser | None, organisation_id: int) -> bool:
    """Is ``user`` a manager or an admin of the organisation, or a superuser (as ``Permission.CAMPAIGNS``)?"""
    return user_may(user, organisation_id, Permission.CAMPAIGNS)


def organisations_administered_by(user: User | AnonymousUser | None) -> QuerySet[Organisation]:
    """Organisations in which ``user`` is an admin (as ``Permission.TEAM``)."""
    return organisations_user_may(user, Permission.TEAM)


def user_administers(user: User | AnonymousUser | None, organisation_id: int) -> bool:
    """Is ``user`` an admin of the organisation, or a superuser (as ``Permission.TEAM``)?"""
    return user_may(user, organisation_id, Permission.TEAM)


def managed_campaigns(
    user: User | AnonymousUser | None, permission: Permission = Permission.CAMPAIGNS
) -> QuerySet[Campaign]:
    """Campaigns, in any status, of the organisations where ``user`` holds ``permission``, without totals."""
    return (
        Campaign.objects.filter(organisation__in=organisations_user_may(user, permission))
        .select_related("organisation")
        .order_by("-starts_at", "id")
    )
