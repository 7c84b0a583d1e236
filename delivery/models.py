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
