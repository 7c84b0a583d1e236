from __future__ import annotations

import ast
import json
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from realtime.events import ITEM_RESERVED, ITEM_SOLD
from realtime.models import RealtimeEvent
from realtime.services import event_emit, events_prune, events_relay
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory
from tremma.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)

app = URLRouter(websocket_urlpatterns)


def emit_sale(item: Any, email: str = "acheteur@example.org") -> RealtimeEvent:
    with transaction.atomic():
        return event_emit(
            type=ITEM_SOLD,
            public={"item": item.pk, "status": "sold", "price_cents": 1500},
            private={"order": 1, "email": email, "title": item.title, "campaign_title": item.campaign.title},
            items=[item.pk],
            campaigns=[item.campaign_id],
            organisations=[item.campaign.organisation_id],
        )


def emit_reserved(item: Any) -> RealtimeEvent:
    """item.reserved, as checkout sends it (declared fields: realtime/events.py)."""
    public = {"item": item.pk, "status": "reserved", "until": timezone.now().isoformat()}
    return event_emit(type=ITEM_RESERVED, public=public, private={"title": item.title}, items=[item.pk])


async def connect(path: str, user: Any = None) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(app, path)
    if user is not None:
        communicator.scope["user"] = user
    connected, _code = await communicator.connect()
    return communicator, connected


def test_an_event_is_published_only_after_commit() -> None:
    item = ItemFactory()
    with mock.patch("realtime.services._send_all") as send, transaction.atomic():
        emit_reserved(item)
        assert send.call_count == 0
    assert send.call_count == 1
    assert RealtimeEvent.objects.get().published_at is not None


def test_nothing_is_written_when_the_change_rolls_back() -> None:
    item = ItemFactory()

    def change_that_fails() -> None:
        with transaction.atomic():
            emit_reserved(item)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not RealtimeEvent.objects.exists()


def test_an_event_that_could_not_be_published_is_relayed_later() -> None:
    item = ItemFactory()
    with mock.patch("realtime.services._send_all", side_effect=ConnectionError("redis down")):
        event = emit_sale(item)
    event.refresh_from_db()
    assert event.published_at is None

    RealtimeEvent.objects.filter(pk=event.pk).update(at=timezone.now() - timedelta(seconds=10))
    with mock.patch("realtime.services._send_all") as send:
        assert events_relay() == 1
    assert send.call_count == 1
    event.refresh_from_db()
    assert event.published_at is not None
    assert events_relay() == 0


def test_old_events_are_pruned(settings: Any) -> None:
    settings.REALTIME_EVENT_RETENTION_DAYS = 7
    item = ItemFactory()
    old, recent = emit_sale(item), emit_sale(item)
    RealtimeEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=8))
    assert events_prune() >= 1
    assert list(RealtimeEvent.objects.values_list("pk", flat=True)) == [recent.pk]


async def test_an_item_stream_delivers_public_events_without_personal_data() -> None:
    item = await _create_item()
    communicator, connected = await connect(f"/ws/items/{item.pk}/")
    assert connected
    await _emit_async(item, email="acheteur@example.org")
    message = json.loads(await communicator.receive_from(timeout=3))
    assert message["type"] == "item.sold"
    assert message["data"] == {"item": item.pk, "status": "sold", "price_cents": 1500}
    assert set(message) == {"id", "type", "at", "data"}
    await communicator.disconnect()


async def test_resume_with_since_replays_what_was_missed_then_goes_live_without_duplicates() -> None:
    item = await _create_item()
    first = await _emit_async(item)
    second = await _emit_async(item)
    third = await _emit_async(item)

    communicator, connected = await connect(f"/ws/items/{item.pk}/?since={first.pk}")
    assert connected
    replayed = [json.loads(await communicator.receive_from(timeout=3))["id"] for _ in range(2)]
    assert replayed == [str(second.pk), str(third.pk)]

    fourth = await _emit_async(item)
    assert json.loads(await communicator.receive_from(timeout=3))["id"] == str(fourth.pk)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_malformed_since_is_refused() -> None:
    item = await _create_item()
    _communicator, connected = await connect(f"/ws/items/{item.pk}/?since=abc")
    assert not connected


async def test_an_unknown_item_stream_is_refused() -> None:
    _communicator, connected = await connect("/ws/items/987654/")
    assert not connected


async def test_the_dashboard_is_for_signed_in_managers_and_carries_private_data() -> None:
    from asgiref.sync import sync_to_async

    item = await _create_item()
    membership = await sync_to_async(MembershipFactory)(organisation=item.campaign.organisation)
    outsider = await sync_to_async(MembershipFactory)()

    _anonymous, connected = await connect("/ws/dashboard/")
    assert not connected

    mine, connected = await connect("/ws/dashboard/", user=membership.user)
    assert connected
    other, connected = await connect("/ws/dashboard/", user=outsider.user)
    assert connected

    await _emit_async(item, email="acheteur@example.org")
    message = json.loads(await mine.receive_from(timeout=3))
    assert message["data"]["email"] == "acheteur@example.org"
    assert await other.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await other.disconnect()


async def test_a_campaign_stream_is_found_by_slug() -> None:
    from asgiref.sync import sync_to_async

    campaign = await sync_to_async(CampaignFactory)()
    item = await sync_to_async(ItemFactory)(campaign=campaign)
    communicator, connected = await connect(f"/ws/campaigns/{campaign.slug}/")
    assert connected
    await _emit_async(item)
    assert json.loads(await communicator.receive_from(timeout=3))["type"] == "item.sold"
    await communicator.disconnect()


async def _create_item() -> Any:
    from asgiref.sync import sync_to_async

    return await sync_to_async(ItemFactory)()


async def _emit_async(item: Any, email: str = "acheteur@example.org") -> RealtimeEvent:
    from asgiref.sync import sync_to_async

    return await sync_to_async(emit_sale)(item, email)


def test_every_periodic_job_is_a_schedule_and_runs_once_as_a_worker_runs_it(settings: Any) -> None:
    from django_q.models import Schedule

    from kernel.tasks import RUNNER, schedules_sync, task_run

    Schedule.objects.create(name="an operator's own", func="math.floor", args="(1.5,)", schedule_type="D")
    Schedule.objects.create(name="kernel.old_job", func=RUNNER, schedule_type=Schedule.MINUTES, minutes=3)
    schedules_sync()
    schedules_sync()  # again (every migrate): nothing doubled

    ours = {s.name: s for s in Schedule.objects.filter(func=RUNNER)}
    assert {name: s.minutes for name, s in ours.items()} == dict(settings.PERIODIC_JOBS)
    assert Schedule.objects.filter(name="an operator's own").exists()
    for path, _minutes in settings.PERIODIC_JOBS:
        schedule = ours[path]
        assert schedule.repeats == -1 and schedule.schedule_type == Schedule.MINUTES
        assert ast.literal_eval(schedule.args) == (path, {}, True)
        task_run(path, {}, True)  # each runs once, as a worker runs it (a failure raises here)


def sent_event_ids(send: Any) -> list[int]:
    return [call.args[1] for call in send.call_args_list]


def test_a_later_event_of_a_stream_waits_for_an_earlier_one_that_could_not_be_published() -> None:
    item = ItemFactory()
    other = ItemFactory()
    with mock.patch("realtime.services._send_all", side_effect=ConnectionError("redis down")), transaction.atomic():
        reserved = emit_reserved(item)
    with mock.patch("realtime.services._send_all") as send:
        sold = emit_sale(item)  # Redis is back: but item.reserved has not reached anyone yet
        with transaction.atomic():
            elsewhere = emit_reserved(other)
    assert sent_event_ids(send) == [elsewhere.pk]  # another stream is not held back
    assert not RealtimeEvent.objects.filter(pk__in=[reserved.pk, sold.pk], published_at__isnull=False).exists()

    RealtimeEvent.objects.update(at=timezone.now() - timedelta(seconds=10))
    with mock.patch("realtime.services._send_all") as send:
        assert events_relay() == 2
    assert sent_event_ids(send) == [reserved.pk, sold.pk]


def test_an_event_left_waiting_behind_an_unmarked_one_asks_the_relay_at_once(settings: Any) -> None:
    """In a crowd, two commits on one campaign's streams publish at once: the later one may see
    the earlier one not marked yet, and waits. The relay is then asked for at once (a task the
    worker runs within seconds), not left to the periodic job a minute later."""
    from django_q.models import OrmQ

    from realtime import services

    settings.TASKS_EAGER = False
    item = ItemFactory()
    # The earlier event: committed, its publisher not done yet (nothing marked, nothing asked).
    with mock.patch("realtime.services._publish"):
        earlier = emit_reserved(item)
    with mock.patch.object(services, "_relay_asked_at", -1e9), mock.patch("realtime.services._send_all") as send:
        later = emit_sale(item)
        assert send.call_count == 0  # never before the earlier one
        assert OrmQ.objects.count() == 1  # the relay task, recorded by the waiting publish
        emit_sale(item)  # another one waiting, seconds later: the task already asked covers it
        assert OrmQ.objects.count() == 1
    assert not RealtimeEvent.objects.filter(pk__in=[earlier.pk, later.pk], published_at__isnull=False).exists()


def test_the_relay_stops_a_stream_at_its_first_event_that_fails_again() -> None:
    item = ItemFactory()
    with mock.patch("realtime.services._send_all", side_effect=ConnectionError("redis down")):
        with transaction.atomic():
            reserved = emit_reserved(item)
        sold = emit_sale(item)
    RealtimeEvent.objects.update(at=timezone.now() - timedelta(seconds=10))

    calls: list[int] = []

    def down_for_the_first(layer: Any, event_id: int, messages: Any) -> None:
        calls.append(event_id)
        if event_id == reserved.pk:
            raise ConnectionError("redis down again")

    with mock.patch("realtime.services._send_all", side_effect=down_for_the_first):
        assert events_relay() == 0
    assert calls == [reserved.pk]  # item.sold was not sent ahead of it
    with mock.patch("realtime.services._send_all") as send:
        assert events_relay() == 2
    assert sent_event_ids(send) == [reserved.pk, sold.pk]
