"""The event outbox: ``event_emit`` records an event inside the caller's
transaction; publishing happens after commit, and a relay re-publishes what
could not be sent (Redis down), so losing Redis never loses an event."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kernel.sql import marks, row_insert, rows_insert, rows_update
from kernel.tasks import in_worker, task, task_enqueue
from realtime import streams as s
from realtime.events import event_check
from realtime.hub import EVENTS_GROUP
from realtime.loop import run_in_server_loop
from realtime.models import EventStream, RealtimeEvent

logger = logging.getLogger(__name__)


def event_emit(
    *,
    type: str,
    public: dict[str, Any],
    private: dict[str, Any] | None = None,
    items: Iterable[int] = (),
    campaigns: Iterable[int] = (),
    windows: Iterable[int] = (),
    organisations: Iterable[int] = (),
) -> RealtimeEvent:
    """Record one event in the current transaction and publish it after commit.

    ``public`` goes to every watcher of the item/campaign/window streams and must
    hold no personal data; managers' organisation streams get ``public`` merged
    with ``private``.

    ``type`` is one of realtime/events.py's constants; the fields and the kinds
    of stream must match its declaration, or this raises (UndeclaredEvent,
    EventFieldsInvalid, EventStreamsInvalid) before anything is written."""
    by_kind = {
        s.ITEM: list(items),
        s.CAMPAIGN: list(campaigns),
        s.WINDOW: list(windows),
        s.ORGANISATION: list(organisations),
    }
    private = private or {}
    event_check(type=type, public=public, private=private, kinds=[kind for kind, pks in by_kind.items() if pks])
    names = [s.stream(kind, pk) for kind, pks in by_kind.items() for pk in pks]
    unique_names = list(dict.fromkeys(names))
    # Plain INSERTs (kernel.sql): every live event of the platform goes through here.
    event = row_insert(RealtimeEvent(type=type, at=timezone.now(), public=public, private=private))
    rows_insert([EventStream(event=event, stream=name) for name in unique_names])
    # What to send is known now: after commit, send it without reading it back.
    transaction.on_commit(lambda: _publish(event, unique_names))
    return event


def event_messages(event: RealtimeEvent, stream_names: Iterable[str]) -> list[tuple[str, str]]:
    """(group, text) pairs for one event: public text for public streams,
    public + private for organisation streams; each text serialised once."""
    at = event.at.isoformat()
    public_text = s.wire(event_id=event.pk, type=event.type, at=at, data=event.public)
    private_text = s.wire(event_id=event.pk, type=event.type, at=at, data={**event.public, **event.private})
    return [(s.group_name(name), private_text if s.is_private(name) else public_text) for name in stream_names]


def event_publish(*, event_ids: list[int]) -> int:
    """Send events to the channel layer in id order; mark those sent. Returns how many were sent.

    A failure (layer down) is logged and leaves the event unpublished for the
    relay; a later event of the same stream then waits for it (``_publish``)."""
    events = (
        RealtimeEvent.objects.filter(pk__in=event_ids, published_at__isnull=True)
        .order_by("id")
        .prefetch_related("streams")
    )
    return sum(_publish(event, [row.stream for row in event.streams.all()]) for event in events)


# Tables as the migrations named them; every publish runs this statement.
_EARLIER_UNPUBLISHED_SQL = """
SELECT 1 FROM realtime_realtimeevent e JOIN realtime_eventstream s ON s.event_id = e.id
WHERE e.published_at IS NULL AND e.id < %s AND s.stream IN ({streams}) LIMIT 1
"""


def _earlier_unpublished(event: RealtimeEvent, stream_names: list[str]) -> bool:
    """Is an event older than ``event`` in one of its streams still unpublished?
    Unpublished events are few (the ``event_unpublished`` index finds them), so
    this stays one short query whatever the length of the streams' history. Plain SQL
    (kernel.sql): after every committed event, the ORM's join cost more to build than to run."""
    if not stream_names:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_EARLIER_UNPUBLISHED_SQL.format(streams=marks(len(stream_names))), [event.pk, *stream_names])
        return cursor.fetchone() is not None


def _publishes_here() -> bool:
    """A worker process with the in-memory layer has nobody listening to its layer:
    it leaves its events to the web process, which relays them (realtime.hub)."""
    return not (in_worker() and isinstance(get_channel_layer(), InMemoryChannelLayer))


def _publish(event: RealtimeEvent, stream_names: list[str]) -> bool:
    if not _publishes_here():
        return False
    if _earlier_unpublished(event, stream_names):
        # An earlier event of one of these streams is still waiting: the layer was down when
        # it was published, or (in a crowd, many commits on one campaign's streams at once)
        # its own publisher has not marked it yet. Sending this one now could deliver it
        # first. The relay sends them all, in order: asked for now (within seconds), not left
        # to the periodic job (up to a minute, and every later event of these streams with it).
        logger.info("realtime: event %s waits for an earlier event of its streams", event.pk)
        _relay_soon()
        return False
    try:
        run_in_server_loop(_send_all, get_channel_layer(), event.pk, event_messages(event, stream_names))
    except Exception:
        logger.warning("realtime: event %s not published, the relay will retry", event.pk, exc_info=True)
        _relay_soon()
        return False
    rows_update(RealtimeEvent, where={"pk": event.pk, "published_at": None}, values={"published_at": timezone.now()})
    return True


async def _send_all(layer: Any, event_id: int, messages: list[tuple[str, str]]) -> None:
    # One message per event to every process's hub (realtime/hub.py), which
    # hands each text to its own sockets watching that stream: one publish
    # whatever the number of streams.
    await layer.group_send(EVENTS_GROUP, {"type": "stream.event", "id": event_id, "texts": messages})


@task(timeout=50)
def events_relay(*, older_than: timedelta = timedelta(seconds=2), limit: int = 500) -> int:
    """Periodic job: publish events committed but never published (the layer was down, the
    process died after commit). Rows are claimed with ``SKIP LOCKED``: two workers relaying at
    once never send one event twice."""
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        waiting = RealtimeEvent.objects.filter(published_at__isnull=True, at__lte=cutoff).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            waiting = waiting.select_for_update(skip_locked=True)
        ids = list(waiting.values_list("id", flat=True)[:limit])
        return event_publish(event_ids=ids) if ids else 0


class EventsUnpublished(Exception):
    """Events still wait for the channel layer: the task is retried."""


@task(timeout=60, backoff=1)
def events_relay_until_sent(*, seconds: float = 45, every: float = 1) -> int:
    """Task recorded by a process whose publish failed: relay every ``every`` seconds until
    nothing waits, for up to ``seconds`` (then it fails and is retried, and the periodic job
    goes on): events reach the pages within seconds of the layer coming back."""
    deadline = time.monotonic() + seconds
    sent = 0
    while True:
        sent += events_relay(older_than=timedelta(seconds=1))
        if not RealtimeEvent.objects.filter(published_at__isnull=True).exists():
            return sent
        if time.monotonic() >= deadline:
            raise EventsUnpublished(f"{sent} sent; some still wait for the channel layer")
        time.sleep(every)


_relay_asked_at = -1e9


def _relay_soon() -> None:
    """A publish failed here: record the relay task (at most once per process every 10 s)."""
    global _relay_asked_at
    now = time.monotonic()
    if settings.TASKS_EAGER or now - _relay_asked_at < 10:
        return
    _relay_asked_at = now
    try:
        task_enqueue(events_relay_until_sent)
    except Exception:
        logger.warning("realtime: could not record the relay task; the periodic job will relay", exc_info=True)


@task(timeout=240)
def events_prune(*, now: Any = None) -> int:
    """Delete events older than the retention period (REALTIME_EVENT_RETENTION_DAYS)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.REALTIME_EVENT_RETENTION_DAYS)
    deleted, _per_model = RealtimeEvent.objects.filter(at__lt=cutoff).delete()
    return deleted
