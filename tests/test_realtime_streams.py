"""The public live streams: who may watch what, the Origin check, one
publication per stream, and no lost sale when the channel layer is down."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from realtime.models import RealtimeEvent
from tests.factories import ItemFactory, WindowFactory, place_items

pytestmark = pytest.mark.django_db(transaction=True)


def application() -> Any:
    from tremma.asgi import application

    return application


async def connect(path: str, origin: str | None = "http://testserver") -> tuple[WebsocketCommunicator, bool]:
    headers = [(b"host", b"testserver")] + ([(b"origin", origin.encode())] if origin else [])
    communicator = WebsocketCommunicator(application(), path, headers=headers)
    connected, _code = await communicator.connect()
    return communicator, connected


async def test_anyone_may_watch_a_window_and_an_unknown_window_is_refused() -> None:
    window = await sync_to_async(WindowFactory)()
    communicator, connected = await connect(f"/ws/windows/{window.pk}/")
    assert connected
    await communicator.disconnect()
    _other, connected = await connect("/ws/windows/987654/")
    assert not connected


async def test_a_foreign_origin_is_refused_on_every_stream() -> None:
    item = await sync_to_async(ItemFactory)()
    _communicator, connected = await connect(f"/ws/items/{item.pk}/", origin="https://evil.example")
    assert not connected
    mine, connected = await connect(f"/ws/items/{item.pk}/")
    assert connected
    await mine.disconnect()


def test_each_event_is_published_once_per_stream(api: Any) -> None:
    window = WindowFactory()
    (placement,) = place_items(window, 1)
    with mock.patch("realtime.services._send_all") as send:
        response = api.post(f"/api/items/{placement.item_id}/checkout/", {"email": "a@example.org"}, format="json")
    assert response.status_code == 201
    (call,) = send.call_args_list
    groups = [group for group, _text in call.args[2]]
    assert sorted(groups) == sorted(set(groups))
    assert {f"tremma.item.{placement.item_id}", f"tremma.window.{window.pk}"} <= set(groups)


def test_with_the_layer_down_a_sale_completes_and_its_event_reaches_a_client_that_resumes(api: Any) -> None:
    item = ItemFactory()
    before = RealtimeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    with mock.patch("realtime.services._send_all", side_effect=ConnectionError("redis is down")):
        order = api.post(f"/api/items/{item.pk}/checkout/", {"email": "a@example.org"}, format="json").json()
        page = Client().post(
            order["checkout_url"].removeprefix("http://testserver"), {"card_number": "4242424242424242"}
        )
    assert page.status_code == 302  # the buyer is sent to the success page: the sale went through
    sold = RealtimeEvent.objects.get(type="item.sold")
    assert sold.published_at is None  # kept for the relay

    async def resume() -> dict[str, Any]:
        communicator, connected = await connect(f"/ws/items/{item.pk}/?since={before}")
        assert connected
        messages = [json.loads(await communicator.receive_from(timeout=3)) for _ in range(2)]
        await communicator.disconnect()
        return {message["type"]: message for message in messages}

    from asgiref.sync import async_to_sync

    received = async_to_sync(resume)()
    assert received["item.sold"]["id"] == str(sold.pk)
    assert "item.reserved" in received


@pytest.mark.parametrize(
    "origin",
    [
        "https://testserver",  # the right host over another scheme
        "http://testserver:8080",  # the right host on another port
        "http://testserver.evil.example",
        "http://evil-testserver",
        "null",
    ],
)
async def test_an_origin_is_ours_only_with_the_same_scheme_host_and_port(origin: str) -> None:
    item = await sync_to_async(ItemFactory)()
    _communicator, connected = await connect(f"/ws/items/{item.pk}/", origin=origin)
    assert not connected
