"""Objects paid and not collected: the buyer is reminded by email after
PICKUP_REMINDER_DAYS and PICKUP_SECOND_REMINDER_DAYS; past PICKUP_DEADLINE_DAYS
the object is deemed never collected, the order is refunded (the refund
service, as a manager's) and the item goes back on sale when the provider
confirms (item.released, checkout.services.events), and the buyer is told.

Every step is one conditional UPDATE of the order's own row (its timestamp
still empty, the order still paid and not handed over) with the task of its
email recorded in the same transaction: two runs of the job at once, or one
run twice, send each email once and ask for one refund. The hand-over refuses
an order the rule has taken (orders.order_hand_over), so an object cannot be
both handed over and refunded as never collected."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from checkout.emails import order_uncollected_send, pickup_reminder_send
from checkout.selectors import pickups_waiting
from checkout.services.payouts import RefundRefused, RefundTooLarge, payment_refund
from donations.models import Order, PaymentStatus, Refund
from kernel.tasks import task, task_enqueue

logger = logging.getLogger(__name__)

# What the refund row says (managers read it); in French, as the organisation's books are.
UNCOLLECTED_REFUND_REASON = "Objet jamais retiré : remboursé et remis en vente (règle des {days} jours)"


def _still_waiting(order_id: int) -> QuerySet[Order]:
    """The order's own row, as long as nothing else happened to it (a conditional UPDATE's filter)."""
    return Order.objects.filter(
        pk=order_id, status=PaymentStatus.PAID, handed_over_at__isnull=True, pickup_expired_at__isnull=True
    )


def _remind(order_id: int, *, again: bool, now: datetime) -> bool:
    field = "pickup_reminded_again_at" if again else "pickup_reminded_at"
    with transaction.atomic():
        claimed = _still_waiting(order_id).filter(**{f"{field}__isnull": True}).update(**{field: now})
        if claimed:
            task_enqueue(pickup_reminder_send, order_id=order_id, again=again)
    return bool(claimed)


def _expire(order_id: int, *, now: datetime) -> bool:
    with transaction.atomic():
        claimed = _still_waiting(order_id).update(pickup_expired_at=now)
        if claimed:
            task_enqueue(order_uncollected_refund, order_id=order_id)
            task_enqueue(order_uncollected_send, order_id=order_id)
    return bool(claimed)


@task(timeout=240)
def pickups_sweep(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): reminders, then the never-collected rule.
    Returns how many orders it moved."""
    now = timezone.now()
    first = now - timedelta(days=settings.PICKUP_REMINDER_DAYS)
    second = now - timedelta(days=settings.PICKUP_SECOND_REMINDER_DAYS)
    deadline = now - timedelta(days=settings.PICKUP_DEADLINE_DAYS)
    waiting = pickups_waiting().order_by("paid_at", "id")
    done = 0
    for order_id in waiting.filter(paid_at__lte=deadline).values_list("pk", flat=True)[:limit]:
        done += _expire(order_id, now=now)
    # Each reminder in its own span of days: after an outage, the buyer gets the one that fits today.
    again = waiting.filter(paid_at__lte=second, paid_at__gt=deadline, pickup_reminded_again_at__isnull=True)
    for order_id in again.values_list("pk", flat=True)[:limit]:
        done += _remind(order_id, again=True, now=now)
    once = waiting.filter(paid_at__lte=first, paid_at__gt=second, pickup_reminded_at__isnull=True)
    for order_id in once.values_list("pk", flat=True)[:limit]:
        done += _remind(order_id, again=False, now=now)
    return done


@task(timeout=120)
def order_uncollected_refund(*, order_id: int) -> None:
    """Refund what remains of an order the never-collected rule took. Safe to run twice: a refund
    already asked for leaves nothing to refund (payment_refund counts every refund not failed)."""
    order = Order.objects.get(pk=order_id)
    if order.status != PaymentStatus.PAID or order.pickup_expired_at is None:
        return
    if Refund.objects.filter(order=order).exclude(status=Refund.Status.FAILED).filter(actor__isnull=True).exists():
        return
    try:
        payment_refund(
            actor=None,
            reason=UNCOLLECTED_REFUND_REASON.format(days=settings.PICKUP_DEADLINE_DAYS),
            order_id=order_id,
        )
    except (RefundTooLarge, RefundRefused):
        # Refunded in full meanwhile (a manager, a dispute): nothing left to give back.
        logger.info("pickups: order %s had nothing left to refund", order_id)
    # A provider failure (PaymentUnavailable) is raised: the task is tried again later.
