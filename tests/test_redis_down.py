"""Redis down must never cost a sale: checkouts, gifts, pages and window sheets
keep working (the cache falls back to the process's own, with a log line),
and live events published meanwhile reach clients once Redis is back.

Each test starts its own Redis server on a free port, stops and restarts it:
never the shared one."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.utils import timezone
from rest_framework.test import APIClient

from qr.services import short_code_for
from realtime.hub import EVENTS_GROUP
from realtime.models import RealtimeEvent
from realtime.services import events_relay
from tests.factories import CampaignFactory, ItemFactory, WindowFactory, place_items
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


def test_checkouts_gifts_pages_and_sheets_keep_working_while_redis_is_down(
    own_redis: OwnRedis, api: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    campaign = CampaignFactory(status="live")
    window = WindowFactory()
    (placement,) = place_items(window, 1)
    item = ItemFactory(campaign=campaign)
    own_redis.stop()

    with caplog.at_level(logging.WARNING):
        checkout = api.post(f"/api/items/{item.pk}/checkout/", {"email": "a@example.org"}, format="json")
        gift = api.post(
            f"/api/campaigns/{campaign.slug}/gifts/",
            {"amount_cents": 1500, "email": "b@example.org", "name": "B"},
            format="json",
        )
        item_page = api.get(f"/objets/{placement.item_id}/")
        sheet = api.get(f"/windows/{window.pk}/sheet.pdf")
        scan = api.get(short_code_for(target=placement).path)
        qr_image = api.get(f"{short_code_for(target=placement).path}.svg")

    assert checkout.status_code == 201, checkout.content
    assert checkout.json()["checkout_url"]
    assert gift.status_code == 201, gift.content
    assert item_page.status_code == 200
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    assert scan.status_code == 302
    assert qr_image.status_code == 200
    assert any("Redis unavailable" in record.getMessage() for record in caplog.records)


def test_the_payment_attempt_limit_still_holds_while_redis_is_down(
    own_redis: OwnRedis, api: APIClient, settings: Any
) -> None:
    settings.PAYMENT_ATTEMPTS_PER_EMAIL = 2
    campaign = CampaignFactory(status="live")
    own_redis.stop()
    answers = [
        api.post(
            f"/api/campaigns/{campaign.slug}/gifts/",
            {"amount_cents": 1500, "email": "same@example.org", "name": "B"},
            format="json",
        ).status_code
        for _ in range(3)
    ]
    assert answers == [201, 201, 429]


def test_live_events_published_while_redis_is_down_reach_clients_once_it_is_back(
    own_redis: OwnRedis, api: APIClient
) -> None:
    item = ItemFactory(campaign=CampaignFactory(status="live"))
    own_redis.stop()
    response = api.post(f"/api/items/{item.pk}/checkout/", {"email": "a@example.org"}, format="json")
    assert response.status_code == 201
    event = RealtimeEvent.objects.get(type="item.reserved")
    assert event.published_at is None

    own_redis.start()
    channel_layers.backends.clear()  # a fresh connection, as the worker's next run has

    async def relay_while_listening() -> dict[str, Any]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(EVENTS_GROUP, channel)
        await sync_to_async(_age_and_relay)()
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    message = async_to_sync(relay_while_listening)()
    assert message["id"] == event.pk
    assert RealtimeEvent.objects.get(pk=event.pk).published_at is not None


def _age_and_relay() -> None:
    RealtimeEvent.objects.update(at=timezone.now() - timedelta(seconds=10))
    assert events_relay() == 1
