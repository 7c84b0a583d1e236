from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from realtime.models import RealtimeEvent


def events_after(*, stream: str, after_id: int, limit: int = 500) -> QuerySet[RealtimeEvent]:
    """Events of ``stream`` with an id greater than ``after_id``, oldest first."""
    return RealtimeEvent.objects.filter(streams__stream=stream, pk__gt=after_id).order_by("id")[:limit]


# The table as its migration named it; every live page (an item's, read by a whole crowd) runs it.
_LAST_EVENT_SQL = "SELECT id FROM realtime_realtimeevent ORDER BY id DESC LIMIT 1"


def last_event_id() -> int:
    """The newest event id (0 before any), rendered into live pages so the stream
    resumes right after the page's state, even if no event existed yet. Plain SQL (kernel.sql):
    the ORM took longer to build this one-row read than the database to answer it."""
    with connection.cursor() as cursor:
        cursor.execute(_LAST_EVENT_SQL)
        row = cursor.fetchone()
    return int(row[0]) if row else 0
