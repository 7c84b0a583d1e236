"""Receiving a carrier's tracking events, the same for a real carrier's call and
the demo's: each one is recorded once (``TrackingEvent``, unique per carrier and
id) and handed, in the same transaction, to the one receiver the room above
registered at start-up (checkout). A replay changes nothing; an event whose
application fails is not recorded, so the carrier sends it again."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.carriers import TrackingUpdate
from delivery.models import TrackingEvent

# Applies one update; returns False when it applies to nothing we know (recorded, not processed).
Receiver = Callable[[TrackingUpdate], bool]
_receiver: list[Receiver] = []


def receiver_set(receiver: Receiver) -> None:
    """Register the one function that applies tracking updates (checkout's, at start-up)."""
    _receiver[:] = [receiver]


def tracking_receive(*, update: TrackingUpdate) -> bool:
    """Record ``update`` once and apply it, in one transaction. False for a replay."""
    if not _receiver:
        raise ImproperlyConfigured("no receiver of tracking events: is the checkout app installed?")
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = TrackingEvent.objects.create(
                    carrier=update.carrier,
                    event_id=update.event_id,
                    tracking_number=update.tracking_number,
                    status=update.status,
                    payload=update.payload,
                )
        except IntegrityError:
            return False
        if _receiver[0](update):
            TrackingEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now())
    return True
