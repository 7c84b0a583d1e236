"""The process's hub (realtime/hub.py): each event is published once, whatever
the number of streams and sockets, and each socket watching one of its streams
gets it exactly once, in order after its replay."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from realtime.hub import EVENTS_GROUP, hub
from tests.factories import ItemFactory
from tests.test_realtime import connect, emit_sale

pytestmark = pytest.mark.django_db(transaction=True)


async def test_one_publish_reaches_every_socket_of_its_streams_once_and_no_other() -> None:
    item, other = await sync_to_async(ItemFactory.create_batch)(2)
    watchers = [(await connect(f"/ws/items/{item.pk}/"))[0] for _ in range(3)]
    campaign_watcher, _ = await connect(f"/ws/campaigns/{item.campaign.slug}/")
    bystander, _ = await connect(f"/ws/items/{other.pk}/")

    layer = get_channel_layer()
    with mock.patch.object(layer, "group_send", wraps=layer.group_send) as group_send:
        event = await sync_to_async(emit_sale)(item)

    # one message to the hubs for the item's and the campaign's (and organisation's) streams together
    assert [call.args[0] for call in group_send.call_args_list] == [EVENTS_GROUP]
    for communicator in [*watchers, campaign_watcher]:
        assert json.loads(await communicator.receive_from(timeout=3))["id"] == str(event.pk)
        assert await communicator.receive_nothing(timeout=0.1)
    assert await bystander.receive_nothing(timeout=0.2)
    for communicator in [*watchers, campaign_watcher, bystander]:
        await communicator.disconnect()


async def test_a_socket_that_leaves_is_forgotten_and_the_others_still_receive() -> None:
    item = await sync_to_async(ItemFactory)()
    leaving, _ = await connect(f"/ws/items/{item.pk}/")
    staying, _ = await connect(f"/ws/items/{item.pk}/")
    group = f"tremma.item.{item.pk}"
    assert len(hub().members[group]) == 2

    await leaving.disconnect()
    assert len(hub().members[group]) == 1
    event = await sync_to_async(emit_sale)(item)
    assert json.loads(await staying.receive_from(timeout=3))["id"] == str(event.pk)

    await staying.disconnect()
    assert group not in hub().members


async def test_live_events_that_arrive_during_the_replay_follow_it_in_order() -> None:
    item = await sync_to_async(ItemFactory)()
    first = await sync_to_async(emit_sale)(item)
    missed = await sync_to_async(emit_sale)(item)

    from realtime import consumers

    replay = consumers.StreamConsumer.__dict__["_replay"]  # the undecorated-for-binding original
    live: list[Any] = []

    async def slow_replay(self: Any, since: int) -> Any:
        # a sale happens while the replay is read from the database
        live.append(await sync_to_async(emit_sale)(item))
        await asyncio.sleep(0.2)
        return await replay(self, since)

    with mock.patch.object(consumers.StreamConsumer, "_replay", slow_replay):
        communicator, connected = await connect(f"/ws/items/{item.pk}/?since={first.pk}")
        assert connected
        received = [json.loads(await communicator.receive_from(timeout=3))["id"] for _ in range(2)]

    assert received == [str(missed.pk), str(live[0].pk)]
    assert await communicator.receive_nothing(timeout=0.3)  # the live one was not sent twice
    await communicator.disconnect()
