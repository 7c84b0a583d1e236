"""The only code that changes the status of an order, a gift, a hold or a
refund: each move is one the tables of donations.models allow
(PAYMENT_TRANSITIONS, RESERVATION_TRANSITIONS, REFUND_TRANSITIONS), applied as
one conditional UPDATE (kernel.states), as items' moves are."""

from __future__ import annotations

from typing import Any

from donations.models import (
    PAYMENT_TRANSITIONS,
    RECURRING_TRANSITIONS,
    REFUND_TRANSITIONS,
    RESERVATION_TRANSITIONS,
    Gift,
    Order,
    PaymentStatus,
    RecurringGift,
    Refund,
    Reservation,
)
from kernel.states import TransitionRefused, transition_apply

__all__ = [
    "TransitionRefused",
    "payment_transition",
    "recurring_transition",
    "refund_transition",
    "reservation_transition",
]


def payment_transition(
    target: Order | Gift, *, to: PaymentStatus, expected: PaymentStatus | None = None, **fields: Any
) -> None:
    """Move an order or a gift from ``expected`` (default: the status it was read
    with) to ``to``; ``fields`` are written in the same UPDATE. Raises
    ``TransitionRefused`` when the table forbids it or another caller moved it first."""
    current = PaymentStatus(expected or target.status)
    transition_apply(model=type(target), pk=target.pk, table=PAYMENT_TRANSITIONS, current=current, to=to, **fields)
    target.status = to
    for name, value in fields.items():
        setattr(target, name, value)


def reservation_transition(*, order_id: int, to: str, **fields: Any) -> list[int]:
    """End the holds of an order (held → converted or released): the ids of the
    items whose hold this call ended, in ascending order; empty when they were
    already over (ending holds is idempotent). Each hold moves by its own
    conditional UPDATE, so of two callers exactly one ends each hold."""
    ended = []
    current = Reservation.Status.HELD
    held = Reservation.objects.filter(order_id=order_id, status=current)
    for pk, item_id in held.order_by("item_id").values_list("pk", "item_id"):
        try:
            transition_apply(
                model=Reservation,
                pk=pk,
                table=RESERVATION_TRANSITIONS,
                current=Reservation.Status.HELD,
                to=to,
                **fields,
            )
        except TransitionRefused:
            continue  # another caller ended it first
        ended.append(item_id)
    return ended


def refund_transition(refund: Refund, *, to: str, **fields: Any) -> None:
    transition_apply(model=Refund, pk=refund.pk, table=REFUND_TRANSITIONS, current=refund.status, to=to, **fields)
    refund.status = to


def recurring_transition(recurring: RecurringGift, *, to: str, **fields: Any) -> None:
    """Move a monthly gift from the status it was read with to ``to`` (RECURRING_TRANSITIONS)."""
    transition_apply(
        model=RecurringGift, pk=recurring.pk, table=RECURRING_TRANSITIONS, current=recurring.status, to=to, **fields
    )
    recurring.status = to
    for name, value in fields.items():
        setattr(recurring, name, value)
