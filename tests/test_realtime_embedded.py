"""The embedded defaults (in-memory channel layer, one web process): a worker's
events reach the pages through the database. A real ``qcluster`` leaves what its
tasks emit unpublished (its in-memory layer has no listener), and the web
process's hub relays it to the sockets (realtime/hub.py ``_relay``)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from django.utils import timezone

from checkout.services import order_start, reservations_release_expired
from donations.models import Reservation
from kernel.tasks import task_enqueue
from realtime.events import ITEM_RELEASED
from realtime.models import RealtimeEvent
from tests.factories import ItemFactory
from tests.support.servers import start_worker, stop_worker
from tests.test_realtime import connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def in_memory_layer(settings: Any) -> Any:
    """The demo's layer in this process too, whatever the run's REDIS_URL."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_a_worker_on_the_in_memory_layer_leaves_its_events_and_the_web_process_relays_them(
    in_memory_layer: None, settings: Any, tmp_path: Path
) -> None:
    item = ItemFactory()
    order = order_start(item_id=item.pk, email="passant@example.org")
    Reservation.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))
    settings.TASKS_EAGER = False  # recorded for the worker, as the web process records it
    task_enqueue(reservations_release_expired)

    worker = start_worker(redis=False, log=tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 60
        while Reservation.objects.get(order=order).status != Reservation.Status.RELEASED:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
    finally:
        stop_worker(worker)

    released = RealtimeEvent.objects.get(type=ITEM_RELEASED)
    assert released.published_at is None  # nobody listens to the worker's layer: left for the web process
    # Everything before it (the hold, published by this process) went out: the relay owes only the release.
    assert list(RealtimeEvent.objects.filter(published_at__isnull=True)) == [released]

    async def watch() -> dict[str, Any]:
        # A page watching the item: its socket makes this process's hub start relaying.
        communicator, connected = await connect(f"/ws/items/{item.pk}/")
        assert connected
        try:
            return json.loads(await communicator.receive_from(timeout=10))  # type: ignore[no-any-return]
        finally:
            await communicator.disconnect()

    received = async_to_sync(watch)()

    assert (received["id"], received["type"]) == (str(released.pk), ITEM_RELEASED)
    assert received["data"] == {"item": item.pk, "status": "listed"}
    released.refresh_from_db()
    assert released.published_at is not None
