"""The Stripe path of transfers, reversals and fees, against the local
Stripe-compatible server, with signed webhooks."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Campaign
from checkout.services import transfer_reversals_pay
from donations.models import Gift
from ledger.models import PaymentFee, Transfer, TransferReversal
from tests.factories import CampaignFactory, OrganisationFactory
from tests.support.payments import complete_session, event, post_event, stripe_call
from tests.test_webhooks_stripe import charge_of, give

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


def connected_campaign() -> Campaign:
    account = stripe_call("POST", "/v1/accounts", {"type": "express", "country": "FR"})
    return CampaignFactory(organisation=OrganisationFactory(stripe_account_id=account["id"]))


def paid_and_transferred(api: APIClient, client: Client, capture: Any, amount_cents: int) -> Gift:
    gift = give(api, connected_campaign().slug, amount_cents=amount_cents)
    with capture(execute=True):
        assert post_event(client, complete_session(gift.provider_session_id or "")).status_code == 200
    gift.refresh_from_db()
    assert gift.transfer_id.startswith("tr_")
    return gift


def test_a_paid_gift_records_its_stripe_transfer_and_the_fee_of_its_balance_transaction(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    gift = paid_and_transferred(api, client, django_capture_on_commit_callbacks, 3000)

    transfer = Transfer.objects.get()
    assert (transfer.provider, transfer.provider_transfer_id, transfer.amount_cents) == (
        "stripe",
        gift.transfer_id,
        3000,
    )
    balance_id = charge_of(gift.provider_payment_id)["balance_transaction"]
    balance = stripe_call("GET", f"/v1/balance_transactions/{balance_id}")
    fee = PaymentFee.objects.get()
    assert (fee.gift_id, fee.provider_balance_id, fee.amount_cents) == (gift.pk, balance_id, balance["fee"])
    assert fee.amount_cents == 70  # 1.5 % of 30 € plus 25 cents, as the local server charges


def test_a_refund_after_the_transfer_reverses_it_at_stripe_once_even_when_the_webhook_is_replayed(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    gift = paid_and_transferred(api, client, django_capture_on_commit_callbacks, 5000)
    stripe_call("POST", "/v1/refunds", {"payment_intent": gift.provider_payment_id, "amount": 1500})
    refunded = event("charge.refunded", charge_of(gift.provider_payment_id), id="evt_refund_1500")

    with django_capture_on_commit_callbacks(execute=True):
        for _delivery in range(3):
            assert post_event(client, refunded).status_code == 200
    assert transfer_reversals_pay() == 0

    reversal = TransferReversal.objects.get()
    assert reversal.amount_cents == 1500 and reversal.provider_reversal_id.startswith("trr_")
    at_stripe = stripe_call("GET", f"/v1/transfers/{gift.transfer_id}/reversals")["data"]
    assert [(r["id"], r["amount"]) for r in at_stripe] == [(reversal.provider_reversal_id, 1500)]
    assert stripe_call("GET", f"/v1/transfers/{gift.transfer_id}")["amount_reversed"] == 1500


def test_a_lost_dispute_after_the_transfer_reverses_all_of_it_at_stripe(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    gift = paid_and_transferred(api, client, django_capture_on_commit_callbacks, 2400)
    dispute = {
        "id": "dp_test_lost",
        "object": "dispute",
        "amount": 2400,
        "currency": "eur",
        "charge": charge_of(gift.provider_payment_id)["id"],
        "payment_intent": gift.provider_payment_id,
        "status": "needs_response",
    }

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event("charge.dispute.created", dispute))
    assert not TransferReversal.objects.exists()  # not while the dispute is open
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, event("charge.dispute.closed", {**dispute, "status": "lost"}))

    assert list(TransferReversal.objects.values_list("amount_cents", flat=True)) == [2400]
    transfer = stripe_call("GET", f"/v1/transfers/{gift.transfer_id}")
    assert transfer["amount_reversed"] == 2400 and transfer["reversed"] is True


def test_the_reversals_idempotency_key_comes_from_our_transfer_row(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from unittest import mock

    from payments import stripe_gateway

    gift = paid_and_transferred(api, client, django_capture_on_commit_callbacks, 1000)
    stripe_call("POST", "/v1/refunds", {"payment_intent": gift.provider_payment_id, "amount": 400})
    real = stripe_gateway.stripe_client()
    calls: list[Any] = []

    def create(transfer_id: str, params: Any, options: Any) -> Any:
        calls.append((transfer_id, params, options))
        return real.v1.transfers.reversals.create(transfer_id, params, options)

    with mock.patch.object(stripe_gateway, "stripe_client") as client_factory:
        client_factory.return_value.v1.transfers.reversals.create.side_effect = create
        with django_capture_on_commit_callbacks(execute=True):
            post_event(client, event("charge.refunded", charge_of(gift.provider_payment_id)))

    transfer = Transfer.objects.get()
    key = f"tremma-transfer-{transfer.pk}-reversed-400"
    assert calls == [(gift.transfer_id, {"amount": 400}, {"idempotency_key": key})]
    # The same key again (a crash before our row was written): Stripe answers with the same reversal.
    again = real.v1.transfers.reversals.create(gift.transfer_id, {"amount": 400}, {"idempotency_key": key})
    assert again.id == TransferReversal.objects.get().provider_reversal_id
