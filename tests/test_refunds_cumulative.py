"""Partial refunds add up: a payment refunded several times in part shows the
sum refunded and the rest raised, in the ledger, on the order or gift, in
reconcile and in tax receipts, whatever order the provider's ``charge.refunded``
events (each carrying the charge's cumulative ``amount_refunded``) arrive in,
on the demo path and on the Stripe path."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from rest_framework.test import APIClient

from campaigns.models import Membership
from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus, Refund
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress, ledger_differences
from payments.events import event_receive
from payments.gateways import gateway
from receipts.issuing import receipt_issue_for_gift, receipts_issue_due
from receipts.models import TaxReceipt
from receipts.selectors import payment_receiptable_cents
from tests.components import require
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory
from tests.receipts_support import giver, ready_campaign, refund_event
from tests.receipts_support import paid_gift as receipted_gift
from tests.support.payments import complete_session, event, post_event, stripe_call
from tests.test_payments_refunds import paid_gift, paid_order, treasurer_of

pytestmark = pytest.mark.django_db


def refunded_in_ledger(target: Order | Gift) -> int:
    entries = LedgerEntry.objects.filter(reason=LedgerEntry.Reason.REFUND, **_of(target))
    return int(entries.aggregate(total=Sum("amount_cents"))["total"] or 0)


def _of(target: Order | Gift) -> dict[str, Any]:
    return {"order": target} if isinstance(target, Order) else {"gift": target}


def refund(api: APIClient, target: Order | Gift, amount_cents: int | None = None) -> Any:
    kind = "orders" if isinstance(target, Order) else "gifts"
    body: dict[str, Any] = {"reason": "Geste commercial"}
    if amount_cents is not None:
        body["amount_cents"] = amount_cents
    response = api.post(f"/api/{kind}/{target.pk}/refund/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def assert_refunded(target: Order | Gift, refunded: int) -> None:
    """Every place that knows the refunded amount says the same."""
    target.refresh_from_db()
    assert target.refunded_cents == refunded
    assert refunded_in_ledger(target) == refunded
    campaign_id = target.campaign_id if isinstance(target, Gift) else target.lines.get().campaign_id
    raised, _backers = campaign_progress(campaign_id=campaign_id)
    assert raised == target.amount_cents - refunded
    assert list(ledger_differences(with_provider=True)) == []


# --- Demo path: the manager's refunds, one after the other -------------------------------------


def test_a_50_euro_gift_refunded_10_then_20_euros_shows_30_refunded_and_20_raised() -> None:
    campaign = CampaignFactory()
    gift = paid_gift(campaign, 5000)
    api = treasurer_of(campaign)

    refund(api, gift, 1000)
    refund(api, gift, 2000)

    assert_refunded(gift, 3000)
    assert campaign_progress(campaign_id=campaign.pk) == (2000, 1)
    assert gift.status == PaymentStatus.PAID
    assert sum(Refund.objects.filter(gift=gift).values_list("amount_cents", flat=True)) == 3000
    assert payment_receiptable_cents(gift=gift) == 2000


def test_three_partial_refunds_of_the_same_amount_are_three_refunds() -> None:
    order = paid_order(4500)
    api = treasurer_of(order.lines.get().campaign)

    for _n in range(3):
        refund(api, order, 1000)

    assert_refunded(order, 3000)
    assert order.status == PaymentStatus.PAID
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.SOLD
    assert LedgerEntry.objects.filter(order=order, reason=LedgerEntry.Reason.REFUND).count() == 3

    rest = refund(api, order)

    assert rest["amount_cents"] == 1500
    assert_refunded(order, 4500)
    assert order.status == PaymentStatus.REFUNDED
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.LISTED


def test_a_demo_refund_retried_with_the_same_idempotency_key_refunds_once() -> None:
    gift = paid_gift(CampaignFactory(), 3000)

    first = gateway().refund_create(payment_id=gift.provider_payment_id, amount_cents=1000, idempotency_key="k-1")
    again = gateway().refund_create(payment_id=gift.provider_payment_id, amount_cents=1000, idempotency_key="k-1")

    assert first == again
    assert_refunded(gift, 1000)


# --- The provider's events, in any order ------------------------------------------------------


@pytest.mark.parametrize(
    "order_of_delivery",
    [*itertools.permutations([0, 1]), *itertools.permutations([0, 1, 2])],
    ids=lambda order: "-".join(str(n + 1) for n in order),
)
def test_partial_refund_events_in_any_order_give_the_sum_of_the_refunds(order_of_delivery: tuple[int, ...]) -> None:
    gift = paid_gift(CampaignFactory(), 5000)
    # Refunds of 10 €, 20 € and 15 €: each event carries the charge's cumulative amount refunded.
    snapshots = [1000, 3000, 4500][: len(order_of_delivery)]

    for n in (*order_of_delivery, *order_of_delivery):  # and each delivered twice
        event_receive(event=refund_event(gift, snapshots[n]))

    assert_refunded(gift, snapshots[-1])
    assert gift.status == PaymentStatus.PAID


@pytest.mark.parametrize("order_of_delivery", list(itertools.permutations([0, 1, 2])), ids=str)
def test_a_sale_refunded_in_three_parts_in_any_order_goes_back_on_sale_once_refunded_in_whole(
    order_of_delivery: tuple[int, ...],
) -> None:
    order = paid_order(3000)
    snapshots = [1000, 2000, 3000]

    for n in order_of_delivery:
        event_receive(event=refund_event(order, snapshots[n]))

    assert_refunded(order, 3000)
    assert order.status == PaymentStatus.REFUNDED
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.LISTED
    assert campaign_progress(campaign_id=order.lines.get().campaign_id) == (0, 0)


def test_the_receipt_of_a_gift_refunded_in_parts_follows_the_sum_refunded_whatever_the_order() -> None:
    gift = receipted_gift(ready_campaign(), 5000, user=giver())
    first = receipt_issue_for_gift(gift_id=gift.pk)
    assert first is not None and first.amount_cents == 5000

    # Refunds of 10 € then 20 €: the later snapshot (30 € in all) arrives first.
    event_receive(event=refund_event(gift, 3000))
    receipts_issue_due()
    event_receive(event=refund_event(gift, 1000))
    receipts_issue_due()

    issued = TaxReceipt.objects.filter(status=TaxReceipt.Status.ISSUED)
    assert [receipt.amount_cents for receipt in issued] == [2000]
    assert issued.get().replaces_id == first.pk
    cancelled = TaxReceipt.objects.get(pk=first.pk)
    assert cancelled.status == TaxReceipt.Status.CANCELLED and "30,00" in cancelled.cancellation_reason
    assert payment_receiptable_cents(gift=Gift.objects.get(pk=gift.pk)) == 2000


# --- Demo path: two managers refunding at the same moment (PostgreSQL) -------------------------


@pytest.mark.django_db(transaction=True)
def test_two_partial_refunds_sent_at_the_same_moment_add_up() -> None:
    from tests.test_checkout_concurrency import race

    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    for _round in range(3):
        campaign = CampaignFactory()
        gift = paid_gift(campaign, 5000)
        managers = [
            MembershipFactory(organisation=campaign.organisation, role=Membership.Role.TREASURER).user
            for _n in range(2)
        ]

        def send(n: int, gift: Gift = gift, managers: list[Any] = managers) -> Refund:
            from checkout.services import payment_refund

            return payment_refund(actor=managers[n], reason="x", gift_id=gift.pk, amount_cents=(1000, 2000)[n])

        results = race(2, send)

        assert all(isinstance(result, Refund) for result in results), results
        assert_refunded(gift, 3000)


# --- Stripe path: refunds made at the provider, signed charge.refunded webhooks ------------------


def _charge(payment_intent: str) -> dict[str, Any]:
    intent = stripe_call("GET", f"/v1/payment_intents/{payment_intent}")
    latest = intent["latest_charge"]
    return stripe_call("GET", f"/v1/charges/{latest['id'] if isinstance(latest, dict) else latest}")


@pytest.mark.usefixtures("stripe_settings")
def test_three_partial_stripe_refunds_delivered_shuffled_and_twice_add_up(api: APIClient, client: Any) -> None:
    campaign = CampaignFactory()
    response = api.post(
        f"/api/campaigns/{campaign.slug}/gifts/", {"amount_cents": 5000, "email": "don@example.org"}, format="json"
    )
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    post_event(client, complete_session(gift.provider_session_id or ""))
    gift.refresh_from_db()

    snapshots = []
    for n, amount in enumerate((1000, 2000, 1000)):  # two refunds of the same amount among them
        stripe_call("POST", "/v1/refunds", {"payment_intent": gift.provider_payment_id, "amount": amount})
        snapshots.append(event("charge.refunded", _charge(gift.provider_payment_id), id=f"evt_refund_{n}"))
    assert [s["data"]["object"]["amount_refunded"] for s in snapshots] == [1000, 3000, 4000]

    for delivered in (snapshots[2], snapshots[0], snapshots[1], snapshots[0], snapshots[2]):
        assert post_event(client, delivered).status_code == 200

    assert_refunded(gift, 4000)
    assert campaign_progress(campaign_id=campaign.pk) == (1000, 1)


@pytest.mark.usefixtures("stripe_settings")
def test_a_managers_two_partial_refunds_at_stripe_add_up_when_their_webhooks_come_in_reverse(
    api: APIClient, client: Any
) -> None:
    item = ItemFactory(price_cents=5000)
    response = api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json")
    order = Order.objects.get(pk=response.json()["order_id"])
    post_event(client, complete_session(order.provider_session_id or ""))
    order.refresh_from_db()
    manager = treasurer_of(order.lines.get().campaign)

    refund(manager, order, 1000)
    after_first = event("charge.refunded", _charge(order.provider_payment_id), id="evt_refund_a")
    refund(manager, order, 2000)
    after_second = event("charge.refunded", _charge(order.provider_payment_id), id="evt_refund_b")
    post_event(client, after_second)
    post_event(client, after_first)

    assert_refunded(order, 3000)
    assert campaign_progress(campaign_id=item.campaign_id) == (2000, 1)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SOLD
    assert sorted(Refund.objects.filter(order=order).values_list("amount_cents", "status")) == [
        (1000, Refund.Status.SENT),
        (2000, Refund.Status.SENT),
    ]
    out = io.StringIO()
    call_command("reconcile", "--provider", stdout=out)
    assert "agrees" in out.getvalue()
