"""Objects paid and not collected, per organisation's part of an order (a
fulfilment): the buyer is reminded by email after PICKUP_REMINDER_DAYS and
PICKUP_SECOND_REMINDER_DAYS; past PICKUP_DEADLINE_DAYS that part is deemed
never collected, its lines are refunded (the refund service, as a manager's)
and its items go back on sale when the provider confirms (item.released,
checkout.services.events), and the buyer is told. The order's other parts
are untouched.

Every step is one conditional UPDATE of the fulfilment's own row (its
timestamp still empty, the order still paid and the part not handed over)
with the task of its email recorded in the same transaction: two runs of the
job at once, or one run twice, send each email once and ask for one refund.
The hand-over refuses a part the rule has taken
(orders.fulfilment_hand_over), so an object cannot be both handed over and
refunded as never collected."""

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
from donations.models import Fulfilment, PaymentStatus, Refund
from kernel.tasks import task, task_enqueue

logger = logging.getLogger(__name__)

# What the refund row says (managers read it); in French, as the organisation's books are.
UNCOLLECTED_REFUND_REASON = "Objet jamais retiré : remboursé et remis en vente (règle des {days} jours)"


def _still_waiting(fulfilment_id: int) -> QuerySet[Fulfilment]:
    """The fulfilment's own row, as long as nothing else happened to it (a conditional UPDATE's filter)."""
    return Fulfilment.objects.filter(
        pk=fulfilment_id,
        order__status=PaymentStatus.PAID,
        handed_over_at__isnull=True,
        pickup_expired_at__isnull=True,
    )


def _remind(fulfilment_id: int, *, again: bool, now: datetime) -> bool:
    field = "pickup_reminded_again_at" if again else "pickup_reminded_at"
    with transaction.atomic():
        claimed = _still_waiting(fulfilment_id).filter(**{f"{field}__isnull": True}).update(**{field: now})
        if claimed:
            task_enqueue(pickup_reminder_send, fulfilment_id=fulfilment_id, again=again)
    return bool(claimed)


def _expire(fulfilment_id: int, *, now: datetime) -> bool:
    with transaction.atomic():
        claimed = _still_waiting(fulfilment_id).update(pickup_expired_at=now)
        if claimed:
            task_enqueue(fulfilment_uncollected_refund, fulfilment_id=fulfilment_id)
            task_enqueue(order_uncollected_send, fulfilment_id=fulfilment_id)
    return bool(claimed)


@task(timeout=240)
def pickups_sweep(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): reminders, then the never-collected rule.
    Returns how many fulfilments it moved."""
    now = timezone.now()
    first = now - timedelta(days=settings.PICKUP_REMINDER_DAYS)
    second = now - timedelta(days=settings.PICKUP_SECOND_REMINDER_DAYS)
    deadline = now - timedelta(days=settings.PICKUP_DEADLINE_DAYS)
    waiting = pickups_waiting().order_by("order__paid_at", "id")
    done = 0
    for fulfilment_id in waiting.filter(order__paid_at__lte=deadline).values_list("pk", flat=True)[:limit]:
        done += _expire(fulfilment_id, now=now)
    # Each reminder in its own span of days: after an outage, the buyer gets the one that fits today.
    again = waiting.filter(
        order__paid_at__lte=second, order__paid_at__gt=deadline, pickup_reminded_again_at__isnull=True
    )
    for fulfilment_id in again.values_list("pk", flat=True)[:limit]:
        done += _remind(fulfilment_id, again=True, now=now)
    once = waiting.filter(order__paid_at__lte=first, order__paid_at__gt=second, pickup_reminded_at__isnull=True)
    for fulfilment_id in once.values_list("pk", flat=True)[:limit]:
        done += _remind(fulfilment_id, again=False, now=now)
    return done


@task(timeout=120)
def fulfilment_uncollected_refund(*, fulfilment_id: int) -> None:
    """Refund what remains of each line of a part the never-collected rule took. Safe to run
    twice: a line already refunded by the rule is skipped, and a refund already asked for leaves
    nothing to refund (payment_refund counts every refund not failed)."""
    fulfilment = Fulfilment.objects.select_related("order").get(pk=fulfilment_id)
    if fulfilment.order.status != PaymentStatus.PAID or fulfilment.pickup_expired_at is None:
        return
    by_rule = Refund.objects.exclude(status=Refund.Status.FAILED).filter(actor__isnull=True)
    for line_id in fulfilment.lines.exclude(refunds__in=by_rule).order_by("pk").values_list("pk", flat=True):
        try:
            payment_refund(
                actor=None,
                reason=UNCOLLECTED_REFUND_REASON.format(days=settings.PICKUP_DEADLINE_DAYS),
                order_id=fulfilment.order_id,
                line_id=line_id,
            )
        except (RefundTooLarge, RefundRefused):
            # Refunded in full meanwhile (a manager, a dispute): nothing left to give back.
            logger.info("pickups: line %s of fulfilment %s had nothing left to refund", line_id, fulfilment_id)
        # A provider failure (PaymentUnavailable) is raised: the task is tried again later.
