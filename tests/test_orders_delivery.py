"""Buying with delivery: each sender's part (an organisation's objects, or a private
giver's) travels as the buyer chose, checked and quoted by the carrier before anything
is held; shipping is paid in the same payment, on its own lines, credited to the
platform's shipping account (never a campaign's), and given back with a part's refund."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from campaigns.models import Membership, Organisation
from checkout.services import (
    ItemUnavailable,
    fulfilment_refund,
    fulfilment_refundable_cents,
    fulfilment_transfer,
    order_start,
    refund_split,
)
from checkout.services.shipping import (
    DeliveryChoice,
    DeliveryRefused,
    QuoteStale,
    ShippingUnavailable,
    address_clean,
    item_sender,
)
from delivery.carriers import Address, CarrierError
from delivery.demo_carrier import DemoCarrier
from donations.models import Fulfilment, Item, ItemStatus, Order, OrderLine, PaymentStatus, Reservation, ShipmentStatus
from kernel.errors import DomainError
from ledger.models import LedgerEntry, Transfer
from ledger.selectors import campaign_progress, ledger_differences
from payments import demo_gateway
from payments.events import event_receive
from payments.models import DemoSession
from realtime.models import RealtimeEvent
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, OrganisationFactory, UserFactory
from tests.test_ledger_totals import dispute as dispute_of

pytestmark = pytest.mark.django_db

EMAIL = "passant@example.org"
RELAY_ID = "DEMO-64000-03"
HOME = {"name": "Camille Martin", "address_line1": "3 rue des Lilas", "postal_code": "64000", "city": "Pau"}


def parcel_item(organisation: Organisation, *, grams: int, price: int, **extra: Any) -> Item:
    return ItemFactory(
        campaign=CampaignFactory(organisation=organisation), ships=True, weight_grams=grams, price_cents=price, **extra
    )


def giver_item(organisation: Organisation, giver: User, *, grams: int, price: int) -> Item:
    """An object a private person keeps at home (Pau) and ships themselves."""
    return parcel_item(organisation, grams=grams, price=price, owner=giver, donor=giver, postal_code="64000")


def pay(order: Order) -> Order:
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


def nothing_held(*items: Item) -> None:
    assert not Order.objects.exists() and not Reservation.objects.exists()
    assert not OrderLine.objects.exists() and not Fulfilment.objects.exists()
    assert not RealtimeEvent.objects.exists()
    for item in items:
        assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED


@pytest.fixture
def three_parts() -> dict[str, Any]:
    """A basket of one object collected at Emmaüs Lescar-Pau, one parcel from La Boucle and one
    parcel from a private giver of a Lescar-Pau campaign: three senders, two organisations."""
    lescar = OrganisationFactory(name="Emmaüs Lescar-Pau", postal_code="64230")
    boucle = OrganisationFactory(name="Ressourcerie La Boucle", postal_code="75011")
    giver = UserFactory()
    collected = ItemFactory(campaign=CampaignFactory(organisation=lescar), price_cents=4000, title="Armoire")
    shipped = parcel_item(boucle, grams=800, price=1200, title="Théière")
    from_home = giver_item(lescar, giver, grams=1500, price=2000)
    return {
        "lescar": lescar,
        "boucle": boucle,
        "giver": giver,
        "collected": collected,
        "shipped": shipped,
        "from_home": from_home,
    }


def test_a_basket_of_a_collection_and_two_relay_parcels_is_one_payment_whose_shipping_never_reaches_a_campaign(
    three_parts: dict[str, Any],
) -> None:
    lescar, boucle, giver = three_parts["lescar"], three_parts["boucle"], three_parts["giver"]
    collected, shipped, from_home = three_parts["collected"], three_parts["shipped"], three_parts["from_home"]
    relay = DeliveryChoice(method="relay", relay_point_id=RELAY_ID)

    order = order_start(
        email=EMAIL,
        item_ids=[collected.pk, shipped.pk, from_home.pk],
        delivery={(boucle.pk, None): relay, (lescar.pk, giver.pk): relay},
    )

    # The demo tariff: 800 g to a relay point 4,90 €, 1,5 kg 5,90 €.
    assert (order.amount_cents, order.shipping_cents) == (4000 + 1200 + 2000 + 490 + 590, 490 + 590)
    parts = {(part.organisation_id, part.giver_id): part for part in order.fulfilments.all()}
    assert set(parts) == {(lescar.pk, None), (boucle.pk, None), (lescar.pk, giver.pk)}
    assert (parts[lescar.pk, None].method, parts[lescar.pk, None].shipping_cents) == ("collection", 0)
    assert parts[lescar.pk, None].relay_point == {} and parts[lescar.pk, None].carrier == ""
    for key, cents in (((boucle.pk, None), 490), ((lescar.pk, giver.pk), 590)):
        assert (parts[key].method, parts[key].shipping_cents, parts[key].carrier) == ("relay", cents, "demo")
        assert parts[key].relay_point == DemoCarrier().relay_point(RELAY_ID).as_dict()  # type: ignore[union-attr]
        assert parts[key].address == {}
    assert order.lines.get(item=from_home).fulfilment == parts[lescar.pk, giver.pk]
    # The provider's page: one line per item, one "Frais de port" line per parcel.
    session = DemoSession.objects.get(session_id=order.provider_session_id)
    assert session.amount_cents == order.amount_cents
    assert sorted((line["description"], line["amount_cents"]) for line in session.lines) == sorted(
        [
            ("Armoire", 4000),
            ("Théière", 1200),
            (from_home.title, 2000),
            ("Frais de port — Ressourcerie La Boucle", 490),
            ("Frais de port — Emmaüs Lescar-Pau", 590),
        ]
    )

    paid = pay(order)

    assert paid.status == PaymentStatus.PAID
    credits = LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.CREDIT)
    by_campaign = {entry.campaign_id: entry.amount_cents for entry in credits.filter(account="campaign")}
    assert by_campaign == {collected.campaign_id: 4000, shipped.campaign_id: 1200, from_home.campaign_id: 2000}
    assert campaign_progress(campaign_id=shipped.campaign_id) == (1200, 1)
    shipping = credits.get(account=LedgerEntry.Account.PLATFORM_SHIPPING)
    assert (shipping.amount_cents, shipping.campaign_id, shipping.organisation_id) == (1080, None, None)
    assert list(ledger_differences()) == []
    # Paid parcels are to be shipped within SHIP_BY_DAYS; the collected part is no parcel.
    for part in Fulfilment.objects.filter(order=order):
        if part.method == "relay":
            assert part.shipment_status == ShipmentStatus.TO_SHIP
            assert part.ship_by == paid.paid_at + timedelta(days=5)  # type: ignore[operator]
        else:
            assert (part.shipment_status, part.ship_by) == (ShipmentStatus.NONE, None)


def test_a_private_givers_objects_form_their_own_part_and_never_travel_home(three_parts: dict[str, Any]) -> None:
    from_home = three_parts["from_home"]
    assert item_sender(from_home) == (three_parts["lescar"].pk, three_parts["giver"].pk)
    address, _errors = address_clean(HOME)

    with pytest.raises(DeliveryRefused) as refused:
        order_start(email=EMAIL, item_ids=[from_home.pk], delivery=DeliveryChoice(method="home", address=address))

    assert refused.value.field == "delivery.method"
    assert "point relais seulement" in str(refused.value.detail)
    nothing_held(from_home)


def test_an_object_whose_owner_left_is_sent_by_its_donor() -> None:
    giver = UserFactory()
    item = giver_item(OrganisationFactory(), giver, grams=300, price=900)
    Item.objects.filter(pk=item.pk).update(owner=None)
    item.refresh_from_db()
    assert item_sender(item) == (item.campaign.organisation_id, giver.pk)


def test_a_home_parcel_keeps_the_buyers_address_on_its_part() -> None:
    item = parcel_item(OrganisationFactory(postal_code="69001"), grams=4_000, price=3000)
    address, errors = address_clean({**HOME, "address_line2": " Bât. B ", "country": "fr"})
    assert errors == {}

    order = order_start(email=EMAIL, item_ids=[item.pk], delivery=DeliveryChoice(method="home", address=address))

    part = order.fulfilments.get()
    assert (part.method, part.shipping_cents, order.shipping_cents) == ("home", 1290, 1290)
    assert part.address == {**HOME, "address_line2": "Bât. B", "country": "FR"}


def test_a_parcel_heavier_than_the_limit_all_together_is_refused_with_the_reason() -> None:
    organisation = OrganisationFactory()
    items = [parcel_item(organisation, grams=9_000, price=1000) for _i in range(3)]

    with pytest.raises(DeliveryRefused, match="plus de 20 kg"):
        order_start(
            email=EMAIL,
            item_ids=[item.pk for item in items],
            delivery=DeliveryChoice(method="relay", relay_point_id=RELAY_ID),
        )
    nothing_held(*items)


@pytest.mark.parametrize("failing", ["relay_point", "quote_cents"])
def test_the_carrier_down_is_a_503_and_nothing_is_held(api: APIClient, failing: str) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)

    with mock.patch.object(DemoCarrier, failing, side_effect=CarrierError("timeout")):
        response = api.post(
            "/api/orders/",
            {"email": EMAIL, "items": [item.pk], "delivery": {"method": "relay", "relay_point_id": RELAY_ID}},
            format="json",
        )

    assert response.status_code == 503, response.content
    assert response.json()["code"] == "carrier_unavailable"
    assert "rien n'a été réservé" in response.json()["detail"]
    nothing_held(item)


@pytest.mark.parametrize("quoted", [12.5, -1, True, 10**12, "490"])
def test_a_carriers_absurd_price_is_never_written_in_our_books(quoted: Any) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    with mock.patch.object(DemoCarrier, "quote_cents", return_value=quoted), pytest.raises(ShippingUnavailable):
        order_start(email=EMAIL, item_ids=[item.pk], delivery=DeliveryChoice(method="relay", relay_point_id=RELAY_ID))
    nothing_held(item)


def test_the_carrier_is_never_called_while_the_items_are_held() -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    seen: list[bool] = []

    def quote(self: DemoCarrier, **kwargs: Any) -> int:
        seen.append(Item.objects.get(pk=item.pk).status == ItemStatus.LISTED)
        return 390

    with mock.patch.object(DemoCarrier, "quote_cents", quote):
        order_start(email=EMAIL, item_ids=[item.pk], delivery=DeliveryChoice(method="relay", relay_point_id=RELAY_ID))

    assert seen == [True]


def test_an_item_changed_between_quote_and_hold_holds_nothing() -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)

    def quote(self: DemoCarrier, **kwargs: Any) -> int:
        # The giver edits the weight while the carrier answers.
        Item.objects.filter(pk=item.pk).update(weight_grams=9_000)
        return 390

    with mock.patch.object(DemoCarrier, "quote_cents", quote), pytest.raises(QuoteStale):
        order_start(email=EMAIL, item_ids=[item.pk], delivery=DeliveryChoice(method="relay", relay_point_id=RELAY_ID))
    nothing_held(item)


def _meanwhile(change: Any) -> Any:
    """Run ``change`` at the start of the hold's transaction: after the quote, before the holds."""
    from checkout.services import orders

    real = orders._holds_check_cap

    def cap_then_change(**kwargs: Any) -> None:
        real(**kwargs)
        change()

    return mock.patch.object(orders, "_holds_check_cap", cap_then_change)


@pytest.mark.parametrize(
    "column", [{"price_cents": 100}, {"weight_grams": 9_000}, {"ships": False}, {"postal_code": "64000"}]
)
def test_a_collected_item_changed_in_a_quoted_column_between_quote_and_hold_holds_nothing(
    column: dict[str, Any],
) -> None:
    # Held as quoted, without a second read: the hold's UPDATE asks for the quoted columns.
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    other = ItemFactory(campaign=item.campaign, price_cents=900)
    with _meanwhile(lambda: Item.objects.filter(pk=item.pk).update(**column)), pytest.raises(QuoteStale):
        order_start(email=EMAIL, item_ids=[other.pk, item.pk])
    nothing_held(other)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED


def test_an_item_sold_or_retitled_between_quote_and_hold() -> None:
    sold, retitled = ItemFactory(price_cents=900), ItemFactory(price_cents=1200)
    sell = _meanwhile(lambda: Item.objects.filter(pk=sold.pk).update(status=ItemStatus.SOLD))
    with sell, pytest.raises(ItemUnavailable) as refused:
        order_start(email=EMAIL, item_ids=[sold.pk, retitled.pk])
    assert refused.value.unavailable == [sold.pk]
    nothing_held(retitled)
    # A column the quote is not made of: the sale goes on, at the quoted price.
    with _meanwhile(lambda: Item.objects.filter(pk=retitled.pk).update(title="Lampe de chevet")):
        order = order_start(email=EMAIL, item_ids=[retitled.pk])
    assert order.amount_cents == 1200 and Item.objects.get(pk=retitled.pk).status == ItemStatus.RESERVED


# --- The API ---------------------------------------------------------------------------------------


def test_the_api_applies_one_delivery_to_every_part_and_answers_shipping_per_organisation(
    api: APIClient, three_parts: dict[str, Any]
) -> None:
    shipped, from_home = three_parts["shipped"], three_parts["from_home"]
    second = parcel_item(three_parts["lescar"], grams=200, price=500)

    response = api.post(
        "/api/orders/",
        {
            "email": EMAIL,
            "items": [shipped.pk, from_home.pk, second.pk],
            "delivery": {"method": "relay", "relay_point_id": f" {RELAY_ID} "},
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    # Lescar-Pau sends one parcel (200 g: 3,90 €), its giver another (1,5 kg: 5,90 €): one entry for the two.
    assert (body["items_cents"], body["shipping_cents"], body["total_cents"]) == (3700, 490 + 390 + 590, 5170)
    assert sorted((part["organisation"]["name"], part["shipping_cents"]) for part in body["shipping"]) == [
        ("Emmaüs Lescar-Pau", 980),
        ("Ressourcerie La Boucle", 490),
    ]
    assert Order.objects.get(pk=body["order_id"]).fulfilments.count() == 3


def test_the_one_item_checkout_is_still_collected(api: APIClient) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    response = api.post(f"/api/items/{item.pk}/checkout/", {"email": EMAIL}, format="json")
    assert response.status_code == 201
    order = Order.objects.get(pk=response.json()["order_id"])
    assert (order.amount_cents, order.shipping_cents, order.fulfilments.get().method) == (1500, 0, "collection")


@pytest.mark.parametrize(
    ("relay_point_id", "field"),
    [
        ("DEMO-99999-77", "delivery.relay_point_id"),
        ("DEMO-64000-3", "delivery.relay_point_id"),
        ("", "delivery.relay_point_id"),
        (None, "delivery.relay_point_id"),
        (["DEMO-64000-03"], "delivery.relay_point_id"),
        ({"id": "DEMO-64000-03"}, "delivery.relay_point_id"),
        ("DEMO-64000-03\x00", "delivery.relay_point_id"),
        ("x" * 10_000, "delivery.relay_point_id"),
        ("' OR 1=1 --", "delivery.relay_point_id"),
    ],
)
def test_an_unknown_or_hostile_relay_point_is_a_field_error_and_holds_nothing(
    api: APIClient, relay_point_id: Any, field: str
) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)

    response = api.post(
        "/api/orders/",
        {"email": EMAIL, "items": [item.pk], "delivery": {"method": "relay", "relay_point_id": relay_point_id}},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    nothing_held(item)


@pytest.mark.parametrize(
    ("address", "fields"),
    [
        (None, ["delivery.address.non_field_errors"]),
        ("3 rue des Lilas", ["delivery.address.non_field_errors"]),
        (
            {},
            [
                "delivery.address.address_line1",
                "delivery.address.city",
                "delivery.address.name",
                "delivery.address.postal_code",
            ],
        ),
        ({**HOME, "postal_code": "6400"}, ["delivery.address.postal_code"]),
        ({**HOME, "postal_code": "٦٤٠٠٠"}, ["delivery.address.postal_code"]),
        ({**HOME, "postal_code": 64000}, ["delivery.address.postal_code"]),
        ({**HOME, "country": "BE"}, ["delivery.address.country"]),
        ({**HOME, "name": "Camille\nMartin"}, ["delivery.address.name"]),
        ({**HOME, "city": "Pau\x00"}, ["delivery.address.city"]),
        ({**HOME, "address_line1": "x" * 201}, ["delivery.address.address_line1"]),
        ({**HOME, "address_line2": ["a"]}, ["delivery.address.address_line2"]),
        ({**HOME, "name": {"$gt": ""}}, ["delivery.address.name"]),
    ],
)
def test_an_incomplete_or_hostile_address_is_a_field_error_beside_each_field(
    api: APIClient, address: Any, fields: list[str]
) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)

    response = api.post(
        "/api/orders/",
        {"email": EMAIL, "items": [item.pk], "delivery": {"method": "home", "address": address}},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert sorted(response.json()["fields"]) == fields
    nothing_held(item)


def test_an_address_error_is_in_the_language_of_the_request(api: APIClient) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    response = api.post(
        "/api/orders/",
        {"email": EMAIL, "items": [item.pk], "delivery": {"method": "home", "address": {**HOME, "country": "BE"}}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["fields"]["delivery.address.country"] == ["Parcels go to France only for now (“FR”)."]


def test_a_basket_with_one_item_taken_still_holds_none_with_a_parcel(api: APIClient) -> None:
    organisation = OrganisationFactory()
    free = parcel_item(organisation, grams=500, price=1500)
    taken = parcel_item(organisation, grams=500, price=1500)
    order_start(email="first@example.org", item_ids=[taken.pk])
    held_before = Reservation.objects.count()

    response = api.post(
        "/api/orders/",
        {"email": EMAIL, "items": [free.pk, taken.pk], "delivery": {"method": "relay", "relay_point_id": RELAY_ID}},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["unavailable"] == [taken.pk]
    assert Reservation.objects.count() == held_before
    assert Item.objects.get(pk=free.pk).status == ItemStatus.LISTED


# --- The quote -----------------------------------------------------------------------------------


def test_the_quote_answers_shipping_per_organisation_before_paying(api: APIClient, three_parts: dict[str, Any]) -> None:
    shipped, from_home = three_parts["shipped"], three_parts["from_home"]

    response = api.get(f"/api/delivery/quote/?items={shipped.pk},{from_home.pk}&method=relay&postal_code=33000")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["currency"], body["shipping_cents"]) == ("EUR", 1080)
    assert sorted((part["organisation"]["name"], part["shipping_cents"]) for part in body["shipping"]) == [
        ("Emmaüs Lescar-Pau", 590),
        ("Ressourcerie La Boucle", 490),
    ]
    collected = api.get(f"/api/delivery/quote/?items={shipped.pk}&method=collection").json()
    assert collected["shipping_cents"] == 0
    assert not Reservation.objects.exists()


def test_the_quote_refuses_a_method_one_object_does_not_allow(api: APIClient, three_parts: dict[str, Any]) -> None:
    response = api.get(f"/api/delivery/quote/?items={three_parts['from_home'].pk}&method=home")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["delivery.method"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "items=&method=relay",
        "items=1,,2&method=relay",
        "items=a&method=relay",
        "items=-1&method=relay",
        "items=0&method=relay",
        "items=99999999999999999999&method=relay",
        "items=1.5&method=relay",
        "items=%D9%A1&method=relay",
        "items=1%00&method=relay",
        "items=" + ",".join(["1"] * 600) + "&method=relay",
        "items=" + "9" * 5000 + "&method=relay",
        "items=1&method=pigeon",
        "items=1&method=relay&postal_code=7500",
        "items=1&method=relay&postal_code=<script>",
        "items=424242&method=relay",
    ],
)
def test_hostile_quote_queries_are_field_errors_never_a_500(api: APIClient, query: str) -> None:
    ItemFactory(ships=True, weight_grams=500)
    response = api.get(f"/api/delivery/quote/?{query}")
    assert response.status_code == 400, (query, response.content)
    assert response.json()["code"] in {"invalid", "basket_empty", "basket_too_large"}
    assert response.json()["fields"]


def test_the_quote_with_the_carrier_down_is_a_503(api: APIClient) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    with mock.patch.object(DemoCarrier, "quote_cents", side_effect=CarrierError("down")):
        response = api.get(f"/api/delivery/quote/?items={item.pk}&method=relay")
    assert response.status_code == 503 and response.json()["code"] == "carrier_unavailable"


# --- A part's refund, with its shipping ------------------------------------------------------------


@pytest.fixture
def paid_two_parcels() -> Order:
    """Two parcels of two organisations, paid: 1200 + 490 and 2000 + 590."""
    first = parcel_item(OrganisationFactory(name="Ressourcerie La Boucle"), grams=800, price=1200)
    second = parcel_item(OrganisationFactory(name="Emmaüs Lescar-Pau"), grams=1500, price=2000)
    order = order_start(
        email=EMAIL,
        item_ids=[first.pk, second.pk],
        delivery=DeliveryChoice(method="relay", relay_point_id=RELAY_ID),
    )
    return pay(order)


def test_a_parts_refund_with_its_shipping_debits_the_shipping_account_not_a_campaign(
    paid_two_parcels: Order,
) -> None:
    order = paid_two_parcels
    part = order.fulfilments.get(shipping_cents=490)
    other = order.fulfilments.get(shipping_cents=590)
    line = part.lines.get()

    refund = fulfilment_refund(fulfilment_id=part.pk, include_shipping=True, reason="Pas expédié à temps")

    assert refund is not None and (refund.amount_cents, refund.fulfilment_id) == (1690, part.pk)
    order.refresh_from_db()
    assert (order.status, order.refunded_cents) == (PaymentStatus.PAID, 1690)
    debits = LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.DEBIT)
    assert {(entry.account, entry.order_line_id, entry.amount_cents) for entry in debits} == {
        ("campaign", line.pk, 1200),
        ("platform_shipping", None, 490),
    }
    assert campaign_progress(campaign_id=line.campaign_id) == (0, 0)
    assert Item.objects.get(pk=line.item_id).status == ItemStatus.LISTED  # relisted
    assert list(ledger_differences()) == []
    assert refund_split(order, order.refunded_cents) == (
        {line.pk: 1200, other.lines.get().pk: 0},
        {part.pk: 490, other.pk: 0},
    )
    # Asked again (a retried rule): nothing left, nothing refunded twice.
    assert fulfilment_refund(fulfilment_id=part.pk, include_shipping=True, reason="again") is None
    assert fulfilment_refundable_cents(other, include_shipping=True) == 2590


def test_a_parts_refund_without_its_shipping_leaves_the_shipping_account(paid_two_parcels: Order) -> None:
    order = paid_two_parcels
    part = order.fulfilments.get(shipping_cents=590)

    refund = fulfilment_refund(fulfilment_id=part.pk, include_shipping=False, reason="Rétractation")

    assert refund is not None and refund.amount_cents == 2000
    shipping = LedgerEntry.objects.filter(order=order, account=LedgerEntry.Account.PLATFORM_SHIPPING)
    assert list(shipping.values_list("kind", "amount_cents")) == [("credit", 1080)]
    assert fulfilment_refundable_cents(part, include_shipping=True) == 590
    # Its shipping may still be given back later, alone.
    assert fulfilment_refund(fulfilment_id=part.pk, include_shipping=True, reason="Geste").amount_cents == 590  # type: ignore[union-attr]
    assert shipping.filter(kind="debit").get().amount_cents == 590
    assert list(ledger_differences()) == []


def test_a_whole_orders_refund_gives_back_the_shipping_too(paid_two_parcels: Order) -> None:
    order = paid_two_parcels
    fulfilment_refund(fulfilment_id=order.fulfilments.get(shipping_cents=490).pk, include_shipping=True, reason="a")
    fulfilment_refund(fulfilment_id=order.fulfilments.get(shipping_cents=590).pk, include_shipping=True, reason="b")

    order.refresh_from_db()
    assert (order.status, order.refunded_cents) == (PaymentStatus.REFUNDED, order.amount_cents)
    shipping = LedgerEntry.objects.filter(order=order, account=LedgerEntry.Account.PLATFORM_SHIPPING, kind="debit")
    assert sum(shipping.values_list("amount_cents", flat=True)) == 1080
    assert list(ledger_differences()) == []


def test_a_parts_refund_is_for_its_organisations_treasurer_only(paid_two_parcels: Order) -> None:
    part = paid_two_parcels.fulfilments.get(shipping_cents=490)
    stranger = MembershipFactory(role=Membership.Role.TREASURER).user
    treasurer = MembershipFactory(organisation=part.organisation, role=Membership.Role.TREASURER).user

    with pytest.raises(DomainError) as refused:
        fulfilment_refund(fulfilment_id=part.pk, include_shipping=True, reason="x", actor=stranger)
    assert getattr(refused.value, "status_code", None) in (403, 404)
    assert not paid_two_parcels.refunds.exists()

    refund = fulfilment_refund(fulfilment_id=part.pk, include_shipping=True, reason="x", actor=treasurer)
    assert refund is not None and refund.actor == treasurer


@override_settings(SHIP_BY_DAYS=2)
def test_the_ship_by_deadline_follows_the_setting() -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    order = pay(
        order_start(email=EMAIL, item_ids=[item.pk], delivery=DeliveryChoice(method="relay", relay_point_id=RELAY_ID))
    )
    part = order.fulfilments.get()
    assert part.ship_by == order.paid_at + timedelta(days=2)  # type: ignore[operator]


def test_an_address_cleaned_is_the_carriers_own_shape() -> None:
    address, errors = address_clean({**HOME, "postal_code": " 64 000 "})
    assert errors == {} and address == Address(
        name="Camille Martin", address_line1="3 rue des Lilas", postal_code="64000", city="Pau"
    )


def test_the_reconciliation_names_shipping_that_was_not_credited(paid_two_parcels: Order) -> None:
    LedgerEntry.objects.filter(order=paid_two_parcels, account=LedgerEntry.Account.PLATFORM_SHIPPING).delete()
    assert f"order {paid_two_parcels.pk}: shipping credited 0, shipping paid 1080" in list(ledger_differences())


def test_the_order_email_says_where_each_parcel_goes_and_what_shipping_cost(
    three_parts: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    boucle = three_parts["boucle"]
    order = order_start(
        email=EMAIL,
        item_ids=[three_parts["collected"].pk, three_parts["shipped"].pk],
        delivery={(boucle.pk, None): DeliveryChoice(method="relay", relay_point_id=RELAY_ID)},
    )
    with django_capture_on_commit_callbacks(execute=True):
        pay(order)

    (receipt,) = [message for message in mail.outbox if message.to == [EMAIL]]
    point = DemoCarrier().relay_point(RELAY_ID)
    assert point is not None
    assert "Dont frais de port : 4,90\u00a0€" in receipt.body
    assert "Envoyé par Ressourcerie La Boucle" in receipt.body
    assert f"Livré au point relais {point.name}, {point.address_line1}, 64000 {point.city}." in receipt.body
    # The collected part keeps its claim code; the parcel has none to show.
    assert receipt.body.count("Votre code de retrait") == 1
    assert "À retirer chez Emmaüs Lescar-Pau" in receipt.body


def test_a_dispute_of_the_whole_payment_takes_the_shipping_from_its_account_and_a_won_one_gives_it_back(
    paid_two_parcels: Order,
) -> None:
    order = paid_two_parcels
    opened = replace(dispute_of(order, 1, order.amount_cents, "needs_response"), payment_id=order.provider_payment_id)
    event_receive(event=opened)

    shipping = LedgerEntry.objects.filter(order=order, account=LedgerEntry.Account.PLATFORM_SHIPPING)
    assert shipping.get(reason=LedgerEntry.Reason.DISPUTE).amount_cents == 1080
    for line in order.lines.all():
        assert campaign_progress(campaign_id=line.campaign_id)[0] == 0

    event_receive(event=replace(dispute_of(order, 1, order.amount_cents, "won"), payment_id=order.provider_payment_id))
    assert shipping.get(reason=LedgerEntry.Reason.DISPUTE_WON).amount_cents == 1080
    assert list(ledger_differences()) == []


def test_an_organisation_is_transferred_its_items_prices_never_the_shipping() -> None:
    organisation = OrganisationFactory(stripe_account_id="acct_demo_boucle", stripe_transfers_active=True)
    item = parcel_item(organisation, grams=800, price=1200)
    order = pay(
        order_start(email=EMAIL, item_ids=[item.pk], delivery=DeliveryChoice(method="relay", relay_point_id=RELAY_ID))
    )
    part = order.fulfilments.get()
    # Delivered (the tracking's job) starts the same clock as a hand-over; here, straight to the transfer.
    Fulfilment.objects.filter(pk=part.pk).update(handed_over_at=timezone.now())

    fulfilment_transfer(fulfilment_id=part.pk)

    assert list(Transfer.objects.values_list("fulfilment_id", "amount_cents")) == [(part.pk, 1200)]
    assert order.amount_cents == 1690


def test_a_client_asking_too_many_quotes_is_told_to_wait(api: APIClient, settings: Any) -> None:
    item = parcel_item(OrganisationFactory(), grams=500, price=1500)
    with mock.patch("checkout.throttles.QUOTES_PER_CLIENT_HOUR", 2):
        answers = [api.get(f"/api/delivery/quote/?items={item.pk}&method=relay").status_code for _i in range(3)]
        refused = api.get(f"/api/delivery/quote/?items={item.pk}&method=relay")
    assert answers == [200, 200, 429]
    assert refused.json()["code"] == "too_many_attempts" and int(refused["Retry-After"]) > 0
