"""One subscription per process, shared by every socket of the process.

Channels gives every socket its own channel and group membership, so one sale
watched by 1,000 sockets of a process becomes 1,000 layer messages (the
in-memory layer copies each one and starts a task per socket; both layers wake
one task per socket). Here each event is published once, to one group that
every process's hub joins, with its text for each stream — serialised once by
the publisher — and the hub writes each text to its own sockets watching that
stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from datetime import timedelta
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

# Layers forget a group membership after their group expiry (a day by default):
# a screen that stays open longer must still be subscribed.
REFRESH_SECONDS = 3600
# With the in-memory layer, how often the web process relays the worker's events.
RELAY_SECONDS = 1
# The group every web process's hub joins; messages carry ``texts``: [(stream group, text), ...].
EVENTS_GROUP = "tremma.events"


class Listener(Protocol):
    async def stream_event(self, event_id: int, text: str) -> None: ...


class Hub:
    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.members: dict[str, set[Listener]] = {}
        self.channel: str | None = None
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []

    async def join(self, group: str, listener: Listener) -> None:
        """Forward the events of stream ``group`` to ``listener``; raises if the layer is down."""
        async with self._lock:
            if self.channel is None:
                channel = await self.layer.new_channel("hub.")
                await self.layer.group_add(EVENTS_GROUP, channel)
                self.channel = channel
            self.members.setdefault(group, set()).add(listener)
            if not self._tasks or any(task.done() for task in self._tasks):
                for task in self._tasks:
                    task.cancel()
                loop = asyncio.get_running_loop()
                self._tasks = [loop.create_task(self._forward()), loop.create_task(self._refresh())]
                if isinstance(self.layer, InMemoryChannelLayer):
                    self._tasks.append(loop.create_task(self._relay()))

    def leave(self, group: str, listener: Listener) -> None:
        members = self.members.get(group)
        if members is None:
            return
        members.discard(listener)
        if not members:
            del self.members[group]

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def _forward(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("realtime hub: the channel layer failed, retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            deliveries = [
                listener.stream_event(message["id"], text)
                for group, text in message.get("texts", ())
                for listener in list(self.members.get(group, ()))
            ]
            if not deliveries:
                continue
            # One slow socket must not hold up the others: each write is its own task.
            results = await asyncio.gather(*deliveries, return_exceptions=True)
            for result in results:
                if isinstance(result, Exception):
                    logger.debug("realtime hub: a socket could not be written to: %r", result)

    async def _relay(self) -> None:
        """Embedded defaults only: the in-memory layer lives in this one web process, so what
        the worker's tasks emit (a hold released…) comes through the database: the worker
        leaves its events unpublished (realtime.services) and this process relays them."""
        from realtime.services import events_relay

        while True:
            await asyncio.sleep(RELAY_SECONDS)
            try:
                await sync_to_async(events_relay, thread_sensitive=False)(older_than=timedelta(seconds=1))
            except Exception:
                logger.warning("realtime hub: relaying the worker's events failed, retrying", exc_info=True)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            with contextlib.suppress(Exception):
                await self.layer.group_add(EVENTS_GROUP, self.channel)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """The hub of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    current = _hubs.get(loop)
    if current is None or current.layer is not layer:  # settings changed (tests swap layers)
        if current is not None:
            current.close()
        current = _hubs[loop] = Hub(layer)
    return current
