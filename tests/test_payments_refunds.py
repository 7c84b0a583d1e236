"""Refunds asked by a manager go through the provider; the ledger follows through the provider's event."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Campaign, Membership
from checkout.services import gift_start, order_start
from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus, Refund
from ledger.selectors import campaign_progress
from payments import demo_gateway
from payments.events import event_receive
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def paid_order(price_cents: int = 4000) -> Order:
    item = ItemFactory(price_cents=price_cents)
    order = order_start(item_id=item.pk, email="buyer@example.org")
    event_receive(
        event=demo_gateway.completed_event(
            kind="order",
            object_id=order.pk,
            session_id=order.provider_session_id or "",
            amount_cents=price_cents,
            currency="EUR",
        )
    )
    return Order.objects.get(pk=order.pk)


def paid_gift(campaign: Campaign, amount_cents: int = 3000) -> Gift:
    gift = gift_start(campaign_slug=campaign.slug, amount_cents=amount_cents, email="d@example.org")
    event_receive(
        event=demo_gateway.completed_event(
            kind="gift",
            object_id=gift.pk,
            session_id=gift.provider_session_id or "",
            amount_cents=amount_cents,
            currency="EUR",
        )
    )
    return Gift.objects.get(pk=gift.pk)


def treasurer_of(campaign: Campaign) -> APIClient:
    """Refunds are the treasurers' (and admins') to make (campaigns.permissions)."""
    api = APIClient()
    api.force_authenticate(MembershipFactory(organisation=campaign.organisation, role=Membership.Role.TREASURER).user)
    return api


def test_a_treasurer_refunds_part_then_the_rest_of_a_sale_and_the_ledger_follows() -> None:
    order = paid_order(4000)
    api = treasurer_of(order.lines.get().campaign)

    first = api.post(f"/api/orders/{order.pk}/refund/", {"amount_cents": 1000, "reason": "Rayure"}, format="json")

    assert first.status_code == 201
    assert first.json()["amount_cents"] == 1000 and first.json()["status"] == "sent"
    assert campaign_progress(campaign_id=order.lines.get().campaign_id) == (3000, 1)
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.SOLD

    rest = api.post(f"/api/orders/{order.pk}/refund/", {"reason": "Annulation"}, format="json")

    assert rest.status_code == 201 and rest.json()["amount_cents"] == 3000
    assert campaign_progress(campaign_id=order.lines.get().campaign_id) == (0, 0)
    order.refresh_from_db()
    assert order.status == PaymentStatus.REFUNDED and order.refunded_cents == 4000
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.LISTED
    assert list(Refund.objects.values_list("reason", "amount_cents")) == [("Rayure", 1000), ("Annulation", 3000)]


def test_a_refund_larger_than_what_remains_is_refused() -> None:
    order = paid_order(2000)
    api = treasurer_of(order.lines.get().campaign)
    response = api.post(f"/api/orders/{order.pk}/refund/", {"amount_cents": 2001, "reason": "x"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "refund_too_large"
    assert not Refund.objects.exists()


def test_only_treasurers_and_admins_of_the_organisation_refund(api: APIClient) -> None:
    gift = paid_gift(CampaignFactory())
    assert api.post(f"/api/gifts/{gift.pk}/refund/", {"reason": "x"}, format="json").status_code in {401, 403}

    stranger = APIClient()
    stranger.force_authenticate(MembershipFactory().user)  # manager of another organisation
    response = stranger.post(f"/api/gifts/{gift.pk}/refund/", {"reason": "x"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"

    donor = APIClient()
    donor.force_authenticate(UserFactory())
    assert donor.post(f"/api/gifts/{gift.pk}/refund/", {"reason": "x"}, format="json").status_code == 404
    assert not Refund.objects.exists()


def test_a_treasurer_refunds_a_gift_in_whole(client: Client) -> None:
    campaign = CampaignFactory()
    gift = paid_gift(campaign, 2500)
    response = treasurer_of(campaign).post(f"/api/gifts/{gift.pk}/refund/", {"reason": "Erreur"}, format="json")
    assert response.status_code == 201
    assert campaign_progress(campaign_id=campaign.pk) == (0, 0)
    assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.REFUNDED


def test_an_unpaid_order_cannot_be_refunded(settings: Any) -> None:
    item = ItemFactory()
    order = order_start(item_id=item.pk, email="b@example.org")
    response = treasurer_of(order.lines.get().campaign).post(
        f"/api/orders/{order.pk}/refund/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "not_refundable"


def test_the_admin_shows_money_records_read_only(client: Client) -> None:
    order = paid_order(1200)
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    paths = ("donations/order", "donations/gift", "donations/recurringgift", "donations/counterentry")
    for path in (*paths, "ledger/ledgerentry", "payments/providerevent"):
        assert client.get(f"/admin/{path}/").status_code == 200
    assert client.get("/admin/donations/order/add/").status_code == 403
    page = client.get(f"/admin/donations/order/{order.pk}/change/")
    assert page.status_code == 200  # view only
    # The order's lines and its organisation's part, with its claim code, are shown with it.
    assert order.fulfilments.get().claim_code in page.content.decode()
    assert client.get("/admin/donations/recurringgift/add/").status_code == 403
