"""A person's own purchases as their space (``/mon-compte/``), ``GET /api/me/orders/``
and their data export show them, in one place so that the three say the same:
each order's lines (what was bought, for which campaign, refunded or not), and
each organisation's part of it with its claim code and page while it waits to
be collected (a basket of two organisations has a code at each)."""

from __future__ import annotations

from dataclasses import dataclass

from checkout.selectors import fulfilment_awaiting_collection, fulfilment_claim_url
from donations.models import Fulfilment, Order, OrderLine

# What has become of one organisation's part of a purchase.
AWAITING_COLLECTION = "awaiting_collection"
HANDED_OVER = "handed_over"
REFUNDED = "refunded"


@dataclass(frozen=True)
class PurchasePart:
    """One organisation's part of a purchase. ``claim_code`` and ``claim_url`` only while it
    waits to be collected: once handed over or refunded, the buyer needs neither."""

    fulfilment: Fulfilment
    lines: tuple[OrderLine, ...]
    status: str
    claim_code: str | None
    claim_url: str | None


def purchase_lines(order: Order) -> list[OrderLine]:
    """The order's lines in the order they were bought (as ``orders_of`` prefetched them)."""
    return sorted(order.lines.all(), key=lambda line: line.pk)


def purchase_parts(order: Order) -> list[PurchasePart]:
    """The order's parts, one per organisation, each with its own lines and what became of it."""
    lines = purchase_lines(order)
    parts = []
    for fulfilment in sorted(order.fulfilments.all(), key=lambda fulfilment: fulfilment.pk):
        own = tuple(line for line in lines if line.fulfilment_id == fulfilment.pk)
        # The prefetched order, not one more query per part.
        fulfilment.order = order
        if fulfilment.handed_over_at is not None:
            status = HANDED_OVER
        elif fulfilment_awaiting_collection(fulfilment):
            status = AWAITING_COLLECTION
        else:
            status = REFUNDED
        waiting = status == AWAITING_COLLECTION
        parts.append(
            PurchasePart(
                fulfilment=fulfilment,
                lines=own,
                status=status,
                claim_code=fulfilment.claim_code if waiting else None,
                claim_url=fulfilment_claim_url(fulfilment) if waiting else None,
            )
        )
    return parts
