"""Two different "paid" events for one payment (the success page's refetch then
the webhook, or ``checkout.session.completed`` then
``checkout.session.async_payment_succeeded``) count once: the campaign is
credited once, the item stays sold to its buyer, and nothing is refunded.
On the demo path and on the Stripe path (signed webhooks, local Stripe-compatible server)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from checkout.services import gift_start, order_start
from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus, Refund
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from payments import demo_gateway
from payments.events import event_receive
from payments.gateways import PaymentEvent
from realtime.models import RealtimeEvent
from tests.components import require
from tests.factories import CampaignFactory, ItemFactory
from tests.support.payments import complete_session, post_event, stripe_call

pytestmark = pytest.mark.django_db


def completed(target: Order | Gift) -> PaymentEvent:
    return demo_gateway.completed_event(
        kind="order" if isinstance(target, Order) else "gift",
        object_id=target.pk,
        session_id=target.provider_session_id or "",
        amount_cents=target.amount_cents,
        currency=target.currency,
    )


def async_succeeded(first: PaymentEvent) -> PaymentEvent:
    return replace(first, id=f"{first.id}_async", type="payment.succeeded")


def assert_sold_once(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == PaymentStatus.PAID
    assert order.refunded_cents == 0 and order.refund_reason == "" and order.refund_id == ""
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.SOLD
    credits = list(LedgerEntry.objects.filter(order=order).values_list("key", "amount_cents"))
    assert credits == [(f"order:{order.pk}:line:{order.lines.get().pk}:credit", order.amount_cents)]
    assert campaign_progress(campaign_id=order.lines.get().campaign_id) == (order.amount_cents, 1)
    assert RealtimeEvent.objects.filter(type="item.sold", public__item=order.lines.get().item_id).count() == 1
    assert not Refund.objects.filter(order=order).exists()


def assert_credited_once(gift: Gift) -> None:
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID and gift.refunded_cents == 0
    assert LedgerEntry.objects.filter(gift=gift).count() == 1
    assert campaign_progress(campaign_id=gift.campaign_id) == (gift.amount_cents, 1)
    assert RealtimeEvent.objects.filter(type="gift.received").count() == 1


# --- Demo path ---------------------------------------------------------------------------------


def test_a_demo_order_told_paid_then_async_paid_stays_sold_counts_once_and_is_never_refunded(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = order_start(item_id=ItemFactory(price_cents=2400).pk, email="buyer@example.org")
    first = completed(order)

    with django_capture_on_commit_callbacks(execute=True):
        assert event_receive(event=first) is True
        assert event_receive(event=async_succeeded(first)) is True

    assert_sold_once(order)


def test_a_demo_gift_told_paid_then_async_paid_is_credited_once(django_capture_on_commit_callbacks: Any) -> None:
    gift = gift_start(campaign_slug=CampaignFactory().slug, amount_cents=1800, email="d@example.org")
    first = completed(gift)

    with mock.patch("checkout.emails.gift_thanks_send") as thanks, django_capture_on_commit_callbacks(execute=True):
        event_receive(event=first)
        event_receive(event=async_succeeded(first))

    assert_credited_once(gift)
    thanks.assert_called_once_with(gift_id=gift.pk)


def test_a_demo_order_paid_on_the_page_then_told_again_by_another_event_is_not_refunded(client: Client) -> None:
    order = order_start(item_id=ItemFactory(price_cents=1500).pk, email="buyer@example.org")
    token = (order.provider_session_id or "").removeprefix(demo_gateway.SESSION_PREFIX)
    page = reverse("payments:demo-checkout", kwargs={"token": token})

    paid = client.post(page, {"card_number": "4242 4242 4242 4242"})
    again = client.post(page, {"card_number": "4242 4242 4242 4242"})
    event_receive(event=async_succeeded(completed(order)))

    assert paid.status_code == 302 and again.status_code == 400
    assert_sold_once(order)


def test_a_second_paid_event_is_recognised_by_the_status_even_without_a_payment_id() -> None:
    """Should a provider ever name no payment, the second event still changes nothing:
    handling it again would find the item sold to this very buyer and refund them."""
    order = order_start(item_id=ItemFactory(price_cents=2000).pk, email="buyer@example.org")
    first = replace(completed(order), payment_id="")

    event_receive(event=first)
    event_receive(event=async_succeeded(first))

    assert_sold_once(order)


@pytest.mark.django_db(transaction=True)
def test_two_different_paid_events_for_one_order_arriving_together_sell_once_and_refund_nothing() -> None:
    from tests.test_checkout_concurrency import race

    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    for _round in range(3):
        order = order_start(item_id=ItemFactory(price_cents=2200).pk, email="buyer@example.org")
        first = completed(order)
        second = async_succeeded(first)

        results = race(2, lambda n, pair=(first, second): event_receive(event=pair[n]))

        assert results == [True, True]
        assert_sold_once(order)


# --- Stripe path -------------------------------------------------------------------------------


def _charge(payment_intent: str) -> dict[str, Any]:
    intent = stripe_call("GET", f"/v1/payment_intents/{payment_intent}")
    latest = intent["latest_charge"]
    return stripe_call("GET", f"/v1/charges/{latest['id'] if isinstance(latest, dict) else latest}")


@pytest.mark.usefixtures("stripe_settings")
def test_a_stripe_order_completed_then_async_succeeded_is_sold_once_and_never_refunded(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory(price_cents=3100)
    response = api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json")
    order = Order.objects.get(pk=response.json()["order_id"])
    first = complete_session(order.provider_session_id or "")
    second = {**first, "id": first["id"] + "_async", "type": "checkout.session.async_payment_succeeded"}

    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, first).status_code == 200
        assert post_event(client, second).status_code == 200

    assert_sold_once(order)
    assert _charge(order.provider_payment_id)["amount_refunded"] == 0


@pytest.mark.usefixtures("stripe_settings")
def test_a_stripe_gift_refetched_by_the_success_page_then_told_by_both_webhooks_is_credited_once(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from checkout.services.orders import _return_urls

    campaign = CampaignFactory()
    response = api.post(
        f"/api/campaigns/{campaign.slug}/gifts/", {"amount_cents": 2600, "email": "don@example.org"}, format="json"
    )
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    first = complete_session(gift.provider_session_id or "")
    success, _cancel = _return_urls(kind="gift", pk=gift.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(success.removeprefix("http://testserver")).status_code == 200
        assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.PAID  # by the refetch, before any webhook
        post_event(client, first)
        post_event(client, {**first, "id": first["id"] + "_async", "type": "checkout.session.async_payment_succeeded"})

    assert_credited_once(gift)
    assert _charge(gift.provider_payment_id)["amount_refunded"] == 0
