"""With REDIS_URL set, any number of ASGI processes serve the streams: a sale
processed by one process reaches a socket held by another."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.components import redis_available, redis_url, require
from tests.factories import ItemFactory
from tests.support.servers import asgi_servers

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_servers() -> Iterator[tuple[str, str]]:
    require("redis", redis_available(), f"no Redis at {redis_url()}")
    with asgi_servers(2) as (first, second):
        yield first, second


def test_a_sale_processed_by_one_process_reaches_a_socket_held_by_another(two_servers: tuple[str, str]) -> None:
    first, second = two_servers
    item = ItemFactory()

    async def scenario() -> dict[str, object]:
        ws_url = second.replace("http://", "ws://") + f"/ws/items/{item.pk}/"
        async with connect(ws_url, origin=second) as socket:  # type: ignore[arg-type]
            await asyncio.sleep(0.3)
            async with httpx.AsyncClient() as client:
                response = await client.post(f"{first}/__bench__/emit?stream=item&ids={item.pk}")
                assert response.status_code == 200
            return json.loads(await asyncio.wait_for(socket.recv(), timeout=10))

    message = asyncio.run(scenario())
    assert message["type"] == "item.sold"
