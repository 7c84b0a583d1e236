from __future__ import annotations

from django.db.models import QuerySet

from realtime.models import RealtimeEvent


def events_after(*, stream: str, after_id: int, limit: int = 500) -> QuerySet[RealtimeEvent]:
    """Events of ``stream`` with an id greater than ``after_id``, oldest first."""
    return RealtimeEvent.objects.filter(streams__stream=stream, pk__gt=after_id).order_by("id")[:limit]


def last_event_id() -> int:
    """The newest event id (0 before any), rendered into live pages so the stream
    resumes right after the page's state, even if no event existed yet."""
    return RealtimeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
