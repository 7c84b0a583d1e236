"""Monthly gifts on the Stripe path, against the local Stripe-compatible server:
Checkout in mode "subscription" with an inline recurring price, the signed
``checkout.session.completed``, ``invoice.paid``, ``invoice.payment_failed`` and
``customer.subscription.deleted`` events (in Stripe's current invoice shape:
``parent.subscription_details``, the PaymentIntent read from the invoice's
payments), and the subscription updated and cancelled through the gateway."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign
from checkout.services import payment_refund
from checkout.services.recurring import recurring_manage_signed
from donations.models import Gift, PaymentStatus, RecurringGift
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from payments.models import ProviderEvent
from receipts.issuing import receipts_issue_consolidated
from tests.factories import MembershipFactory
from tests.receipts_support import ready_campaign, receipts_issue_due
from tests.support.payments import complete_session, event, post_event, stripe_call

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_settings")]

DETAILS = {
    "first_name": "Inès",
    "last_name": "Da Silva",
    "address_line1": "12 avenue des Acacias",
    "postal_code": "31000",
    "city": "Toulouse",
}


def give_monthly(api: APIClient, campaign: Campaign, amount_cents: int = 2500) -> Gift:
    body = {"amount_cents": amount_cents, "email": "ines@example.org", "interval": "month", "receipt": DETAILS}
    response = api.post(f"/api/campaigns/{campaign.slug}/gifts/", body, format="json")
    assert response.status_code == 201, response.content
    return Gift.objects.get(pk=response.json()["gift_id"])


def first_invoice_paid(session_event: dict[str, Any]) -> dict[str, Any]:
    """The ``invoice.paid`` Stripe sends for the subscription's first invoice, built from the server's invoice."""
    invoice = stripe_call("GET", f"/v1/invoices/{session_event['data']['object']['invoice']}")
    return event("invoice.paid", invoice)


def invoice_event(subscription_id: str, **data: str) -> dict[str, Any]:
    """The next month's invoice charged (or ``invoice=…`` retried); ``fail="true"`` declines it."""
    return stripe_call("POST", f"/v1/subscriptions/{subscription_id}/_invoice", data or None)


def post(client: Client, evt: dict[str, Any], capture: Any) -> None:
    with capture(execute=True):
        assert post_event(client, evt).status_code == 200


def started(api: APIClient, client: Client, capture: Any, campaign: Campaign | None = None) -> RecurringGift:
    gift = give_monthly(api, campaign or ready_campaign())
    session_event = complete_session(gift.provider_session_id or "")
    post(client, session_event, capture)
    post(client, first_invoice_paid(session_event), capture)
    return RecurringGift.objects.get(pk=gift.recurring_id)


def test_a_monthly_gift_opens_a_stripe_subscription_checkout_naming_our_monthly_gift(api: APIClient) -> None:
    gift = give_monthly(api, ready_campaign())

    session = stripe_call("GET", f"/v1/checkout/sessions/{gift.provider_session_id}")

    assert session["mode"] == "subscription" and session["amount_total"] == 2500
    assert session["metadata"] == {
        "tremma_kind": "gift",
        "tremma_id": str(gift.pk),
        "tremma_subscription": f"recurring-{gift.recurring_id}",
    }
    assert "customer_creation" not in session or session["customer_creation"] is None


def test_three_stripe_invoices_are_three_gifts_one_yearly_receipt_and_a_replay_counts_once(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    gift = give_monthly(api, campaign)
    session_event = complete_session(gift.provider_session_id or "")
    post(client, session_event, django_capture_on_commit_callbacks)

    recurring = RecurringGift.objects.get(pk=gift.recurring_id)
    subscription_id = session_event["data"]["object"]["subscription"]
    # The session completes the subscription; its money comes with the invoice.
    assert (recurring.status, recurring.provider_subscription_id) == (RecurringGift.Status.ACTIVE, subscription_id)
    assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.PENDING

    first = first_invoice_paid(session_event)
    post(client, first, django_capture_on_commit_callbacks)
    for _month in range(2):
        post(client, invoice_event(subscription_id), django_capture_on_commit_callbacks)

    charges = list(recurring.charges.order_by("pk"))
    assert charges[0].pk == gift.pk  # the first invoice paid the checkout's gift
    assert [(c.status, c.amount_cents) for c in charges] == [(PaymentStatus.PAID, 2500)] * 3
    assert all(c.provider_payment_id.startswith("pi_") and c.provider_invoice_id.startswith("in_") for c in charges)
    assert campaign_progress(campaign_id=campaign.pk)[0] == 7500
    assert sum("/dons/mensuel/" in message.body for message in mail.outbox) == 3

    snapshot = (Gift.objects.count(), LedgerEntry.objects.count(), ProviderEvent.objects.count())
    for _replay in range(2):
        post(client, first, django_capture_on_commit_callbacks)
    post(client, {**first, "id": "evt_same_invoice_again"}, django_capture_on_commit_callbacks)
    assert (Gift.objects.count(), LedgerEntry.objects.count()) == snapshot[:2]
    assert ProviderEvent.objects.count() == snapshot[2] + 1  # recorded, counted nowhere

    assert receipts_issue_due() == 0
    [receipt] = receipts_issue_consolidated(year=timezone.localtime().year)
    assert receipt.amount_cents == 7500
    assert sorted(receipt.lines.values_list("gift_id", flat=True)) == [c.pk for c in charges]


def test_an_invoice_paid_before_the_session_completed_event_still_counts_once(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    gift = give_monthly(api, ready_campaign())
    session_event = complete_session(gift.provider_session_id or "")

    post(client, first_invoice_paid(session_event), django_capture_on_commit_callbacks)
    post(client, session_event, django_capture_on_commit_callbacks)

    recurring = RecurringGift.objects.get(pk=gift.recurring_id)
    assert recurring.status == RecurringGift.Status.ACTIVE
    assert [c.pk for c in recurring.charges.all()] == [gift.pk]
    assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.PAID


def test_a_failed_invoice_is_shown_to_managers_then_its_retry_is_the_months_gift(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    recurring = started(api, client, django_capture_on_commit_callbacks, campaign)
    failed = invoice_event(recurring.provider_subscription_id or "", fail="true")

    post(client, failed, django_capture_on_commit_callbacks)

    recurring.refresh_from_db()
    assert recurring.failing and recurring.failed_charges == 1 and recurring.next_attempt_at is not None
    manager = MembershipFactory(organisation=campaign.organisation).user
    manager_client = Client()
    manager_client.force_login(manager)
    assert "prélèvement échoué" in manager_client.get("/gestion/commandes/").content.decode()

    retried = invoice_event(recurring.provider_subscription_id or "", invoice=failed["data"]["object"]["id"])
    post(client, retried, django_capture_on_commit_callbacks)

    recurring.refresh_from_db()
    assert not recurring.failing and recurring.charges.filter(status=PaymentStatus.PAID).count() == 2
    assert recurring.charges.filter(provider_invoice_id=failed["data"]["object"]["id"]).exists()


def test_the_giver_changes_the_amount_and_stops_through_stripe(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    recurring = started(api, client, django_capture_on_commit_callbacks)
    subscription_id = recurring.provider_subscription_id or ""
    link = f"/dons/mensuel/{recurring_manage_signed(recurring)}/"

    assert client.post(link, {"action": "amount", "amount": "40"}).status_code == 303
    subscription = stripe_call("GET", f"/v1/subscriptions/{subscription_id}")
    assert subscription["items"]["data"][0]["price"]["unit_amount"] == 4000
    post(client, invoice_event(subscription_id), django_capture_on_commit_callbacks)
    assert sorted(recurring.charges.values_list("amount_cents", flat=True)) == [2500, 4000]

    assert client.post(link, {"action": "stop"}).status_code == 303
    cancelled = stripe_call("GET", f"/v1/subscriptions/{subscription_id}")
    assert cancelled["status"] == "canceled"
    recurring.refresh_from_db()
    assert (recurring.status, recurring.stopped_by) == (RecurringGift.Status.STOPPED, "giver")
    # Stripe's own word of it afterwards changes nothing.
    post(client, event("customer.subscription.deleted", cancelled), django_capture_on_commit_callbacks)
    recurring.refresh_from_db()
    assert recurring.stopped_by == "giver"


def test_stripe_ending_the_subscription_after_its_retries_stops_the_monthly_gift(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    recurring = started(api, client, django_capture_on_commit_callbacks)
    subscription = stripe_call("GET", f"/v1/subscriptions/{recurring.provider_subscription_id}")

    post(
        client,
        event("customer.subscription.deleted", {**subscription, "status": "canceled"}),
        django_capture_on_commit_callbacks,
    )

    recurring.refresh_from_db()
    assert (recurring.status, recurring.stopped_by) == (RecurringGift.Status.STOPPED, "provider")


def test_a_months_gift_is_refunded_through_its_payment_intent(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    recurring = started(api, client, django_capture_on_commit_callbacks, campaign)
    gift = recurring.charges.get()
    treasurer = MembershipFactory(organisation=campaign.organisation, role="treasurer").user

    with django_capture_on_commit_callbacks(execute=True):
        refund = payment_refund(gift_id=gift.pk, reason="erreur", actor=treasurer)

    assert refund.provider_refund_id.startswith("re_")
    # Stripe's charge.refunded names no metadata of ours (an invoice's charge): found by its PaymentIntent.
    intent = stripe_call("GET", f"/v1/payment_intents/{gift.provider_payment_id}")
    charge_id = intent["latest_charge"]["id"] if isinstance(intent["latest_charge"], dict) else intent["latest_charge"]
    charge = stripe_call("GET", f"/v1/charges/{charge_id}")
    assert charge["amount_refunded"] == 2500
    post(client, event("charge.refunded", charge), django_capture_on_commit_callbacks)

    gift.refresh_from_db()
    assert gift.status == PaymentStatus.REFUNDED
    assert campaign_progress(campaign_id=campaign.pk)[0] == 0
    assert recurring.charges.count() == 1  # a refund is not a month
