"""The only code that changes the status of an order, a gift, a hold or a
refund: each move is one the tables of donations.models allow
(PAYMENT_TRANSITIONS, RESERVATION_TRANSITIONS, REFUND_TRANSITIONS), applied as
one conditional UPDATE (kernel.states), as items' moves are."""

from __future__ import annotations

from typing import Any

from donations.models import (
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    RESERVATION_TRANSITIONS,
    Gift,
    Order,
    PaymentStatus,
    Refund,
    Reservation,
)
from kernel.states import TransitionRefused, transition_apply

__all__ = ["TransitionRefused", "payment_transition", "refund_transition", "reservation_transition"]


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


def reservation_transition(*, order_id: int, to: str, **fields: Any) -> bool:
    """End the hold of an order (held → converted or released). False when it
    was already over: ending a hold is idempotent."""
    reservation = Reservation.objects.filter(order_id=order_id).values_list("pk", "status").first()
    if reservation is None:
        return False
    pk, current = reservation
    if current != Reservation.Status.HELD:
        return False
    try:
        transition_apply(model=Reservation, pk=pk, table=RESERVATION_TRANSITIONS, current=current, to=to, **fields)
    except TransitionRefused:
        return False  # another caller ended it first
    return True


def refund_transition(refund: Refund, *, to: str, **fields: Any) -> None:
    transition_apply(model=Refund, pk=refund.pk, table=REFUND_TRANSITIONS, current=refund.status, to=to, **fields)
    refund.status = to
