"""The delivery room's writes and its periodic job: tracking updates applied
(recorded once through delivery.events, the carrier's books kept in step), a
polled carrier asked about each parcel still on its way, and relay points
looked up with a short cache."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from delivery.carriers import DELIVERED, RETURNED, CarrierError, TrackingUpdate, carrier
from delivery.events import tracking_receive
from delivery.models import Shipment
from kernel.tasks import task

logger = logging.getLogger(__name__)

# A picker typing a postal code, or many buyers of one town, ask the carrier once per code in this time.
RELAY_POINTS_CACHE_SECONDS = 600
# A parcel the carrier has said nothing final about after this long is no longer polled (lost, or forgotten).
TRACKING_POLL_DAYS = 60


def relay_points_near(*, postal_code: str, limit: int = 20) -> list[dict[str, Any]]:
    """The relay points nearest ``postal_code`` (a valid French code), as plain dicts, cached briefly.
    CarrierError when the carrier cannot answer (nothing is cached then)."""
    current = carrier()
    key = f"delivery:relay-points:{current.name}:{postal_code}:{limit}"
    cached = cache.get(key)
    if isinstance(cached, list):
        return cached
    points = [point.as_dict() for point in current.relay_points(postal_code=postal_code, limit=limit)]
    cache.set(key, points, RELAY_POINTS_CACHE_SECONDS)
    return points


def tracking_apply(*, update: TrackingUpdate) -> bool:
    """Record ``update`` once and apply it (delivery.events.tracking_receive), and keep the
    carrier's books (``Shipment.status``) in step, in one transaction. False for a replay."""
    with transaction.atomic():
        recorded = tracking_receive(update=update)
        if recorded:
            Shipment.objects.filter(carrier=update.carrier, tracking_number=update.tracking_number).update(
                status=update.status, final=update.status in (DELIVERED, RETURNED)
            )
    return recorded


@task(timeout=240)
def shipments_track(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): ask a carrier that does not push its tracking
    (Mondial Relay) about each parcel still on its way, longest unasked first, and apply what
    changed. Each status is one event per parcel (its id is the parcel's number and status), so a
    status seen on every poll is recorded once. The carrier down: stop, the next run tries again.
    Returns the number of updates applied."""
    current = carrier()
    fetch = getattr(current, "tracking_fetch", None)
    if fetch is None:
        return 0  # the demo's tracking is played (POST /delivery/demo/track/), not polled
    now = timezone.now()
    due = (
        Shipment.objects.filter(
            carrier=current.name, final=False, created_at__gte=now - timedelta(days=TRACKING_POLL_DAYS)
        )
        .order_by(F("polled_at").asc(nulls_first=True), "id")
        .values_list("pk", "tracking_number", "status")[:limit]
    )
    applied = 0
    for pk, tracking_number, status in list(due):
        try:
            update = fetch(tracking_number)
        except CarrierError as error:
            logger.warning("tracking of %s: carrier unavailable (%s); next run", tracking_number, error)
            break
        Shipment.objects.filter(pk=pk).update(polled_at=timezone.now())
        if update is None or update.status == status:
            continue
        try:
            applied += tracking_apply(update=update)
        except Exception:
            # Not recorded (its transaction rolled back): asked again on a later run, after the others.
            logger.exception("tracking of %s: the update could not be applied", tracking_number)
    return applied
