"""Reads on tax receipts: what is due a receipt, what a receipt may certify,
and the receipts a giver or a manager sees."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from campaigns.models import Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus
from ledger.models import LedgerEntry
from receipts.models import ReceiptWait, TaxReceipt, TaxReceiptLine


def gift_receipt(*, gift: Gift) -> TaxReceipt | None:
    """The issued tax receipt covering ``gift``, if there is one yet (the giver's, never a buyer's)."""
    return (
        TaxReceipt.objects.filter(lines__gift=gift, lines__active=True, status=TaxReceipt.Status.ISSUED)
        .order_by("-issued_at", "-id")
        .first()
    )


def gift_receipts(*, gift_ids: Iterable[int]) -> dict[int, TaxReceipt]:
    """The issued receipt covering each of ``gift_ids`` that has one, in one query
    (a yearly receipt may cover several)."""
    lines = (
        TaxReceiptLine.objects.filter(gift_id__in=list(gift_ids), active=True, receipt__status=TaxReceipt.Status.ISSUED)
        .select_related("receipt")
        .order_by("receipt__issued_at", "receipt_id")
    )
    return {line.gift_id: line.receipt for line in lines if line.gift_id is not None}


def _ledger_sum(field: str, reason: str) -> Coalesce:
    entries = (
        LedgerEntry.objects.filter(**{field: OuterRef("pk")}, reason=reason)
        .values(field)
        .annotate(total=Sum("amount_cents"))
        .values("total")[:1]
    )
    return Coalesce(Subquery(entries), 0)


def _receiptable(queryset: QuerySet[Any], field: str) -> QuerySet[Any]:
    """Paid, not refunded in whole, no dispute open or lost, not covered by an issued receipt."""
    return (
        queryset.filter(status=PaymentStatus.PAID, paid_at__isnull=False, refunded_cents__lt=F("amount_cents"))
        .annotate(
            disputed_cents=_ledger_sum(field, LedgerEntry.Reason.DISPUTE),
            won_cents=_ledger_sum(field, LedgerEntry.Reason.DISPUTE_WON),
        )
        .filter(disputed_cents__lte=F("won_cents"))
        .exclude(Exists(TaxReceiptLine.objects.filter(**{field: OuterRef("pk")}, active=True)))
    )


def gifts_due_receipt() -> QuerySet[Gift]:
    """Paid gifts that no issued receipt covers yet."""
    return _receiptable(Gift.objects.all(), "gift")


def orders_due_receipt(*, now: datetime) -> QuerySet[Order]:
    """Sales that are final (handed over, return period over, with a seller) and no receipt covers yet."""
    final_before = now - timedelta(days=settings.RECEIPT_RETURN_PERIOD_DAYS)
    # Only objects listed for sale by their owner: the price of an object given in kind to
    # the organisation is the buyer's purchase from the organisation, nobody's gift.
    orders = Order.objects.filter(
        item__kind=Item.Kind.SALE,
        item__status=ItemStatus.HANDED_OVER,
        handed_over_at__lte=final_before,
        item__owner__isnull=False,
    )
    return _receiptable(orders, "order")


def payment_receiptable_cents(*, gift: Gift | None = None, order: Order | None = None) -> int:
    """What a receipt may certify for one payment: nothing unless paid and free
    of any open or lost dispute; else the amount kept after partial refunds."""
    target: Gift | Order | None = gift if gift is not None else order
    if target is None or target.status != PaymentStatus.PAID:
        return 0
    field = "gift" if gift is not None else "order"
    sums = dict(
        LedgerEntry.objects.filter(**{field: target})
        .values_list("reason")
        .annotate(total=Sum("amount_cents"))
        .values_list("reason", "total")
    )
    if sums.get(LedgerEntry.Reason.DISPUTE, 0) > sums.get(LedgerEntry.Reason.DISPUTE_WON, 0):
        return 0
    return max(target.amount_cents - target.refunded_cents, 0)


def receipts_of(*, user: User) -> QuerySet[TaxReceipt]:
    """The receipts of which ``user`` is the giver, newest first."""
    return TaxReceipt.objects.filter(giver=user).select_related("organisation").order_by("-issued_at", "-id")


def receipts_waiting_for(*, user: User) -> dict[str, Any]:
    """What the person's pending receipts wait for, as their account shows it
    (those waiting at their address only once the address is verified)."""
    by_email = Q(email__iexact=user.email) if user.email_verified else Q(pk__in=[])
    waits = ReceiptWait.objects.filter(Q(giver=user) | by_email)
    missing: list[str] = []
    for wait in waits:
        missing += [name for name in wait.missing if name not in missing]
    return {"waiting": waits.count(), "missing": missing}


def receipts_managed(
    *,
    user: User,
    organisation: str | None = None,
    year: int | None = None,
    status: str | None = None,
    q: str | None = None,
) -> QuerySet[TaxReceipt]:
    """Receipts of the organisations whose receipts ``user`` handles (treasurers and admins), filtered."""
    receipts = TaxReceipt.objects.filter(
        organisation__in=organisations_user_may(user, Permission.RECEIPTS)
    ).select_related("organisation")
    if organisation:
        receipts = receipts.filter(organisation__slug=organisation)
    if year:
        receipts = receipts.filter(year=year)
    if status:
        receipts = receipts.filter(status=status)
    if q:
        receipts = receipts.filter(
            Q(number__icontains=q) | Q(giver_last_name__icontains=q) | Q(giver_email__icontains=q)
        )
    return receipts.order_by("organisation_id", "-year", "-sequence")


@dataclass(frozen=True)
class Declaration:
    """What an organisation declares for a year (article 222 bis of the CGI): no identities."""

    organisation: Organisation
    year: int
    receipts_count: int
    total_cents: int
    cancelled_count: int
    cancelled_cents: int


def receipts_declaration(*, organisation: Organisation, year: int) -> Declaration:
    """Receipts issued in ``year`` and still valid: every receipt of the year minus the cancelled ones."""
    rows = (
        TaxReceipt.objects.filter(organisation=organisation, year=year)
        .values("status")
        .annotate(count=Count("id"), total=Sum("amount_cents"))
    )
    by_status = {row["status"]: (row["count"], row["total"] or 0) for row in rows}
    issued = by_status.get(TaxReceipt.Status.ISSUED, (0, 0))
    cancelled = by_status.get(TaxReceipt.Status.CANCELLED, (0, 0))
    return Declaration(organisation, year, issued[0], issued[1], cancelled[0], cancelled[1])
