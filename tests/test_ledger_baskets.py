"""The money books read a basket line by line: each campaign is credited its own
items, a basket is one backer of each campaign it credits, an organisation is
owed its part until that part is transferred, the reconciliation checks every
line, and the managers' live feed names each item sold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, Membership
from checkout.services import fulfilment_hand_over, order_start, payment_refund
from donations.models import Fulfilment, Item, Order, OrderLine
from ledger.models import LedgerEntry
from ledger.selectors import (
    campaign_progress,
    campaign_public_queryset,
    dashboard_feed,
    ledger_differences,
    organisation_balance_cents,
)
from payments import demo_gateway
from payments.events import event_receive
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def paid_basket(*items: Item) -> Order:
    order = order_start(item_ids=[item.pk for item in items], email="buyer@example.org")
    event_receive(
        event=demo_gateway.completed_event(
            kind="order",
            object_id=order.pk,
            session_id=order.provider_session_id or "",
            amount_cents=order.amount_cents,
            currency="EUR",
        )
    )
    return Order.objects.get(pk=order.pk)


def refund_line(line: OrderLine, amount_cents: int | None = None) -> None:
    treasurer = MembershipFactory(organisation=line.fulfilment.organisation, role=Membership.Role.TREASURER).user
    payment_refund(actor=treasurer, reason="Abîmé", order_id=line.order_id, line_id=line.pk, amount_cents=amount_cents)


def listed(campaign: Campaign) -> tuple[int, int]:
    row = campaign_public_queryset().get(pk=campaign.pk)
    return row.raised_cents, row.backers_count


@pytest.fixture
def basket() -> tuple[Order, Campaign, Campaign]:
    """Two objects of one campaign and one of another campaign (another organisation), one payment."""
    bikes = CampaignFactory(title="Atelier vélo")
    clothes = CampaignFactory(title="Friperie")
    order = paid_basket(
        ItemFactory(campaign=bikes, price_cents=3000, title="Vélo"),
        ItemFactory(campaign=bikes, price_cents=2000, title="Casque"),
        ItemFactory(campaign=clothes, price_cents=1500, title="Veste"),
    )
    return order, bikes, clothes


def test_each_campaign_is_credited_its_own_items_and_a_basket_is_one_backer_of_each(
    basket: tuple[Order, Campaign, Campaign],
) -> None:
    order, bikes, clothes = basket

    assert campaign_progress(campaign_id=bikes.pk) == listed(bikes) == (5000, 1)
    assert campaign_progress(campaign_id=clothes.pk) == listed(clothes) == (1500, 1)
    credits = {entry.order_line.item.title: entry.amount_cents for entry in LedgerEntry.objects.filter(order=order)}
    assert credits == {"Vélo": 3000, "Casque": 2000, "Veste": 1500}
    assert list(ledger_differences()) == []


def test_a_basket_stays_a_backer_of_a_campaign_until_every_line_it_bought_there_is_refunded(
    basket: tuple[Order, Campaign, Campaign],
) -> None:
    order, bikes, clothes = basket
    bike, helmet = order.lines.filter(campaign=bikes).order_by("amount_cents").reverse()

    refund_line(bike)
    assert campaign_progress(campaign_id=bikes.pk) == listed(bikes) == (2000, 1)
    refund_line(helmet, 500)
    assert campaign_progress(campaign_id=bikes.pk) == (1500, 1)
    refund_line(helmet)
    assert campaign_progress(campaign_id=bikes.pk) == listed(bikes) == (0, 0)
    # The other campaign of the same payment is untouched.
    assert campaign_progress(campaign_id=clothes.pk) == listed(clothes) == (1500, 1)
    assert list(ledger_differences()) == []


def test_the_reconciliation_checks_every_line_and_names_the_one_that_lies(
    basket: tuple[Order, Campaign, Campaign],
) -> None:
    order, bikes, _clothes = basket
    helmet = order.lines.get(campaign=bikes, amount_cents=2000)
    refund_line(helmet, 700)
    assert list(ledger_differences()) == []

    OrderLine.objects.filter(pk=helmet.pk).update(amount_cents=2100)  # a row that lies about the money
    OrderLine.objects.filter(pk=order.lines.get(amount_cents=1500).pk).update(refunded_cents=100)

    differences = list(ledger_differences())
    assert f"order {order.pk} line {helmet.pk}: credited 2000, paid 2100" in differences
    assert f"order {order.pk}: lines of 6600, paid 6500" in differences
    veste = order.lines.get(amount_cents=1500)
    assert f"order {order.pk} line {veste.pk}: refunds debited 0, refunded 100" in differences
    with pytest.raises(CommandError):
        call_command("reconcile")


def test_a_paid_order_without_a_line_and_an_unrecorded_transfer_are_reported() -> None:
    item = ItemFactory(price_cents=1200)
    order = paid_basket(item)
    part = order.fulfilments.get()
    Fulfilment.objects.filter(pk=part.pk).update(transfer_id="tr_lost")

    differences = list(ledger_differences())

    assert differences == [
        f"order {order.pk} (organisation {part.organisation_id}): transfer tr_lost is not recorded (ledger.Transfer)"
    ]


def test_an_organisation_is_owed_its_part_of_a_basket_until_that_part_is_transferred(
    django_capture_on_commit_callbacks: Any,
) -> None:
    workshop = OrganisationFactory(stripe_account_id="acct_demo_workshop")
    shop = OrganisationFactory(stripe_account_id="acct_demo_shop")
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_basket(
            ItemFactory(campaign=CampaignFactory(organisation=workshop), price_cents=3000),
            ItemFactory(campaign=CampaignFactory(organisation=shop), price_cents=1500),
        )
    assert organisation_balance_cents(organisation_id=workshop.pk) == 3000
    assert organisation_balance_cents(organisation_id=shop.pk) == 1500

    part = order.fulfilments.get(organisation=workshop)
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_hand_over(
            fulfilment=part, claim_code=part.claim_code, actor=MembershipFactory(organisation=workshop).user
        )

    assert Fulfilment.objects.get(pk=part.pk).transfer_id
    assert organisation_balance_cents(organisation_id=workshop.pk) == 0
    assert organisation_balance_cents(organisation_id=shop.pk) == 1500
    assert list(ledger_differences()) == []


def test_the_live_feed_names_each_item_of_a_basket(basket: tuple[Order, Campaign, Campaign], client: Client) -> None:
    _order, bikes, _clothes = basket
    manager = MembershipFactory(organisation=bikes.organisation).user

    feed = list(dashboard_feed(user=manager, since=timezone.now() - timedelta(hours=1)))
    client.force_login(manager)
    page = client.get("/gestion/tableau-de-bord/").content.decode()

    assert sorted(entry.order_line.item.title for entry in feed) == ["Casque", "Vélo"]
    assert "vente : Vélo" in page and "vente : Casque" in page and "Veste" not in page
