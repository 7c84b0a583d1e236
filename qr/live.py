"""Who may watch a window's live stream (its screen in the shop): anyone, while the window exists."""

from __future__ import annotations

from channels.db import database_sync_to_async

from qr.models import Window
from realtime import streams as s
from realtime.consumers import CLOSE_NOT_FOUND, StreamConsumer


class WindowStreamConsumer(StreamConsumer):
    async def resolve_streams(self) -> list[str] | int:
        pk = int(self.scope["url_route"]["kwargs"]["pk"])
        return [s.window_stream(pk)] if await _window_exists(pk) else CLOSE_NOT_FOUND


@database_sync_to_async
def _window_exists(pk: int) -> bool:
    return Window.objects.filter(pk=pk).exists()
