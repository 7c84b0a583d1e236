"""``GET /healthz``: is this process able to serve? 200 when the database and
the channel layer answer, 503 (with which one failed) otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, JsonResponse

from realtime.loop import run_in_server_loop

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health: database check failed")
        return False


async def _layer_round_trip(timeout: float) -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    channel = await layer.new_channel("healthz.")
    token = uuid.uuid4().hex
    try:
        await asyncio.wait_for(layer.send(channel, {"type": "health.ping", "token": token}), timeout)
    except BaseException:
        await _channel_forget(layer, channel)
        raise
    # A receive that times out is cancelled, and the layer drops the channel itself.
    message = await asyncio.wait_for(layer.receive(channel), timeout)
    await _channel_forget(layer, channel)
    return bool(message.get("token") == token)


async def _channel_forget(layer: Any, channel: str) -> None:
    """Let the layer drop ``channel``. Channels has no "delete channel" call: a
    consumer's channel is dropped when its ``receive`` is cancelled (Redis pub/sub
    then unsubscribes it, the in-memory layer forgets its queue). Without this,
    every check left one subscription on the web process's Redis connection."""
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)  # let the receive start waiting, so that cancelling it runs the layer's clean-up
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await waiting


def _channel_layer_ok(timeout: float = 2.0) -> bool:
    try:
        return run_in_server_loop(_layer_round_trip, timeout, timeout=timeout + 1)
    except Exception:
        logger.exception("health: channel layer check failed")
        return False


def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_ok(), "channel_layer": _channel_layer_ok()}
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "unavailable",
        **{name: ("ok" if ok else "down") for name, ok in checks.items()},
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
