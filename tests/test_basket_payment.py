"""A basket's money, end to end on the production path: ``POST /api/orders/``,
the demo gateway's payment page (the same event processing as Stripe's
webhook), the counter's hand-over through the API, and a treasurer's refund of
one line. Three items of two organisations paid once: each campaign is
credited exactly its items, each organisation's part has its own claim code and
its own transfer, both transfers in the order's one transfer group."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Campaign, Membership
from checkout.services import payment_refund
from donations.models import Fulfilment, Item, ItemStatus, Order, OrderLine, PaymentStatus
from ledger.models import LedgerEntry, Transfer
from ledger.selectors import campaign_progress, ledger_differences
from payments.demo_gateway import DemoGateway
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

TEST_CARD = "4242 4242 4242 4242"


def three_campaigns() -> tuple[Campaign, Campaign, Campaign]:
    """Two campaigns of Emmaüs Lescar-Pau, one of La Boucle; both organisations can receive transfers."""
    lescar = OrganisationFactory(name="Emmaüs Lescar-Pau", stripe_account_id="acct_demo_lescar")
    boucle = OrganisationFactory(name="Ressourcerie La Boucle", stripe_account_id="acct_demo_boucle")
    return (
        CampaignFactory(organisation=lescar),
        CampaignFactory(organisation=lescar),
        CampaignFactory(organisation=boucle),
    )


def bought_and_paid(client: Client, capture: Any) -> tuple[Order, list[Item], tuple[Campaign, Campaign, Campaign]]:
    """A passer-by's basket of three, paid on the demo page with the test card."""
    campaigns = three_campaigns()
    items = [
        ItemFactory(campaign=campaigns[0], price_cents=1200, title="Lampe en laiton"),
        ItemFactory(campaign=campaigns[1], price_cents=3050, title="Fauteuil club"),
        ItemFactory(campaign=campaigns[2], price_cents=800, title="Vélo d'enfant"),
    ]
    answer = APIClient().post(
        "/api/orders/",
        {"email": "passant@example.org", "items": [items[2].pk, items[0].pk, items[1].pk]},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["total_cents"] == 5050
    page = answer.json()["checkout_url"].removeprefix("http://testserver")
    assert client.get(page).status_code == 200
    with capture(execute=True):
        paid = client.post(page, {"card_number": TEST_CARD})
    assert paid.status_code == 302, paid.content
    return Order.objects.get(pk=answer.json()["order_id"]), items, campaigns


def statuses(items: list[Item]) -> list[str]:
    return [Item.objects.get(pk=item.pk).status for item in items]


def part_of(order: Order, campaign: Campaign) -> Fulfilment:
    return order.fulfilments.get(organisation_id=campaign.organisation_id)


def hand_over(order: Order, part: Fulfilment, capture: Any) -> None:
    """A volunteer at the organisation's counter types the buyer's claim code."""
    api = APIClient()
    api.force_authenticate(MembershipFactory(organisation=part.organisation, role=Membership.Role.VOLUNTEER).user)
    with capture(execute=True):
        response = api.post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": part.claim_code}, format="json")
    assert response.status_code == 200, response.content


def refund_line(line: OrderLine, capture: Any) -> None:
    treasurer = MembershipFactory(organisation=line.campaign.organisation, role=Membership.Role.TREASURER).user
    with capture(execute=True):
        payment_refund(actor=treasurer, reason="Rayure non signalée", order_id=line.order_id, line_id=line.pk)


@pytest.fixture
def transfers_asked() -> Any:
    """What the gateway was asked to transfer (the demo gateway still answers)."""
    with mock.patch.object(
        DemoGateway, "transfer_create", autospec=True, side_effect=DemoGateway.transfer_create
    ) as spy:
        yield spy


def test_a_basket_of_two_organisations_paid_once_credits_each_campaign_its_items_and_transfers_per_part(
    client: Client, django_capture_on_commit_callbacks: Any, transfers_asked: Any
) -> None:
    order, items, (lamps, chairs, bikes) = bought_and_paid(client, django_capture_on_commit_callbacks)

    # One payment: three items sold, each campaign credited exactly its own item.
    assert order.status == PaymentStatus.PAID and order.amount_cents == 5050
    assert statuses(items) == [ItemStatus.SOLD] * 3
    credits = LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.CREDIT)
    assert sorted(credits.values_list("campaign_id", "order_line__item_id", "amount_cents")) == sorted(
        [(lamps.pk, items[0].pk, 1200), (chairs.pk, items[1].pk, 3050), (bikes.pk, items[2].pk, 800)]
    )
    assert [campaign_progress(campaign_id=c.pk) for c in (lamps, chairs, bikes)] == [(1200, 1), (3050, 1), (800, 1)]
    assert list(ledger_differences()) == []
    # Two parts, one per organisation, each with its own claim code.
    lescar, boucle = part_of(order, lamps), part_of(order, bikes)
    assert order.fulfilments.count() == 2 and lescar.claim_code != boucle.claim_code
    assert sorted(lescar.lines.values_list("item_id", flat=True)) == sorted([items[0].pk, items[1].pk])
    assert list(boucle.lines.values_list("item_id", flat=True)) == [items[2].pk]

    # La Boucle's part is collected first: its transfer goes, Lescar's waits for its own hand-over.
    hand_over(order, boucle, django_capture_on_commit_callbacks)
    assert statuses(items) == [ItemStatus.SOLD, ItemStatus.SOLD, ItemStatus.HANDED_OVER]
    assert list(Transfer.objects.values_list("fulfilment_id", "amount_cents")) == [(boucle.pk, 800)]
    hand_over(order, lescar, django_capture_on_commit_callbacks)
    assert statuses(items) == [ItemStatus.HANDED_OVER] * 3

    transfers = Transfer.objects.order_by("id")
    assert list(transfers.values_list("organisation_id", "fulfilment_id", "order_id", "amount_cents")) == [
        (bikes.organisation_id, boucle.pk, order.pk, 800),
        (lamps.organisation_id, lescar.pk, order.pk, 4250),
    ]
    assert len(set(transfers.values_list("provider_transfer_id", flat=True))) == 2
    asked = [call.kwargs for call in transfers_asked.call_args_list]
    assert [(a["destination"], a["amount_cents"]) for a in asked] == [
        ("acct_demo_boucle", 800),
        ("acct_demo_lescar", 4250),
    ]
    assert {a["transfer_group"] for a in asked} == {f"order-{order.pk}"}  # one group: the order's payment

    # After the hand-over, the lamp is refunded: only Lescar's transfer is reversed, by its price;
    # the object left with the buyer, so it is not put back on sale.
    refund_line(order.lines.get(item=items[0]), django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert (order.refunded_cents, order.status) == (1200, PaymentStatus.PAID)
    assert [campaign_progress(campaign_id=c.pk) for c in (lamps, chairs, bikes)] == [(0, 0), (3050, 1), (800, 1)]
    reversed_by_part = {t.fulfilment_id: sum(r.amount_cents for r in t.reversals.all()) for t in transfers}
    assert reversed_by_part == {boucle.pk: 0, lescar.pk: 1200}
    assert statuses(items) == [ItemStatus.WITHDRAWN, ItemStatus.HANDED_OVER, ItemStatus.HANDED_OVER]
    assert list(ledger_differences()) == []


def test_a_line_refunded_before_the_hand_over_is_relisted_and_its_part_transfers_only_the_rest(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any, transfers_asked: Any
) -> None:
    order, items, (lamps, chairs, bikes) = bought_and_paid(client, django_capture_on_commit_callbacks)
    line = order.lines.get(item=items[1])

    refund_line(line, django_capture_on_commit_callbacks)

    order.refresh_from_db()
    assert (order.refunded_cents, order.status) == (3050, PaymentStatus.PAID)
    assert OrderLine.objects.get(pk=line.pk).refunded_cents == 3050
    assert sorted(OrderLine.objects.filter(order=order).values_list("item_id", "refunded_cents")) == sorted(
        [(items[0].pk, 0), (items[1].pk, 3050), (items[2].pk, 0)]
    )
    assert [campaign_progress(campaign_id=c.pk) for c in (lamps, chairs, bikes)] == [(1200, 1), (0, 0), (800, 1)]
    assert list(ledger_differences()) == []
    # The armchair is on sale again, for anyone: the catalogue shows it and a new basket takes it.
    assert statuses(items) == [ItemStatus.SOLD, ItemStatus.LISTED, ItemStatus.SOLD]
    assert api.get(f"/api/items/{items[1].pk}/").json()["status"] == "listed"

    for part in (part_of(order, lamps), part_of(order, bikes)):
        hand_over(order, part, django_capture_on_commit_callbacks)

    # Lescar is paid the lamp only; both transfers still in the order's group.
    assert sorted(Transfer.objects.values_list("organisation_id", "amount_cents")) == sorted(
        [(lamps.organisation_id, 1200), (bikes.organisation_id, 800)]
    )
    assert {call.kwargs["transfer_group"] for call in transfers_asked.call_args_list} == {f"order-{order.pk}"}
    assert not Transfer.objects.filter(reversals__isnull=False).exists()
    assert statuses(items) == [ItemStatus.HANDED_OVER, ItemStatus.LISTED, ItemStatus.HANDED_OVER]
    again = api.post("/api/orders/", {"email": "autre@example.org", "items": [items[1].pk]}, format="json")
    assert again.status_code == 201 and again.json()["total_cents"] == 3050
