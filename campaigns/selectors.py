"""Reads on organisations and campaigns, in a fixed number of queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign, LedgerEntry, Membership, Organisation

PUBLIC_CAMPAIGN_STATUSES = (Campaign.Status.LIVE, Campaign.Status.CLOSED)

# Credits count positive, debits negative: the ledger's net in one SUM.
_SIGNED_AMOUNT = Case(
    When(kind=LedgerEntry.Kind.DEBIT, then=-F("amount_cents")),
    default=F("amount_cents"),
    output_field=IntegerField(),
)
# A backer is a payment received (an order or a gift) that was not refunded in full.
_BACKER = Q(reason=LedgerEntry.Reason.PAYMENT) & ~(
    Q(order__isnull=False, order__refunded_cents__gte=F("order__amount_cents"))
    | Q(gift__isnull=False, gift__refunded_cents__gte=F("gift__amount_cents"))
)


def _raised_subquery() -> Subquery:
    entries = (
        LedgerEntry.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(net=Sum(_SIGNED_AMOUNT))
        .values("net")
    )
    return Subquery(entries, output_field=IntegerField())


def _backers_subquery() -> Subquery:
    payments = (
        LedgerEntry.objects.filter(_BACKER, campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(backers=Count("id"))
        .values("backers")
    )
    return Subquery(payments, output_field=IntegerField())


def campaign_public_queryset() -> QuerySet[Campaign]:
    """Campaigns anyone may see, each annotated with ``raised_cents`` (credits
    minus debits of the ledger) and ``backers_count``: subqueries, so the list
    stays one query whatever its length."""
    return (
        Campaign.objects.filter(status__in=PUBLIC_CAMPAIGN_STATUSES)
        .select_related("organisation")
        .annotate(
            raised_cents=Coalesce(_raised_subquery(), Value(0), output_field=IntegerField()),
            backers_count=Coalesce(_backers_subquery(), Value(0), output_field=IntegerField()),
        )
        .order_by("status", "-starts_at", "id")
    )


def campaign_progress(*, campaign_id: int) -> tuple[int, int]:
    """(raised_cents, backers_count) of one campaign, from the ledger."""
    entries = LedgerEntry.objects.filter(campaign_id=campaign_id)
    raised = entries.aggregate(net=Coalesce(Sum(_SIGNED_AMOUNT), Value(0)))["net"]
    backers = entries.filter(_BACKER).count()
    return int(raised), int(backers)


def organisation_balance_cents(*, organisation_id: int) -> int:
    """Money received for an organisation and not yet transferred to its
    connected account (organisations without one accrue it here)."""
    untransferred = Q(order__isnull=False, order__transfer_id="") | Q(gift__isnull=False, gift__transfer_id="")
    entries = LedgerEntry.objects.filter(untransferred, organisation_id=organisation_id)
    return int(entries.aggregate(net=Coalesce(Sum(_SIGNED_AMOUNT), Value(0)))["net"])


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


def campaigns_managed_by(user: User | AnonymousUser | None) -> QuerySet[Campaign]:
    """Campaigns, in any status, of the organisations ``user`` manages."""
    return (
        Campaign.objects.filter(organisation__in=organisations_managed_by(user))
        .select_related("organisation")
        .annotate(
            raised_cents=Coalesce(_raised_subquery(), Value(0), output_field=IntegerField()),
            backers_count=Coalesce(_backers_subquery(), Value(0), output_field=IntegerField()),
        )
        .order_by("-starts_at", "id")
    )


def memberships_of(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organisation").order_by("organisation__name")


# --- The managers' live dashboard ---------------------------------------------


def dashboard_feed(*, user: User, since: datetime, limit: int = 50) -> QuerySet[LedgerEntry]:
    """Money movements of the user's organisations since ``since``, newest first."""
    return (
        LedgerEntry.objects.filter(organisation__in=organisations_managed_by(user), created_at__gte=since)
        .select_related("campaign", "order__item", "gift")
        .order_by("-id")[:limit]
    )


def dashboard_series(*, campaign_ids: list[int], days: int, now: datetime) -> dict[int, list[tuple[date, int]]]:
    """Money raised so far at the end of each of the last ``days`` days, per campaign (from the ledger)."""
    start = (now - timedelta(days=days - 1)).astimezone(timezone.get_current_timezone()).date()
    entries = LedgerEntry.objects.filter(campaign_id__in=campaign_ids).order_by()
    before = dict(
        entries.filter(created_at__date__lt=start)
        .values("campaign_id")
        .annotate(net=Sum(_SIGNED_AMOUNT))
        .values_list("campaign_id", "net")
    )
    per_day: dict[tuple[int, date], int] = {
        (campaign_id, day): int(net)
        for campaign_id, day, net in entries.filter(created_at__date__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("campaign_id", "day")
        .annotate(net=Sum(_SIGNED_AMOUNT))
        .values_list("campaign_id", "day", "net")
    }
    series: dict[int, list[tuple[date, int]]] = {}
    for campaign_id in campaign_ids:
        running = int(before.get(campaign_id) or 0)
        points = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            running += per_day.get((campaign_id, day), 0)
            points.append((day, running))
        series[campaign_id] = points
    return series
