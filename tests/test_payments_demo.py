"""The demo gateway: our own checkout page, driving the same event processing as Stripe."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus
from ledger.models import LedgerEntry
from payments.models import DemoSession, ProviderEvent
from realtime.models import RealtimeEvent
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.removeprefix("http://testserver")


def raised(api: APIClient, slug: str) -> tuple[int, int]:
    data = api.get(f"/api/campaigns/{slug}/").json()
    return data["raised_cents"], data["backers_count"]


def start_order(api: APIClient, item: Item) -> dict[str, Any]:
    response = api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json")
    assert response.status_code == 201
    return dict(response.json())


def test_the_demo_page_is_labelled_as_a_demo_in_french_with_one_card_field(api: APIClient, client: Client) -> None:
    body = start_order(api, ItemFactory(title="Lampe en laiton"))

    page = client.get(path_of(body["checkout_url"]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Démo — aucun paiement réel" in html and "Lampe en laiton" in html
    assert html.count('name="card_number"') == 1 and html.count('<form method="post"') == 1


def test_paying_with_the_test_card_sells_the_item_and_counts_once(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory(price_cents=3200)
    body = start_order(api, item)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path_of(body["checkout_url"]), {"card_number": "4242 4242 4242 4242"})

    assert response.status_code == 302 and response["Location"].startswith("/paiement/merci/?ref=")
    order = Order.objects.get(pk=body["order_id"])
    assert order.status == PaymentStatus.PAID and order.paid_at is not None
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SOLD
    assert raised(api, item.campaign.slug) == (3200, 1)
    (entry,) = LedgerEntry.objects.all()
    assert (entry.kind, entry.amount_cents, entry.order_id) == ("credit", 3200, order.pk)
    assert ProviderEvent.objects.get().type == "payment.succeeded"
    types = list(RealtimeEvent.objects.values_list("type", flat=True))
    assert types == ["item.reserved", "item.sold", "campaign.progress"]
    assert RealtimeEvent.objects.get(type="campaign.progress").public["raised_cents"] == 3200
    receipt, seller = mail.outbox
    assert receipt.to == ["passant@example.org"] and order.fulfilments.get().claim_code in receipt.body
    assert seller.to == [item.owner.email] and "a été vendu" in seller.subject
    assert "n'ouvre pas droit à un reçu fiscal" in receipt.body
    assert "Pour retirer cet objet, présentez ce code" in receipt.body  # one object: singular
    # The withdrawal right reaches the buyer on a durable medium (Code de la consommation L221-13).
    assert "http://testserver/conditions/#retractation" in receipt.body

    # The success page shows the claim code; paying again on the page changes nothing.
    assert order.fulfilments.get().claim_code in client.get(response["Location"]).content.decode()
    again = client.post(path_of(body["checkout_url"]), {"card_number": "4242424242424242"})
    assert again.status_code == 400
    assert LedgerEntry.objects.count() == 1 and len(mail.outbox) == 2


def test_the_declined_test_card_changes_nothing(api: APIClient, client: Client) -> None:
    item = ItemFactory()
    body = start_order(api, item)

    response = client.post(path_of(body["checkout_url"]), {"card_number": "4000 0000 0000 0002"})

    assert response.status_code == 400 and "refusée" in response.content.decode()
    assert Order.objects.get(pk=body["order_id"]).status == PaymentStatus.PENDING
    assert Item.objects.get(pk=item.pk).status == ItemStatus.RESERVED
    assert not LedgerEntry.objects.exists() and not ProviderEvent.objects.exists()


def test_a_gift_paid_on_the_demo_page_raises_the_campaign_and_thanks_the_giver(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = CampaignFactory()
    response = api.post(
        f"/api/campaigns/{campaign.slug}/gifts/",
        {"amount_cents": 5000, "email": "ines@example.org", "name": "Inès", "anonymous": False, "message": "Bravo"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert raised(api, campaign.slug) == (0, 0)  # counts only once paid

    with django_capture_on_commit_callbacks(execute=True):
        client.post(path_of(body["checkout_url"]), {"card_number": "4242424242424242"})

    assert Gift.objects.get(pk=body["gift_id"]).status == PaymentStatus.PAID
    assert raised(api, campaign.slug) == (5000, 1)
    received = RealtimeEvent.objects.get(type="gift.received")
    assert received.public == {"campaign": campaign.slug, "amount_cents": 5000, "name": "Inès"}
    # The managers' French feed says "don d'Inès": the server puts the "de" (kernel.words.de_name).
    assert received.private["de_name"] == "d'Inès"
    assert "email" not in received.public
    (thanks,) = mail.outbox
    assert thanks.to == ["ines@example.org"] and "50,00" in thanks.body


def test_the_success_page_says_processing_until_the_payment_is_confirmed(api: APIClient, client: Client) -> None:
    body = start_order(api, ItemFactory())
    order = Order.objects.get(pk=body["order_id"])
    from checkout.services.orders import _return_urls

    success, cancel = _return_urls(kind="order", pk=order.pk)
    page = client.get(path_of(success)).content.decode()
    assert "Paiement en cours de confirmation" in page and order.fulfilments.get().claim_code not in page
    assert "Paiement annulé" in client.get(path_of(cancel)).content.decode()
    assert client.get("/paiement/merci/?ref=forged").status_code == 404


def test_the_stripe_webhook_does_not_exist_with_the_demo_gateway(client: Client) -> None:
    assert client.post("/payments/stripe/webhook/", data=b"{}", content_type="application/json").status_code == 404


def test_emails_are_written_in_the_language_the_buyer_used(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory(price_cents=1000, owner=None)
    response = api.post(
        f"/api/items/{item.pk}/checkout/", {"email": "visitor@example.org"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert Order.objects.get().language == "en"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(path_of(response.json()["checkout_url"]), {"card_number": "4242424242424242"})

    (receipt,) = mail.outbox  # no seller to tell: the item has no owner
    assert "€10.00" in receipt.body


def test_an_expired_demo_checkout_releases_the_item_like_stripes_expired_event(api: APIClient, client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    item = ItemFactory()
    body = start_order(api, item)
    # The hold and its checkout session end at the same instant (the provider was given our expiry).
    Order.objects.filter(pk=body["order_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    DemoSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    page = client.get(path_of(body["checkout_url"])).content.decode()

    assert "Le délai de paiement est dépassé" in page and 'name="card_number"' not in page
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    assert Order.objects.get(pk=body["order_id"]).status == PaymentStatus.EXPIRED
    assert ProviderEvent.objects.get().type == "checkout.expired"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_transaction", [False, True])
def test_a_retried_checkout_gets_the_same_demo_session_and_one_row(in_transaction: bool) -> None:
    """As at Stripe, a retry with the same idempotency key gets the same session: outside a
    transaction (where checkouts call it) the duplicate key is read back; inside one, the caller's
    transaction stays usable."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from payments.demo_gateway import DemoGateway
    from payments.gateways import CheckoutRequest

    request = CheckoutRequest(
        kind="order",
        object_id=7,
        amount_cents=4500,
        currency="EUR",
        description="Vélo",
        email="passant@example.org",
        success_url="http://testserver/merci/",
        cancel_url="http://testserver/annule/",
        expires_at=timezone.now().replace(microsecond=0) + timedelta(minutes=30),
        idempotency_key="tremma-order-7-checkout",
    )
    with transaction.atomic() if in_transaction else contextlib.nullcontext():
        first = DemoGateway().checkout_create(request)
        again = DemoGateway().checkout_create(
            replace(request, amount_cents=1, expires_at=request.expires_at + timedelta(days=1))
        )
        assert DemoSession.objects.count() == 1  # the transaction is still usable
    assert again == first and first.expires_at == request.expires_at
    assert DemoSession.objects.get().amount_cents == 4500
