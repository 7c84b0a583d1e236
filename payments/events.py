"""Receiving a payment provider's events, the same for the Stripe webhook and
the demo gateway: each event is recorded once (``ProviderEvent``, unique per
provider and id) and handed, in the same transaction, to the one receiver the
room above registered at start-up (checkout, in its AppConfig.ready). So a
replay changes nothing, and an event whose application fails is not recorded:
the provider delivers it again.

The adapter imports nothing from the rooms above it: the receiver is plugged in,
as a port, here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.tasks import task
from payments.gateways import AFTER_PAYMENT, PaymentEvent
from payments.models import ProviderEvent

logger = logging.getLogger(__name__)

# Applies one event; returns False when it must wait (a refund or dispute before its payment).
Receiver = Callable[[PaymentEvent], bool]
_receiver: list[Receiver] = []


def receiver_set(receiver: Receiver) -> None:
    """Register the one function that applies payment events (checkout's, at start-up)."""
    _receiver[:] = [receiver]


def _apply(event: PaymentEvent) -> bool:
    if not _receiver:
        raise ImproperlyConfigured("no receiver of payment events: is the checkout app installed?")
    return _receiver[0](event)


def event_receive(*, event: PaymentEvent) -> bool:
    """Record ``event`` once and apply it, in one transaction.

    Returns False for an event already recorded (a replay: nothing changes).
    If applying fails, nothing is recorded, so the provider delivers it again."""
    # A replay (a provider delivers again until it hears a 2xx) is answered after one read, without
    # a transaction; two deliveries at once both pass it, and the unique row below keeps one.
    if ProviderEvent.objects.filter(provider=event.provider, event_id=event.id).exists():
        return False
    with transaction.atomic():
        normalised = {name: value for name, value in asdict(event).items() if name != "payload"}
        try:
            with transaction.atomic():
                record = ProviderEvent.objects.create(
                    provider=event.provider,
                    event_id=event.id,
                    type=event.type,
                    payload=event.payload,
                    event=normalised,
                    payment_id=event.payment_id,
                )
        except IntegrityError:
            return False
        if _apply(event):
            ProviderEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now())
    return True


def events_waiting_apply(*, payment_id: str) -> None:
    """Apply, in the order received, the refunds and disputes that arrived before their payment
    (called by the receiver once the payment is applied, in its transaction)."""
    waiting = ProviderEvent.objects.filter(
        payment_id=payment_id, processed_at__isnull=True, type__in=list(AFTER_PAYMENT)
    ).order_by("id")
    for record in waiting:
        if _apply(PaymentEvent(**record.event)):
            ProviderEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now())


@task(timeout=50)
def provider_events_retry(*, older_than_seconds: int = 60, limit: int = 200) -> int:
    """Periodic job: apply the recorded events still waiting (a refund or
    dispute whose payment, or dispute opening, was being processed at the same
    moment). Returns how many were applied."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    waiting = ProviderEvent.objects.filter(
        processed_at__isnull=True, received_at__lte=cutoff, type__in=list(AFTER_PAYMENT)
    )
    applied = 0
    for pk in waiting.order_by("id").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            record = ProviderEvent.objects.select_for_update().get(pk=pk)
            if record.processed_at is None and _apply(PaymentEvent(**record.event)):
                ProviderEvent.objects.filter(pk=pk).update(processed_at=timezone.now())
                applied += 1
    return applied
