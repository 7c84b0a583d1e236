from __future__ import annotations

from django.db import models


class RealtimeEvent(models.Model):
    """One change people watch, written in the same transaction as the change
    (outbox) and published to the channel layer after commit.

    ``id`` orders events; a client resumes a stream with the last id it saw."""

    type = models.CharField(max_length=40)
    at = models.DateTimeField()
    public = models.JSONField(default=dict)
    # Extra fields for managers of the organisation only (names, emails…).
    private = models.JSONField(default=dict, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(fields=["published_at", "id"], name="event_unpublished"),
            models.Index(fields=["at"], name="event_at"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.type}"


class EventStream(models.Model):
    """Membership of an event in a stream, so a stream's history is one index range."""

    event = models.ForeignKey(RealtimeEvent, on_delete=models.CASCADE, related_name="streams")
    stream = models.CharField(max_length=60)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "event"], name="event_once_per_stream")]

    def __str__(self) -> str:
        return f"{self.stream} ← {self.event_id}"
