from __future__ import annotations

from django.db import models


class TrackingEvent(models.Model):
    """Each tracking event a carrier sent us, recorded once (unique per carrier
    and event id) in the same transaction as its effects: a replay changes nothing."""

    carrier = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    tracking_number = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [models.UniqueConstraint(fields=["carrier", "event_id"], name="tracking_event_once")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number} {self.status}"


class Shipment(models.Model):
    """Each parcel registered with a carrier, as the carrier's own books would
    hold it: our reference (unique per carrier, so that a retried label gives
    the same tracking number, as payments.DemoSession does for a checkout) and
    the tracking number the carrier gave. The demo carrier answers its tracking
    calls only for numbers written here; a carrier that is polled (Mondial
    Relay) is asked about each shipment not yet ``final``."""

    carrier = models.CharField(max_length=20)
    reference = models.CharField(max_length=64)
    tracking_number = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    weight_grams = models.PositiveIntegerField()
    # Where the carrier's own label is (a real carrier's URL, read again on a retry); empty for the demo.
    label_url = models.URLField(max_length=500, blank=True)
    # The last status the carrier reported (delivery.carriers.TRACKING_STATUSES), empty before the first one.
    status = models.CharField(max_length=20, blank=True)
    # Delivered or returned: nothing more to ask the carrier.
    final = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(fields=["carrier", "reference"], name="shipment_reference_once"),
            models.UniqueConstraint(fields=["carrier", "tracking_number"], name="shipment_tracking_number_once"),
        ]
        indexes = [models.Index(fields=["carrier", "final", "polled_at"], name="shipment_to_poll")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.reference} {self.tracking_number}"
