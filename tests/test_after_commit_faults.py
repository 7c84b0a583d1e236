"""Work after commit (emails, transfers, publishing) may fail — SMTP down, the
provider down — without turning a committed payment into a 500: the payment
stands, the item is sold, and the failure is logged."""

from __future__ import annotations

import logging
import smtplib
from unittest import mock

import pytest
from django.test import Client
from rest_framework.test import APIClient

from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: on_commit work runs as in production


def demo_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_a_sale_paid_while_smtp_is_down_is_not_a_500(
    api: APIClient, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    item = ItemFactory(price_cents=3200)
    body = api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json").json()
    refused = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    with mock.patch("checkout.emails.send_mail", side_effect=refused), caplog.at_level(logging.ERROR):
        response = client.post(demo_path(body["checkout_url"]), {"card_number": "4242 4242 4242 4242"})
    assert response.status_code == 302, response.content
    assert Order.objects.get(pk=body["order_id"]).status == PaymentStatus.PAID
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SOLD
    assert any("Connection unexpectedly closed" in str(record.exc_info) for record in caplog.records)


def test_a_gift_paid_while_the_transfer_and_the_email_fail_is_not_a_500(api: APIClient, client: Client) -> None:
    campaign = CampaignFactory(status="live")
    body = api.post(
        f"/api/campaigns/{campaign.slug}/gifts/",
        {"amount_cents": 2000, "email": "don@example.org", "name": "D"},
        format="json",
    ).json()
    with (
        mock.patch("checkout.emails.send_mail", side_effect=smtplib.SMTPException("down")),
        mock.patch("checkout.services.events.gift_transfer", side_effect=RuntimeError("provider down")),
    ):
        response = client.post(demo_path(body["checkout_url"]), {"card_number": "4242 4242 4242 4242"})
    assert response.status_code == 302, response.content
    assert Gift.objects.get(pk=body["gift_id"]).status == PaymentStatus.PAID
