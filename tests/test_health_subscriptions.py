"""``/healthz`` leaves nothing behind in the channel layer: on Redis pub/sub, each
check's reply channel is unsubscribed once the round trip is over, so a load
balancer calling it every few seconds never grows the server's subscriptions."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from realtime.loop import server_loop_set
from tests.components import redis_available, redis_url, require

pytestmark = pytest.mark.django_db


@pytest.fixture
def server_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One long-lived loop in its own thread, as the web process has: the layer's connection lives in it."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    server_loop_set(loop)
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(timeout=5)
        server_loop_set(asyncio.new_event_loop())  # a loop that never runs: later calls use async_to_sync


def test_fifty_health_checks_leave_no_subscription_on_redis(
    client: Client, settings: Any, server_loop: asyncio.AbstractEventLoop
) -> None:
    require("redis", redis_available(), f"no Redis at {redis_url()}")
    import redis
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [redis_url()]}}
    }
    channel_layers.backends.clear()
    server = redis.Redis.from_url(redis_url())
    try:
        before = len(server.pubsub_channels("*healthz.*"))
        for _ in range(50):
            response = client.get("/healthz")
            assert response.json()["channel_layer"] == "ok"
        after = len(server.pubsub_channels("*healthz.*"))
    finally:
        channel_layers.backends.clear()
        server.close()
    assert after - before == 0
