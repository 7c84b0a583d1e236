"""Reads on items, in a fixed number of queries whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse

from accounts.models import User
from campaigns.models import LedgerEntry, Organisation
from campaigns.selectors import organisations_managed_by
from donations.models import (
    PUBLIC_STATUSES,
    Gift,
    Item,
    ItemPhoto,
    ItemStatus,
    ItemTransition,
    Order,
    PaymentStatus,
    ReceiptWait,
    Reservation,
    TaxReceipt,
    TaxReceiptLine,
)


def _with_relations(queryset: QuerySet[Item]) -> QuerySet[Item]:
    # The short code rides along: item serializers show ``short_url`` without a query per row.
    return queryset.select_related("campaign", "campaign__organisation", "short_code").prefetch_related(
        Prefetch("photos", queryset=ItemPhoto.objects.order_by("position", "id"))
    )


def item_visible_queryset(*, user: User | None) -> QuerySet[Item]:
    """Items ``user`` may see: public ones for everybody, plus their own and
    those of the organisations they manage."""
    visible = Q(status__in=PUBLIC_STATUSES)
    if user is not None and user.is_authenticated:
        visible |= Q(owner=user) | Q(campaign__organisation__in=organisations_managed_by(user))
    return _with_relations(Item.objects.filter(visible))


def items_owned_by(user: User | AnonymousUser | None) -> QuerySet[Item]:
    """A donor's own items, any status, with their history for "my objects"."""
    if user is None or not user.is_authenticated:
        return Item.objects.none()
    # A gift in kind stays in its donor's list after the organisation has become its owner.
    return _with_relations(Item.objects.filter(Q(owner=user) | Q(donor=user))).prefetch_related(
        Prefetch("transitions", queryset=ItemTransition.objects.order_by("at", "id"))
    )


def item_with_history(*, pk: int) -> Item:
    """One item with its photos and history; callers have checked access already."""
    return (
        _with_relations(Item.objects.filter(pk=pk))
        .select_related("donor")
        .prefetch_related(Prefetch("transitions", queryset=ItemTransition.objects.order_by("at", "id")))
        .get()
    )


def items_managed_by(user: User | AnonymousUser | None) -> QuerySet[Item]:
    """Items of the campaigns of the organisations ``user`` manages: the only
    way manager code reaches items (tenant isolation lives here)."""
    return _with_relations(Item.objects.filter(campaign__organisation__in=organisations_managed_by(user)))


def items_to_review(user: User | AnonymousUser | None) -> QuerySet[Item]:
    """The review queue: oldest first, so nobody waits forever."""
    return (
        items_managed_by(user)
        .filter(status=ItemStatus.IN_REVIEW)
        .select_related("owner", "donor")
        .prefetch_related(Prefetch("transitions", queryset=ItemTransition.objects.order_by("at", "id")))
        .order_by("updated_at", "id")
    )


def item_search(
    queryset: QuerySet[Item],
    *,
    campaign: str | None = None,
    status: str | None = None,
    q: str | None = None,
    window: int | None = None,
) -> QuerySet[Item]:
    if window is not None:
        # Items currently placed in that shop window (qr.Placement; one current row per item and window).
        queryset = queryset.filter(placements__window_id=window, placements__removed_at__isnull=True)
    if campaign:
        queryset = queryset.filter(campaign__slug=campaign)
    if status:
        queryset = queryset.filter(status=status)
    if q:
        for word in q.split()[:8]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return queryset


def item_similar(*, item: Item, limit: int = 4) -> QuerySet[Item]:
    """Other items on sale for the same campaign, same category first: what a sold item's page offers."""
    return (
        Item.objects.filter(campaign_id=item.campaign_id, status=ItemStatus.LISTED)
        .exclude(pk=item.pk)
        .select_related("campaign")
        .prefetch_related(Prefetch("photos", queryset=ItemPhoto.objects.order_by("position", "id")))
        .annotate(same_category=Case(When(category=item.category, then=0), default=1, output_field=IntegerField()))
        .order_by("same_category", "-created_at", "-id")[:limit]
    )


def reservations_in_progress(*, user: User, now: datetime) -> QuerySet[Reservation]:
    """Holds running now on items of the organisations ``user`` manages (the dashboard)."""
    return (
        Reservation.objects.filter(
            status=Reservation.Status.HELD,
            expires_at__gt=now,
            item__campaign__organisation__in=organisations_managed_by(user),
        )
        .select_related("item", "item__campaign")
        .order_by("expires_at")
    )


# --- The buyer's claim page and the hand-over ------------------------------------------------------


def _claimed(token: str) -> QuerySet[Order]:
    return Order.objects.select_related("item", "campaign__organisation").filter(claim_token=token)


def order_for_claim(*, token: str) -> Order | None:
    """The order behind a claim page. The random token is the only key: the
    buyer has no account, and the page is theirs as long as they keep the link."""
    return _claimed(token).first()


def order_claim_url(order: Order) -> str:
    """The absolute address of the buyer's claim page (sent by email, shown after paying)."""
    return settings.SITE_URL + reverse("donations:claim", kwargs={"token": order.claim_token})


def order_hand_over_url(order: Order) -> str:
    """The absolute address the claim QR encodes: the organisation scans it to hand the object over."""
    return settings.SITE_URL + reverse("donations:hand-over", kwargs={"token": order.claim_token})


def order_for_hand_over(*, token: str, user: User) -> Order | None:
    """The order behind a scanned claim QR, for a manager of its campaign's
    organisation only: anybody else gets nothing, as if the token did not exist."""
    orders = _claimed(token)
    if not user.is_superuser:
        orders = orders.filter(campaign__organisation__in=organisations_managed_by(user))
    return orders.first()


def gift_receipt(*, gift: Gift) -> TaxReceipt | None:
    """The issued tax receipt covering ``gift``, if there is one yet (the giver's, never a buyer's)."""
    return (
        TaxReceipt.objects.filter(lines__gift=gift, lines__active=True, status=TaxReceipt.Status.ISSUED)
        .order_by("-issued_at", "-id")
        .first()
    )


# --- Tax receipts -------------------------------------------------------------------------------


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
    """Receipts of the organisations ``user`` is a member of, filtered."""
    receipts = TaxReceipt.objects.filter(organisation__memberships__user=user).select_related("organisation")
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


def item_streams(item: Item) -> dict[str, Any]:
    """The live streams an item's events go to: the item, its campaign, its
    organisation (managers) and every window it stands in now."""
    from qr.selectors import windows_showing

    return {
        "items": [item.pk],
        "campaigns": [item.campaign_id],
        "organisations": [item.campaign.organisation_id],
        "windows": windows_showing(item_id=item.pk),
    }
