"""Who may watch an item's live stream: anyone, while the item is public."""

from __future__ import annotations

from channels.db import database_sync_to_async

from donations.models import PUBLIC_STATUSES, Item
from realtime import streams as s
from realtime.consumers import CLOSE_NOT_FOUND, StreamConsumer


class ItemStreamConsumer(StreamConsumer):
    async def resolve_streams(self) -> list[str] | int:
        pk = int(self.scope["url_route"]["kwargs"]["pk"])
        return [s.item_stream(pk)] if await _public_item_exists(pk) else CLOSE_NOT_FOUND


@database_sync_to_async
def _public_item_exists(pk: int) -> bool:
    return Item.objects.filter(pk=pk, status__in=PUBLIC_STATUSES).exists()
