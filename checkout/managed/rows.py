"""The list of the managers' orders page and its export: one row per
organisation's part of an order (a fulfilment, with its lines) and one per
gift, filtered, newest first, in one union query that pagination counts and
slices."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import CharField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Campaign, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from checkout.managed.states import (
    gift_state_key,
    hand_over_words,
    lines_state_key,
    part_hand_over_key,
    state_words,
)
from donations.models import Fulfilment, Gift, Order, OrderLine, PaymentStatus, Reservation
from receipts.models import TaxReceipt, TaxReceiptLine

# ``(kind, ref, at)`` of orders' parts (fulfilments) and gifts, one union query.
PaymentKeys = QuerySet[Any, Any]


def managed_organisations(user: User) -> QuerySet[Organisation]:
    return organisations_user_may(user, Permission.ORDERS)


# --- Conditions on a fulfilment row (``OuterRef("pk")`` is the fulfilment) --------------------------


def _lines_where(**conditions: Any) -> Q:
    return Q(Exists(OrderLine.objects.filter(fulfilment=OuterRef("pk"), **conditions)))


def _something_left() -> Q:
    """A line of the part not refunded in whole: the part still counts as sold."""
    return _lines_where(refunded_cents__lt=F("amount_cents"))


def _held() -> Exists:
    """The order's items are still held (a basket's holds are taken and released together)."""
    return Exists(Reservation.objects.filter(order=OuterRef("order"), status=Reservation.Status.HELD))


def _part_status_filter(status: str) -> Q:
    """The fulfilments in ``status``, as their own lines say (a part refunded in whole is
    refunded, even while the rest of the basket stays paid)."""
    paid = Q(order__status=PaymentStatus.PAID)
    left = _something_left()
    return {
        "held": Q(order__status=PaymentStatus.PENDING) & Q(_held()),
        "pending": Q(order__status=PaymentStatus.PENDING),
        "paid": paid & left,
        "partially_refunded": paid & left & _lines_where(refunded_cents__gt=0),
        "refunded": Q(order__status=PaymentStatus.REFUNDED) | (paid & ~left),
        "failed": Q(order__status__in=[PaymentStatus.FAILED, PaymentStatus.EXPIRED]),
        "to_hand_over": paid & left & Q(handed_over_at__isnull=True, pickup_expired_at__isnull=True),
        "handed_over": Q(handed_over_at__isnull=False),
    }[status]


def _gift_status_filter(status: str) -> Q | None:
    """The gifts in ``status``; None when no gift can be (a gift is never handed over)."""
    if status in ("held", "to_hand_over", "handed_over"):
        return None
    return {
        "pending": Q(status=PaymentStatus.PENDING),
        "paid": Q(status=PaymentStatus.PAID),
        "partially_refunded": Q(status=PaymentStatus.PAID, refunded_cents__gt=0),
        "refunded": Q(status=PaymentStatus.REFUNDED),
        "failed": Q(status__in=[PaymentStatus.FAILED, PaymentStatus.EXPIRED]),
    }[status]


def _part_search(q: str) -> Q:
    """The buyer's email, the part's claim code (its case, spaces and dashes forgiven) or one of its objects' titles."""
    words = Q(order__email__icontains=q) | _lines_where(item__title__icontains=q)
    code = "".join(q.split()).replace("-", "")
    if code and code.isascii() and code.isalnum():
        words = words | Q(claim_code__contains=code.upper())
    return words


def payments_managed(
    *,
    user: User,
    kind: str = "",
    status: str = "",
    campaign: Campaign | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: str = "",
) -> PaymentKeys:
    """``(kind, id, created_at)`` of the orders' parts and the gifts ``user`` manages, filtered,
    newest first: one union query, which pagination counts and slices. An order's row is one
    of its fulfilments (``id`` is the fulfilment's): a basket of two organisations is a row at
    each, and a person who manages both sees both rows. ``date_from`` and ``date_to`` are days
    in Europe/Paris, both included. ``payment_rows`` turns a page of it into rows."""
    organisations = managed_organisations(user)
    parts: list[PaymentKeys] = []
    if kind in ("", "order"):
        fulfilments = Fulfilment.objects.filter(organisation__in=organisations)
        if status:
            fulfilments = fulfilments.filter(_part_status_filter(status))
        if campaign is not None:
            fulfilments = fulfilments.filter(_lines_where(campaign=campaign))
        if date_from is not None:
            fulfilments = fulfilments.filter(order__created_at__date__gte=date_from)
        if date_to is not None:
            fulfilments = fulfilments.filter(order__created_at__date__lte=date_to)
        if q:
            fulfilments = fulfilments.filter(_part_search(q))
        parts.append(
            fulfilments.order_by().values(
                kind=Value("order", output_field=CharField()), ref=F("id"), at=F("order__created_at")
            )
        )
    gift_status = _gift_status_filter(status) if status else Q()
    if kind in ("", "gift") and gift_status is not None:
        gifts = Gift.objects.filter(gift_status, campaign__organisation__in=organisations)
        if campaign is not None:
            gifts = gifts.filter(campaign=campaign)
        if date_from is not None:
            gifts = gifts.filter(created_at__date__gte=date_from)
        if date_to is not None:
            gifts = gifts.filter(created_at__date__lte=date_to)
        if q:
            gifts = gifts.filter(Q(email__icontains=q) | Q(name__icontains=q))
        parts.append(
            gifts.order_by().values(kind=Value("gift", output_field=CharField()), ref=F("id"), at=F("created_at"))
        )
    if not parts:
        return Gift.objects.none().values(  # type: ignore[return-value]
            kind=Value("", output_field=CharField()), ref=F("id"), at=F("created_at")
        )
    first, *others = parts
    combined = first.union(*others, all=True) if others else first
    return combined.order_by("-at", "-ref")


@dataclass(frozen=True)
class PaymentRow:
    """One organisation's part of an order, or one gift, as the list and the export show it."""

    kind: str
    payment: Order | Gift
    receipt_issued: bool
    fulfilment: Fulfilment | None = None
    lines: tuple[OrderLine, ...] = ()
    held: bool = False

    @property
    def is_order(self) -> bool:
        return self.kind == "order"

    @property
    def amount_cents(self) -> int:
        """What this row is worth: the part's lines, or the gift."""
        if self.is_order:
            return sum(line.amount_cents for line in self.lines)
        return self.payment.amount_cents

    @property
    def refunded_cents(self) -> int:
        if self.is_order:
            return sum(line.refunded_cents for line in self.lines)
        return self.payment.refunded_cents

    @property
    def state_key(self) -> str:
        if isinstance(self.payment, Order):
            return lines_state_key(self.payment, self.lines, held=self.held)
        return gift_state_key(self.payment)

    @property
    def state(self) -> str:
        return state_words(self.state_key, self.refunded_cents)

    @property
    def hand_over(self) -> str:
        if self.fulfilment is None:
            return ""
        return hand_over_words(part_hand_over_key(self.fulfilment, self.lines))

    @property
    def title(self) -> str:
        """The objects of the part, or the words a gift stands for."""
        if self.is_order:
            return ", ".join(line.item.title for line in self.lines)
        return _("Don")

    @property
    def campaign_titles(self) -> str:
        if isinstance(self.payment, Gift):
            return self.payment.campaign.title
        return ", ".join(dict.fromkeys(line.campaign.title for line in self.lines))

    @property
    def organisation_name(self) -> str:
        if self.fulfilment is not None:
            return self.fulfilment.organisation.name
        return self.payment.campaign.organisation.name  # type: ignore[union-attr]

    @property
    def claim_code(self) -> str:
        return self.fulfilment.claim_code if self.fulfilment is not None else ""

    @property
    def who(self) -> str:
        """The giver's name as they gave it (a manager sees it, anonymous or not), else nothing."""
        return self.payment.name if isinstance(self.payment, Gift) else ""


def _receipt_issued(field: str) -> Exists:
    return Exists(
        TaxReceiptLine.objects.filter(**{field: OuterRef("pk")}, active=True, receipt__status=TaxReceipt.Status.ISSUED)
    )


def lines_shown() -> QuerySet[OrderLine]:
    """An order's lines with what a row shows of each: its object, its campaign, its issued receipt."""
    return (
        OrderLine.objects.select_related("item", "campaign")
        .annotate(receipt_issued=_receipt_issued("order_line"))
        .order_by("id")
    )


def payment_rows(keys: Iterable[dict[str, object]]) -> list[PaymentRow]:
    """The rows of a page of ``payments_managed``, in its order (three queries)."""
    keys = list(keys)
    ids: dict[str, list[int]] = {"order": [], "gift": []}
    for key in keys:
        ids[str(key["kind"])].append(int(key["ref"]))  # type: ignore[call-overload]
    found: dict[tuple[str, int], PaymentRow] = {}
    if ids["order"]:
        fulfilments = (
            Fulfilment.objects.filter(pk__in=ids["order"])
            .select_related("order", "organisation")
            .prefetch_related(Prefetch("lines", queryset=lines_shown()))
            .annotate(receipt_issued=_receipt_issued("order_line__fulfilment"), held=_held())
        )
        for fulfilment in fulfilments:
            found["order", fulfilment.pk] = PaymentRow(
                kind="order",
                payment=fulfilment.order,
                receipt_issued=fulfilment.receipt_issued,  # type: ignore[attr-defined]
                fulfilment=fulfilment,
                lines=tuple(fulfilment.lines.all()),
                held=fulfilment.held,  # type: ignore[attr-defined]
            )
    if ids["gift"]:
        gifts = (
            Gift.objects.filter(pk__in=ids["gift"])
            .select_related("campaign__organisation")
            .annotate(receipt_issued=_receipt_issued("gift"))
        )
        for gift in gifts:
            found["gift", gift.pk] = PaymentRow(kind="gift", payment=gift, receipt_issued=gift.receipt_issued)  # type: ignore[attr-defined]
    rows = []
    for key in keys:
        kind, pk = str(key["kind"]), int(key["ref"])  # type: ignore[call-overload]
        if (kind, pk) in found:
            rows.append(found[kind, pk])
    return rows


def payment_rows_all(keys: PaymentKeys, *, chunk: int = 500) -> Iterator[PaymentRow]:
    """Every row of ``payments_managed``, a chunk at a time (the export)."""
    batch: list[dict[str, object]] = []
    for key in keys.iterator(chunk_size=chunk):
        batch.append(key)
        if len(batch) == chunk:
            yield from payment_rows(batch)
            batch = []
    if batch:
        yield from payment_rows(batch)
