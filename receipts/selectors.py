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
from campaigns.models import Organisation, Pledge
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import Gift, Item, ItemStatus, OrderLine, PaymentStatus, Withdrawal, WithdrawalStatus
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


def _ledger_sum(field: str, reason: str, outer: str = "pk") -> Coalesce:
    entries = (
        LedgerEntry.objects.filter(**{field: OuterRef(outer)}, reason=reason)
        .order_by()
        .values(field)
        .annotate(total=Sum("amount_cents"))
        .values("total")[:1]
    )
    return Coalesce(Subquery(entries), 0)


def gifts_due_receipt() -> QuerySet[Gift]:
    """Paid gifts, not refunded in whole, no dispute open or lost, that no issued receipt covers yet."""
    return (
        Gift.objects.filter(status=PaymentStatus.PAID, paid_at__isnull=False, refunded_cents__lt=F("amount_cents"))
        .annotate(
            disputed_cents=_ledger_sum("gift", LedgerEntry.Reason.DISPUTE),
            won_cents=_ledger_sum("gift", LedgerEntry.Reason.DISPUTE_WON),
        )
        .filter(disputed_cents__lte=F("won_cents"))
        .exclude(Exists(TaxReceiptLine.objects.filter(gift=OuterRef("pk"), active=True)))
    )


def lines_due_receipt(*, now: datetime) -> QuerySet[OrderLine]:
    """Sold items whose sale is final and that no issued receipt covers yet: the
    order paid, its part handed over and the return period over, the line not
    refunded in whole, no dispute open or lost on the payment, and a seller.

    A dispute contests the whole payment, so it holds back every line of the
    order; a refund is a line's own (the basket's other items stay final)."""
    final_before = now - timedelta(days=settings.RECEIPT_RETURN_PERIOD_DAYS)
    # Only objects listed for sale by their owner: the price of an object given in kind to
    # the organisation is the buyer's purchase from the organisation, nobody's gift.
    return (
        OrderLine.objects.filter(
            item__kind=Item.Kind.SALE,
            item__status=ItemStatus.HANDED_OVER,
            item__owner__isnull=False,
            fulfilment__handed_over_at__lte=final_before,
            order__status=PaymentStatus.PAID,
            order__paid_at__isnull=False,
            refunded_cents__lt=F("amount_cents"),
        )
        .annotate(
            disputed_cents=_ledger_sum("order", LedgerEntry.Reason.DISPUTE, outer="order_id"),
            won_cents=_ledger_sum("order", LedgerEntry.Reason.DISPUTE_WON, outer="order_id"),
        )
        .filter(disputed_cents__lte=F("won_cents"))
        .exclude(Exists(TaxReceiptLine.objects.filter(order_line=OuterRef("pk"), active=True)))
        .exclude(Exists(withdrawals_holding(final_before=final_before).filter(lines=OuterRef("pk"))))
    )


def withdrawals_holding(*, final_before: datetime) -> QuerySet[Withdrawal]:
    """The buyers' withdrawals that keep their lines' sale from being final: open ones, and those
    closed without a return after ``final_before`` (the return period starts again at the closing)."""
    return Withdrawal.objects.filter(
        Q(status=WithdrawalStatus.REQUESTED) | Q(status=WithdrawalStatus.CANCELLED, closed_at__gt=final_before)
    )


def pledges_due_receipt() -> QuerySet[Pledge]:
    """Partners' payments of their pledges, recorded, that no issued receipt covers yet."""
    return Pledge.objects.filter(status=Pledge.Status.SETTLED, received_cents__gt=0).exclude(
        Exists(TaxReceiptLine.objects.filter(pledge=OuterRef("pk"), active=True))
    )


def pledge_receipt(*, pledge: Pledge) -> TaxReceipt | None:
    """The issued receipt of a partner's payment of its pledge, if there is one yet."""
    return (
        TaxReceipt.objects.filter(lines__pledge=pledge, lines__active=True, status=TaxReceipt.Status.ISSUED)
        .order_by("-issued_at", "-id")
        .first()
    )


def _dispute_pending(**payment: object) -> bool:
    """Whether a dispute on the payment is open or was lost (more disputed than won back)."""
    sums = dict(
        LedgerEntry.objects.filter(reason__in=[LedgerEntry.Reason.DISPUTE, LedgerEntry.Reason.DISPUTE_WON], **payment)
        .values_list("reason")
        .annotate(total=Sum("amount_cents"))
        .values_list("reason", "total")
    )
    return sums.get(LedgerEntry.Reason.DISPUTE, 0) > sums.get(LedgerEntry.Reason.DISPUTE_WON, 0)


def payment_receiptable_cents(*, gift: Gift) -> int:
    """What a receipt may certify for one gift: nothing unless paid and free
    of any open or lost dispute; else the amount kept after partial refunds."""
    if gift.status != PaymentStatus.PAID or _dispute_pending(gift=gift):
        return 0
    return max(gift.amount_cents - gift.refunded_cents, 0)


def line_receiptable_cents(line: OrderLine) -> int:
    """What a seller's receipt may certify for one sold item: nothing unless
    its order is paid and free of any open or lost dispute; else what the
    organisation keeps of that line, from the line's own ledger entries (its
    price credited, less its refunds), never more than the line's price less
    what was refunded of it. Shipping is never on a line: never receipted."""
    order = line.order
    if order.status != PaymentStatus.PAID or _dispute_pending(order=order):
        return 0
    sums = dict(
        LedgerEntry.objects.filter(
            order_line=line,
            account=LedgerEntry.Account.CAMPAIGN,
            reason__in=[LedgerEntry.Reason.PAYMENT, LedgerEntry.Reason.REFUND],
        )
        .values_list("reason")
        .annotate(total=Sum("amount_cents"))
        .values_list("reason", "total")
    )
    kept = sums.get(LedgerEntry.Reason.PAYMENT, 0) - sums.get(LedgerEntry.Reason.REFUND, 0)
    return max(min(kept, line.amount_cents - line.refunded_cents), 0)


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
