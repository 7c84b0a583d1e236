"""Reads on organisations and campaigns, in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, LedgerEntry

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
