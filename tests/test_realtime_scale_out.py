"""With REDIS_URL set, any number of ASGI processes serve the streams: a sale
processed by one process reaches a socket held by another."""

from __future__ import annotations

import asyncio
import json
import re
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
    # debug: static files from the apps (no collectstatic in tests), so pages render
    with asgi_servers(2, debug=True) as (first, second):
        yield first, second


def test_a_purchase_handled_by_one_process_reaches_a_socket_held_by_another(two_servers: tuple[str, str]) -> None:
    first, second = two_servers
    item = ItemFactory()

    async def scenario() -> list[str]:
        ws_url = second.replace("http://", "ws://") + f"/ws/items/{item.pk}/"
        async with connect(ws_url, origin=second) as socket:  # type: ignore[arg-type]
            await asyncio.sleep(0.3)
            async with httpx.AsyncClient(base_url=first) as api:
                order = await api.post(f"/api/items/{item.pk}/checkout/", json={"email": "passant@example.org"})
                assert order.status_code == 201, order.text
            async with httpx.AsyncClient(base_url=first) as phone:  # the buyer pays on the demo page
                pay_url = order.json()["checkout_url"]
                form = await phone.get(pay_url)
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
                assert token is not None
                paid = await phone.post(
                    pay_url, data={"card_number": "4242 4242 4242 4242", "csrfmiddlewaretoken": token.group(1)}
                )
                assert paid.status_code == 302, paid.text
            return [json.loads(await asyncio.wait_for(socket.recv(), timeout=10))["type"] for _ in range(2)]

    assert asyncio.run(scenario()) == ["item.reserved", "item.sold"]
