"""Websocket streams of live updates (README, "Live updates across processes"). Consumers authenticate,
subscribe, replay what a client missed, and forward: nothing else. The group
handler never touches the database (it runs once per socket)."""

from __future__ import annotations

from collections import deque
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime import streams as s
from realtime.hub import hub
from realtime.selectors import events_after
from realtime.services import event_messages

REPLAY_LIMIT = 500
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class StreamConsumer(AsyncWebsocketConsumer):
    """Base: subclasses say which streams a connection may watch.

    Live events come from the process's hub (realtime/hub.py), not from a
    channel of the socket's own: no layer alias, so Channels gives the socket
    no channel, queue or reader task."""

    channel_layer_alias = "none (events come through realtime.hub)"
    streams: list[str]

    async def resolve_streams(self) -> list[str] | int:
        """Stream names to subscribe to, or a close code."""
        raise NotImplementedError

    async def connect(self) -> None:
        since = self._since()
        resolved = await self.resolve_streams() if since != -1 else CLOSE_BAD_REQUEST
        if isinstance(resolved, int):
            await self.close(code=resolved)
            return
        self.streams = resolved
        # Ids already sent, so the seam between replay and live sends nothing twice.
        self.recent: deque[int] = deque(maxlen=1024)
        self.recent_ids: set[int] = set()
        # Live events that arrive before the replay is sent wait here, so the client gets them in order.
        self.pending: list[tuple[int, str]] | None = []
        # Subscribed before the client hears it is connected: what happens after that reaches it.
        for name in self.streams:
            await hub().join(s.group_name(name), self)
        await self.accept()
        if since is not None:
            for event_id, text in await self._replay(since):
                await self._send_once(event_id, text)
        while self.pending:  # events that arrive while these are sent join the next round
            batch, self.pending = self.pending, []
            for event_id, text in sorted(batch):
                await self._send_once(event_id, text)
        self.pending = None

    async def disconnect(self, code: int) -> None:
        for name in getattr(self, "streams", []):
            hub().leave(s.group_name(name), self)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Streams are read-only; anything a client sends is ignored."""

    async def stream_event(self, event_id: int, text: str) -> None:
        """Called by the hub for each live event (never touches the database)."""
        if self.pending is not None:
            self.pending.append((event_id, text))
            return
        await self._send_once(event_id, text)

    async def _send_once(self, event_id: int, text: str) -> None:
        if event_id in self.recent_ids:
            return
        if len(self.recent) == self.recent.maxlen:
            self.recent_ids.discard(self.recent[0])
        self.recent.append(event_id)
        self.recent_ids.add(event_id)
        await self.send(text_data=text)

    def _since(self) -> int | None:
        """The ``since`` query parameter: None when absent, -1 when malformed."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        values = query.get("since")
        if not values:
            return None
        try:
            since = int(values[0])
        except ValueError:
            return -1
        return since if since >= 0 else -1

    @database_sync_to_async
    def _replay(self, since: int) -> list[tuple[int, str]]:
        wanted = set(self.streams)
        replay: dict[int, str] = {}
        for name in self.streams:
            for event in events_after(stream=name, after_id=since, limit=REPLAY_LIMIT).prefetch_related("streams"):
                # One text per event: the most private view this connection is entitled to.
                mine = [row.stream for row in event.streams.all() if row.stream in wanted]
                texts = event_messages(event, mine)
                replay[event.pk] = max(texts, key=lambda pair: s.is_private(pair[0].removeprefix("tremma.")))[1]
        return sorted(replay.items())


class ItemStreamConsumer(StreamConsumer):
    async def resolve_streams(self) -> list[str] | int:
        pk = int(self.scope["url_route"]["kwargs"]["pk"])
        return [s.item_stream(pk)] if await _public_item_exists(pk) else CLOSE_NOT_FOUND


class CampaignStreamConsumer(StreamConsumer):
    async def resolve_streams(self) -> list[str] | int:
        pk = await _public_campaign_id(self.scope["url_route"]["kwargs"]["slug"])
        return [s.campaign_stream(pk)] if pk is not None else CLOSE_NOT_FOUND


class WindowStreamConsumer(StreamConsumer):
    async def resolve_streams(self) -> list[str] | int:
        pk = int(self.scope["url_route"]["kwargs"]["pk"])
        return [s.window_stream(pk)] if await _window_exists(pk) else CLOSE_NOT_FOUND


class DashboardConsumer(StreamConsumer):
    """Managers only, and only the streams of their own organisations."""

    async def resolve_streams(self) -> list[str] | int:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHORISED
        organisation_ids = await _managed_organisation_ids(user)
        if not organisation_ids:
            return CLOSE_FORBIDDEN
        return [s.organisation_stream(pk) for pk in organisation_ids]


@database_sync_to_async
def _public_item_exists(pk: int) -> bool:
    from donations.models import PUBLIC_STATUSES, Item

    return Item.objects.filter(pk=pk, status__in=PUBLIC_STATUSES).exists()


@database_sync_to_async
def _public_campaign_id(slug: str) -> int | None:
    from campaigns.selectors import public_campaigns

    return public_campaigns().filter(slug=slug).values_list("id", flat=True).first()


@database_sync_to_async
def _window_exists(pk: int) -> bool:
    from django.apps import apps

    try:
        window_model = apps.get_model("qr", "Window")
    except LookupError:
        return False
    return bool(window_model.objects.filter(pk=pk).exists())


@database_sync_to_async
def _managed_organisation_ids(user: Any) -> list[int]:
    from campaigns.models import Membership

    return sorted(Membership.objects.filter(user=user).values_list("organisation_id", flat=True))
