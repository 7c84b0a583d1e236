"""Live totals follow refunds and disputes: the ``campaign.progress`` event
(``raised_cents``, ``goal_cents``) is written with the change that moves the
money and published on commit, after a refund and after a dispute opened, won
or lost; a screen listening to the campaign's stream hears each one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from campaigns.models import Campaign
from donations.models import Gift
from payments.events import event_receive
from payments.gateways import PaymentEvent
from realtime.models import RealtimeEvent
from tests.factories import CampaignFactory
from tests.receipts_support import dispute_event, refund_event
from tests.test_payments_refunds import paid_gift, paid_order
from tremma.routing import websocket_urlpatterns

app = URLRouter(websocket_urlpatterns)


def progress_events() -> list[dict[str, Any]]:
    return [event.public for event in RealtimeEvent.objects.filter(type="campaign.progress").order_by("id")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("steps", "raised_after"),
    [
        pytest.param([("refund", 1000)], [4000], id="partial-refund"),
        pytest.param([("refund", 1000), ("refund", 3000)], [4000, 2000], id="two-partial-refunds"),
        pytest.param([("refund", 5000)], [0], id="whole-refund"),
        pytest.param([("needs_response", 0), ("won", 0)], [0, 5000], id="dispute-won"),
        pytest.param([("needs_response", 0), ("lost", 0)], [0, 0], id="dispute-lost"),
    ],
)
def test_each_refund_and_dispute_step_writes_the_campaigns_progress_with_its_new_total(
    steps: list[tuple[str, int]], raised_after: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    campaign = CampaignFactory(goal_cents=20000)
    gift = paid_gift(campaign, 5000)
    before = len(progress_events())

    for (step, cumulative), raised in zip(steps, raised_after, strict=True):
        event = refund_event(gift, cumulative) if step == "refund" else dispute_event(gift, step)
        with django_capture_on_commit_callbacks() as callbacks:
            event_receive(event=event)
        assert callbacks  # published after commit, not before

        latest = progress_events()[-1]
        assert latest["campaign"] == campaign.slug
        assert (latest["raised_cents"], latest["goal_cents"]) == (raised, 20000)

    assert len(progress_events()) == before + len(steps)


@pytest.mark.django_db
def test_a_refund_event_replayed_or_older_than_the_total_sends_no_progress() -> None:
    gift = paid_gift(CampaignFactory(), 5000)
    event_receive(event=refund_event(gift, 3000))
    count = len(progress_events())

    event_receive(event=refund_event(gift, 3000))  # a replay
    event_receive(event=refund_event(gift, 1000))  # an older snapshot, delivered late

    assert len(progress_events()) == count


@pytest.mark.django_db
def test_a_refunded_sale_sends_the_progress_with_the_item_back_on_sale() -> None:
    order = paid_order(2500)
    event_receive(event=refund_event(order, 2500))

    types = list(RealtimeEvent.objects.order_by("id").values_list("type", flat=True))
    assert types[-2:] == ["item.released", "campaign.progress"]
    assert progress_events()[-1]["raised_cents"] == 0


# --- Listening on the campaign's stream --------------------------------------------------------


def _setup() -> tuple[Campaign, Gift, Gift]:
    campaign = CampaignFactory(goal_cents=10000)
    return campaign, paid_gift(campaign, 5000), paid_gift(campaign, 3000)


async def _next_progress(communicator: WebsocketCommunicator) -> dict[str, Any]:
    while True:
        message = json.loads(await communicator.receive_from(timeout=5))
        if message["type"] == "campaign.progress":
            return dict(message["data"])


@pytest.mark.django_db(transaction=True)
async def test_a_screen_on_the_campaign_stream_hears_the_total_after_a_refund_and_each_dispute_step() -> None:
    campaign, first, second = await sync_to_async(_setup)()
    communicator = WebsocketCommunicator(app, f"/ws/campaigns/{campaign.slug}/")
    connected, _code = await communicator.connect()
    assert connected

    steps: list[tuple[PaymentEvent, int]] = [
        (refund_event(first, 1000), 7000),  # 10 € refunded
        (dispute_event(second, "needs_response"), 4000),  # 30 € disputed: Stripe takes them now
        (dispute_event(second, "won"), 7000),  # and gives them back
        (dispute_event(first, "needs_response"), 3000),  # the 50 € gift's payment disputed
        (dispute_event(first, "lost"), 3000),  # lost: the total stays, and screens are told
    ]
    for event, raised in steps:
        await sync_to_async(event_receive)(event=event)
        progress = await _next_progress(communicator)
        assert (progress["campaign"], progress["raised_cents"], progress["goal_cents"]) == (
            campaign.slug,
            raised,
            10000,
        )

    await communicator.disconnect()
