"""Tips on the Stripe path, against the local Stripe-compatible server: one Checkout Session with
the gift and a second line for the tip, the total matched by the webhook, the transfer of the gift
alone, a dispute taking back (and a won one giving back) the tip on the platform's account, and
the reconciliation with Stripe counting the tip."""

from __future__ import annotations

import io
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from donations.models import Gift, PaymentStatus
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress, ledger_differences
from payments import stripe_gateway
from tests.factories import CampaignFactory, OrganisationFactory
from tests.support.payments import complete_session, event, post_event, stripe_call
from tests.test_webhooks_stripe import charge_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]


def give(api: APIClient, slug: str, amount_cents: int, tip_cents: int) -> Gift:
    response = api.post(
        f"/api/campaigns/{slug}/gifts/",
        {"amount_cents": amount_cents, "tip_cents": tip_cents, "email": "don@example.org"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return Gift.objects.get(pk=response.json()["gift_id"])


def tips(gift: Gift) -> list[tuple[str, str, int]]:
    entries = LedgerEntry.objects.filter(gift=gift, account=LedgerEntry.Account.PLATFORM_TIPS).order_by("id")
    return list(entries.values_list("kind", "reason", "amount_cents"))


def test_the_checkout_session_has_the_gift_and_a_second_line_for_the_tip(api: APIClient) -> None:
    real = stripe_gateway.stripe_client()
    sent: list[Any] = []

    def create(params: Any, options: Any) -> Any:
        sent.append(params)
        return real.v1.checkout.sessions.create(params, options)

    campaign = CampaignFactory(title="Épicerie solidaire")
    with mock.patch.object(stripe_gateway, "stripe_client") as client_factory:
        client_factory.return_value.v1.checkout.sessions.create.side_effect = create
        gift = give(api, campaign.slug, 2500, 400)

    [params] = sent
    lines = [
        (line["price_data"]["product_data"]["name"], line["price_data"]["unit_amount"]) for line in params["line_items"]
    ]
    assert lines == [("Don pour « Épicerie solidaire »", 2500), ("Contribution aux frais de Trëmma", 400)]
    session = stripe_call("GET", f"/v1/checkout/sessions/{gift.provider_session_id}")
    assert session["amount_total"] == 2900


def test_a_paid_tipped_gift_credits_the_campaign_with_the_gift_and_transfers_the_gift_alone(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    account = stripe_call("POST", "/v1/accounts", {"type": "express", "country": "FR"})
    campaign = CampaignFactory(organisation=OrganisationFactory(stripe_account_id=account["id"]))
    gift = give(api, campaign.slug, 2200, 300)

    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, complete_session(gift.provider_session_id or ""))

    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID and (gift.amount_cents, gift.tip_cents) == (2200, 300)
    assert charge_of(gift.provider_payment_id)["amount"] == 2500
    assert campaign_progress(campaign_id=campaign.pk) == (2200, 1)
    assert tips(gift) == [("credit", "payment", 300)]
    transfer = stripe_call("GET", f"/v1/transfers/{gift.transfer_id}")
    assert transfer["amount"] == 2200 and transfer["destination"] == account["id"]


def test_a_dispute_takes_the_tip_back_from_the_platform_and_a_won_one_gives_it_back(
    api: APIClient, client: Client
) -> None:
    campaign = CampaignFactory()
    gift = give(api, campaign.slug, 3000, 500)
    post_event(client, complete_session(gift.provider_session_id or ""))
    gift.refresh_from_db()
    dispute = {
        "id": "dp_tip_1",
        "object": "dispute",
        "amount": 3500,
        "currency": "eur",
        "charge": charge_of(gift.provider_payment_id)["id"],
        "payment_intent": gift.provider_payment_id,
        "status": "needs_response",
    }

    post_event(client, event("charge.dispute.created", dispute))
    assert campaign_progress(campaign_id=campaign.pk)[0] == 0
    assert tips(gift) == [("credit", "payment", 500), ("debit", "dispute", 500)]

    post_event(client, event("charge.dispute.closed", {**dispute, "status": "won"}))
    post_event(client, event("charge.dispute.closed", {**dispute, "status": "won"}, id="evt_won_again"))
    assert campaign_progress(campaign_id=campaign.pk)[0] == 3000
    assert tips(gift)[-1] == ("credit", "dispute_won", 500) and len(tips(gift)) == 3
    assert list(ledger_differences()) == []


def test_reconcile_with_stripe_agrees_after_a_tipped_gift_refunded_in_whole(api: APIClient, client: Client) -> None:
    from campaigns.models import Membership
    from tests.factories import MembershipFactory

    campaign = CampaignFactory()
    gift = give(api, campaign.slug, 2000, 300)
    post_event(client, complete_session(gift.provider_session_id or ""))
    gift.refresh_from_db()
    out = io.StringIO()
    call_command("reconcile", "--provider", stdout=out)
    assert "agrees" in out.getvalue()

    treasurer = APIClient()
    treasurer.force_authenticate(
        MembershipFactory(organisation=campaign.organisation, role=Membership.Role.TREASURER).user
    )
    assert treasurer.post(f"/api/gifts/{gift.pk}/refund/", {"reason": "Erreur"}, format="json").status_code == 201
    charge = charge_of(gift.provider_payment_id)
    assert charge["amount_refunded"] == 2300  # the gift and its tip
    post_event(client, event("charge.refunded", charge))

    gift.refresh_from_db()
    assert gift.status == PaymentStatus.REFUNDED and tips(gift)[-1] == ("debit", "refund", 300)
    out = io.StringIO()
    call_command("reconcile", "--provider", stdout=out)
    assert "agrees" in out.getvalue()
