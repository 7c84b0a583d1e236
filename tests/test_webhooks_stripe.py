"""The Stripe path end to end against the local Stripe-compatible server:
Checkout Sessions, signed webhooks, refunds, disputes and Connect transfers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.test import APIClient

from campaigns.models import Membership
from checkout.services import order_start, reservations_release_expired
from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus, Reservation
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from payments.models import ProviderEvent
from realtime.models import RealtimeEvent
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory
from tests.support.payments import WEBHOOK_URL, charge_of, complete_session, event, post_event, sign, stripe_call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


def buy(api: APIClient, item: Item, email: str = "passant@example.org") -> Order:
    response = api.post(f"/api/items/{item.pk}/checkout/", {"email": email}, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["order_id"])


def give(api: APIClient, slug: str, amount_cents: int = 3000) -> Gift:
    response = api.post(
        f"/api/campaigns/{slug}/gifts/", {"amount_cents": amount_cents, "email": "don@example.org"}, format="json"
    )
    assert response.status_code == 201, response.content
    return Gift.objects.get(pk=response.json()["gift_id"])


def test_a_basket_opens_one_stripe_session_with_a_line_per_item_in_the_buyers_language() -> None:
    items = [
        ItemFactory(price_cents=1200, title="Lampe"),
        ItemFactory(price_cents=3000, title="Vélo", campaign=CampaignFactory()),
    ]
    with translation.override("en"):
        order = order_start(item_ids=[item.pk for item in items], email="passer-by@example.org")

    session = stripe_call("GET", f"/v1/checkout/sessions/{order.provider_session_id}")

    # The server adds up the lines it was sent (it keeps no line list to read back).
    assert session["amount_total"] == 4200 and session["locale"] == "en"


def test_checkout_opens_a_stripe_session_naming_our_order_in_french(api: APIClient) -> None:
    item = ItemFactory(price_cents=1800, title="Fauteuil")
    order = buy(api, item)

    session = stripe_call("GET", f"/v1/checkout/sessions/{order.provider_session_id}")

    assert order.provider == "stripe" and order.checkout_url == session["url"]
    assert session["metadata"] == {"tremma_kind": "order", "tremma_id": str(order.pk)}
    assert session["client_reference_id"] == f"order-{order.pk}"
    assert session["amount_total"] == 1800 and session["currency"] == "eur" and session["locale"] == "fr"
    assert session["payment_method_types"] == ["card"] and session["customer_email"] == "passant@example.org"
    assert session["customer_creation"] == "if_required"
    assert int(order.expires_at.timestamp()) == session["expires_at"]


def test_a_signed_completed_session_sells_the_item_and_a_replay_changes_nothing(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory(price_cents=2500)
    order = buy(api, item)
    completed = complete_session(order.provider_session_id or "")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post_event(client, completed).status_code == 200
    assert callbacks  # emails and publishing after commit

    order.refresh_from_db()
    assert order.status == PaymentStatus.PAID and order.provider_payment_id.startswith("pi_")
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SOLD
    assert order.reservations.get().status == Reservation.Status.CONVERTED
    assert campaign_progress(campaign_id=item.campaign_id) == (2500, 1)
    snapshot = (LedgerEntry.objects.count(), RealtimeEvent.objects.count(), ProviderEvent.objects.count())

    payload = json.dumps(completed).encode()
    for _attempt in range(3):
        with CaptureQueriesContext(connection) as replay:
            response = client.post(
                WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
            )
        assert response.status_code == 200
        # One read answers a replay: no transaction, no failed insert.
        assert len(replay.captured_queries) == 1 and "payments_providerevent" in replay.captured_queries[0]["sql"]

    assert (LedgerEntry.objects.count(), RealtimeEvent.objects.count(), ProviderEvent.objects.count()) == snapshot
    assert campaign_progress(campaign_id=item.campaign_id) == (2500, 1)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda payload: {"HTTP_STRIPE_SIGNATURE": sign(payload, secret="whsec_someone_else")}, id="forged"
        ),
        pytest.param(lambda payload: {}, id="unsigned"),
        pytest.param(
            lambda payload: {"HTTP_STRIPE_SIGNATURE": sign(payload, timestamp=int(time.time()) - 3600)}, id="stale"
        ),
        pytest.param(lambda payload: {"HTTP_STRIPE_SIGNATURE": sign(payload.replace(b"2500", b"1"))}, id="altered"),
    ],
)
def test_forged_unsigned_stale_or_altered_webhooks_are_refused_and_write_nothing(
    api: APIClient, client: Client, forge: Any
) -> None:
    order = buy(api, ItemFactory(price_cents=2500))
    payload = json.dumps(complete_session(order.provider_session_id or "")).encode()

    response = client.post(WEBHOOK_URL, data=payload, content_type="application/json", **forge(payload))

    assert response.status_code == 400
    assert not ProviderEvent.objects.exists() and not LedgerEntry.objects.exists()
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PENDING


def test_event_types_we_do_not_handle_are_recorded_and_answered_2xx(client: Client) -> None:
    response = post_event(client, event("customer.created", {"id": "cus_123", "object": "customer"}))
    assert response.status_code == 200
    recorded = ProviderEvent.objects.get()
    # Recorded in our words (payments.gateways.OTHER), the provider's own name kept in its payload.
    assert (recorded.type, recorded.payload["type"]) == ("other", "customer.created")


def test_an_expired_session_releases_the_hold(api: APIClient, client: Client) -> None:
    item = ItemFactory()
    order = buy(api, item)
    session = stripe_call("POST", f"/v1/checkout/sessions/{order.provider_session_id}/expire")

    assert post_event(client, event("checkout.session.expired", session)).status_code == 200

    assert Order.objects.get(pk=order.pk).status == PaymentStatus.EXPIRED
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    assert RealtimeEvent.objects.filter(type="item.released").count() == 1


def test_an_unpaid_completed_session_waits_for_the_async_payment(api: APIClient, client: Client) -> None:
    order = buy(api, ItemFactory())
    completed = complete_session(order.provider_session_id or "")
    session = {**completed["data"]["object"], "payment_status": "unpaid"}

    post_event(client, event("checkout.session.completed", session))
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PENDING

    post_event(client, event("checkout.session.async_payment_succeeded", {**session, "payment_status": "paid"}))
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID


def test_a_payment_for_another_amount_is_not_counted(api: APIClient, client: Client) -> None:
    order = buy(api, ItemFactory(price_cents=2500))
    completed = complete_session(order.provider_session_id or "")
    completed["data"]["object"]["amount_total"] = 100

    assert post_event(client, completed).status_code == 200

    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PENDING
    assert not LedgerEntry.objects.exists()


def test_a_late_payment_for_an_item_sold_to_someone_else_is_refunded_automatically(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory(price_cents=4000)
    late = buy(api, item, email="lent@example.org")
    Reservation.objects.filter(order=late).update(expires_at=late.created_at)
    reservations_release_expired()
    winner = buy(api, item, email="rapide@example.org")
    post_event(client, complete_session(winner.provider_session_id or ""))
    late_completed = complete_session(late.provider_session_id or "")

    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, late_completed).status_code == 200

    late.refresh_from_db()
    assert late.status == PaymentStatus.REFUNDED and late.refund_reason == "item_unavailable"
    assert late.refund_id.startswith("re_")
    assert charge_of(late.provider_payment_id)["amount_refunded"] == 4000
    assert Order.objects.get(pk=winner.pk).status == PaymentStatus.PAID
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SOLD
    assert campaign_progress(campaign_id=item.campaign_id) == (4000, 1)

    # Stripe then reports the refund: nothing was credited for it, so nothing is debited.
    post_event(client, event("charge.refunded", charge_of(late.provider_payment_id)))
    assert campaign_progress(campaign_id=item.campaign_id) == (4000, 1)


def test_partial_then_full_refunds_debit_the_ledger_and_put_the_item_back_on_sale(
    api: APIClient, client: Client
) -> None:
    item = ItemFactory(price_cents=5000)
    order = buy(api, item)
    post_event(client, complete_session(order.provider_session_id or ""))
    order.refresh_from_db()

    stripe_call("POST", "/v1/refunds", {"payment_intent": order.provider_payment_id, "amount": 1500})
    partial = event("charge.refunded", charge_of(order.provider_payment_id), id="evt_refund_1")
    stripe_call("POST", "/v1/refunds", {"payment_intent": order.provider_payment_id, "amount": 3500})
    full = event("charge.refunded", charge_of(order.provider_payment_id), id="evt_refund_2")

    # Out of order and twice: the cumulative amount makes it right.
    for delivered in (full, partial, full, partial):
        assert post_event(client, delivered).status_code == 200

    assert campaign_progress(campaign_id=item.campaign_id) == (0, 0)
    order.refresh_from_db()
    assert order.status == PaymentStatus.REFUNDED and order.refunded_cents == 5000
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    assert sorted(LedgerEntry.objects.values_list("kind", "amount_cents")) == [("credit", 5000), ("debit", 5000)]


def test_a_dispute_debits_when_opened_and_credits_back_when_won(api: APIClient, client: Client) -> None:
    campaign = CampaignFactory()
    gift = give(api, campaign.slug, amount_cents=3000)
    post_event(client, complete_session(gift.provider_session_id or ""))
    gift.refresh_from_db()
    dispute = {
        "id": "dp_test_1",
        "object": "dispute",
        "amount": 3000,
        "currency": "eur",
        "charge": charge_of(gift.provider_payment_id)["id"],
        "payment_intent": gift.provider_payment_id,
        "status": "needs_response",
    }

    post_event(client, event("charge.dispute.created", dispute))
    assert campaign_progress(campaign_id=campaign.pk)[0] == 0
    post_event(client, event("charge.dispute.closed", {**dispute, "status": "won"}))
    post_event(client, event("charge.dispute.closed", {**dispute, "status": "won"}, id="evt_again"))

    assert campaign_progress(campaign_id=campaign.pk)[0] == 3000


def test_a_paid_gift_is_transferred_to_the_organisations_connected_account(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    account = stripe_call("POST", "/v1/accounts", {"type": "express", "country": "FR"})
    campaign = CampaignFactory(organisation=OrganisationFactory(stripe_account_id=account["id"]))
    gift = give(api, campaign.slug, amount_cents=2200)

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, complete_session(gift.provider_session_id or ""))

    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID and gift.transfer_id.startswith("tr_")
    transfer = stripe_call("GET", f"/v1/transfers/{gift.transfer_id}")
    assert transfer["amount"] == 2200 and transfer["destination"] == account["id"]
    assert transfer["transfer_group"] == f"gift-{gift.pk}"


def test_an_organisation_without_a_connected_account_accrues_a_balance(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from ledger.selectors import organisation_balance_cents

    campaign = CampaignFactory()
    gift = give(api, campaign.slug, amount_cents=1200)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, complete_session(gift.provider_session_id or ""))

    assert Gift.objects.get(pk=gift.pk).transfer_id == ""
    assert organisation_balance_cents(organisation_id=campaign.organisation_id) == 1200


def test_the_success_page_refetches_the_session_and_the_later_webhook_counts_nothing_more(
    api: APIClient, client: Client
) -> None:
    from checkout.services.orders import _return_urls

    item = ItemFactory(price_cents=1900)
    order = buy(api, item)
    completed = complete_session(order.provider_session_id or "")
    success, _cancel = _return_urls(kind="order", pk=order.pk)

    page = client.get(success.removeprefix("http://testserver")).content.decode()

    order.refresh_from_db()
    assert order.status == PaymentStatus.PAID and order.fulfilments.get().claim_code in page
    assert post_event(client, completed).status_code == 200
    assert LedgerEntry.objects.count() == 1 and campaign_progress(campaign_id=item.campaign_id) == (1900, 1)
    assert RealtimeEvent.objects.filter(type="item.sold").count() == 1


def test_an_unreachable_stripe_answers_503_and_leaves_the_item_on_sale(api: APIClient, settings: Any) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    item = ItemFactory()

    response = api.post(f"/api/items/{item.pk}/checkout/", {"email": "a@example.org"}, format="json")

    assert response.status_code == 503 and response.json()["code"] == "payment_unavailable"
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    assert Order.objects.get().status == PaymentStatus.FAILED


def test_the_worker_transfers_gifts_once_the_organisation_connects_its_account(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from checkout.services import transfers_pay

    campaign = CampaignFactory()
    gift = give(api, campaign.slug, amount_cents=4100)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, complete_session(gift.provider_session_id or ""))
    assert transfers_pay() == 0

    account = stripe_call("POST", "/v1/accounts", {"type": "express", "country": "FR"})
    campaign.organisation.stripe_account_id = account["id"]
    campaign.organisation.save(update_fields=["stripe_account_id"])
    assert transfers_pay() == 0  # connected, but Stripe has not said it can receive transfers yet
    campaign.organisation.stripe_transfers_active = True
    campaign.organisation.save(update_fields=["stripe_transfers_active"])
    assert transfers_pay() == 1
    assert transfers_pay() == 0

    transfer = stripe_call("GET", f"/v1/transfers/{Gift.objects.get(pk=gift.pk).transfer_id}")
    assert transfer["amount"] == 4100 and transfer["transfer_group"] == f"gift-{gift.pk}"


def test_a_managers_refund_goes_to_stripe_and_the_ledger_follows_its_webhook(api: APIClient, client: Client) -> None:
    from tests.factories import MembershipFactory

    item = ItemFactory(price_cents=3000)
    order = buy(api, item)
    post_event(client, complete_session(order.provider_session_id or ""))
    order.refresh_from_db()
    manager = APIClient()
    manager.force_authenticate(
        MembershipFactory(organisation=item.campaign.organisation, role=Membership.Role.TREASURER).user
    )

    response = manager.post(f"/api/orders/{order.pk}/refund/", {"amount_cents": 1200, "reason": "Abîmé"}, format="json")

    assert response.status_code == 201
    charge = charge_of(order.provider_payment_id)
    assert charge["amount_refunded"] == 1200
    assert campaign_progress(campaign_id=item.campaign_id) == (3000, 1)  # not until Stripe confirms
    post_event(client, event("charge.refunded", charge))
    assert campaign_progress(campaign_id=item.campaign_id) == (1800, 1)


def test_the_idempotency_key_of_a_checkout_comes_from_our_order_row(api: APIClient) -> None:
    from unittest import mock

    from payments import stripe_gateway

    real = stripe_gateway.stripe_client()
    calls: list[Any] = []

    def create(params: Any, options: Any) -> Any:
        calls.append(options)
        return real.v1.checkout.sessions.create(params, options)

    with mock.patch.object(stripe_gateway, "stripe_client") as client_factory:
        client_factory.return_value.v1.checkout.sessions.create.side_effect = create
        order = buy(api, ItemFactory())

    assert calls == [{"idempotency_key": f"tremma-order-{order.pk}-checkout"}]


def test_reconcile_with_stripe_agrees_after_a_sale_and_a_partial_refund(api: APIClient, client: Client) -> None:
    import io

    from django.core.management import call_command

    order = buy(api, ItemFactory(price_cents=2000))
    post_event(client, complete_session(order.provider_session_id or ""))
    order.refresh_from_db()
    stripe_call("POST", "/v1/refunds", {"payment_intent": order.provider_payment_id, "amount": 500})
    post_event(client, event("charge.refunded", charge_of(order.provider_payment_id)))

    out = io.StringIO()
    call_command("reconcile", "--provider", stdout=out)
    assert "agrees" in out.getvalue()
