"""Reads on organisations and campaigns, without money (the ledger's totals
are in ledger.selectors), in a fixed number of queries."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import User
from campaigns.models import Campaign, Membership, Organisation

PUBLIC_CAMPAIGN_STATUSES = (Campaign.Status.LIVE, Campaign.Status.CLOSED)


def public_campaigns() -> QuerySet[Campaign]:
    """Campaigns anyone may see, with their organisation, without totals."""
    return (
        Campaign.objects.filter(status__in=PUBLIC_CAMPAIGN_STATUSES)
        .select_related("organisation")
        .order_by("status", "-starts_at", "id")
    )


# --- Tenant scoping -------------------------------------------------------
# Every query a manager makes goes through these functions: a view never
# filters on organisations by itself, so no view can forget to.


def organisations_managed_by(user: User | AnonymousUser | None) -> QuerySet[Organisation]:
    """Organisations in which ``user`` is a manager or an admin (none for anonymous or inactive users)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        memberships__user=user, memberships__role__in=[Membership.Role.MANAGER, Membership.Role.ADMIN]
    ).distinct()


def user_manages(user: User | AnonymousUser | None, organisation_id: int) -> bool:
    """May ``user`` act for the organisation (hand over, refund, read its ledger)?
    Its managers and admins, and superusers; never anonymous or inactive users.
    Lists stay scoped by ``organisations_managed_by``, which has no superuser rule."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or organisations_managed_by(user).filter(pk=organisation_id).exists()


def organisations_administered_by(user: User | AnonymousUser | None) -> QuerySet[Organisation]:
    """Organisations in which ``user`` is an admin, the most trusted role (none for anonymous or inactive users)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user, memberships__role=Membership.Role.ADMIN).distinct()


def user_administers(user: User | AnonymousUser | None, organisation_id: int) -> bool:
    """May ``user`` do what only an organisation's admins do (its bank account, its tax receipts)?
    Its admins, and superusers; never anonymous or inactive users."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or organisations_administered_by(user).filter(pk=organisation_id).exists()


def managed_campaigns(user: User | AnonymousUser | None) -> QuerySet[Campaign]:
    """Campaigns, in any status, of the organisations ``user`` manages, without totals."""
    return (
        Campaign.objects.filter(organisation__in=organisations_managed_by(user))
        .select_related("organisation")
        .order_by("-starts_at", "id")
    )
