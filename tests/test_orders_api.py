"""``POST /api/orders/``: a basket of objects, of one or several organisations,
held all at once or not at all, paid in one payment. The contract, its
refusals, and hostile bodies (always a 4xx in the error shape, never a 500,
and nothing held)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Organisation
from donations.models import Fulfilment, Item, ItemStatus, Order, OrderLine, PaymentStatus, Reservation
from payments.gateways import GatewayError
from realtime.models import RealtimeEvent
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = "passant@example.org"
HOME = {"name": "Camille Martin", "address_line1": "3 rue des Lilas", "postal_code": "64000", "city": "Pau"}


def basket(api: APIClient, items: list[Any], email: str = EMAIL, **extra: Any) -> Any:
    body = {"email": email, "items": [item.pk if isinstance(item, Item) else item for item in items], **extra}
    return api.post("/api/orders/", body, format="json")


def two_organisations() -> tuple[list[Item], list[Item]]:
    """Two objects of one organisation (two campaigns) and one of another."""
    lescar = OrganisationFactory(name="Emmaüs Lescar-Pau")
    boucle = OrganisationFactory(name="Ressourcerie La Boucle")
    first = [
        ItemFactory(campaign=CampaignFactory(organisation=lescar), price_cents=1200),
        ItemFactory(campaign=CampaignFactory(organisation=lescar), price_cents=3050),
    ]
    return first, [ItemFactory(campaign=CampaignFactory(organisation=boucle), price_cents=800)]


def nothing_held(*items: Item) -> None:
    """A refused basket left no trace: no order, no hold, no line, no event, every item still listed."""
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()
    assert not OrderLine.objects.exists() and not Fulfilment.objects.exists()
    assert not RealtimeEvent.objects.exists()
    for item in items:
        assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED


# --- The contract ------------------------------------------------------------------------------


def test_a_basket_of_two_organisations_holds_every_item_and_answers_one_payment_with_its_totals(
    api: APIClient,
) -> None:
    lescar_items, boucle_items = two_organisations()
    items = [*lescar_items, *boucle_items]

    response = basket(api, items)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "order_id",
        "checkout_url",
        "expires_at",
        "currency",
        "items_cents",
        "shipping_cents",
        "total_cents",
        "shipping",
    }
    assert (body["currency"], body["items_cents"], body["shipping_cents"], body["total_cents"]) == (
        "EUR",
        5050,
        0,
        5050,
    )
    lescar, boucle = (item.campaign.organisation for item in (lescar_items[0], boucle_items[0]))
    assert sorted(body["shipping"], key=lambda part: part["organisation"]["slug"]) == sorted(
        [
            {"organisation": {"slug": lescar.slug, "name": "Emmaüs Lescar-Pau"}, "shipping_cents": 0},
            {"organisation": {"slug": boucle.slug, "name": "Ressourcerie La Boucle"}, "shipping_cents": 0},
        ],
        key=lambda part: part["organisation"]["slug"],
    )
    assert body["checkout_url"].startswith("http://testserver/payments/demo/")

    order = Order.objects.get(pk=body["order_id"])
    assert (order.amount_cents, order.status, order.email) == (5050, PaymentStatus.PENDING, EMAIL)
    assert timedelta(minutes=29) < order.expires_at - timezone.now() <= timedelta(minutes=30)
    lines = {line.item_id: line for line in order.lines.select_related("fulfilment")}
    assert {pk: line.amount_cents for pk, line in lines.items()} == {item.pk: item.price_cents for item in items}
    assert {pk: line.campaign_id for pk, line in lines.items()} == {item.pk: item.campaign_id for item in items}
    # One part per organisation, each with its own claim code.
    parts = {part.organisation_id: part for part in order.fulfilments.all()}
    assert set(parts) == {lescar.pk, boucle.pk}
    assert len({part.claim_code for part in parts.values()}) == 2
    assert {pk: line.fulfilment.organisation_id for pk, line in lines.items()} == {
        item.pk: item.campaign.organisation_id for item in items
    }
    holds = Reservation.objects.filter(order=order)
    assert sorted(holds.values_list("item_id", flat=True)) == sorted(item.pk for item in items)
    assert set(holds.values_list("status", flat=True)) == {Reservation.Status.HELD}
    assert all(Item.objects.get(pk=item.pk).status == ItemStatus.RESERVED for item in items)
    reserved = RealtimeEvent.objects.filter(type="item.reserved")
    assert sorted(reserved.values_list("public__item", flat=True)) == sorted(item.pk for item in items)


def test_delivery_may_be_left_out_or_be_collection(api: APIClient) -> None:
    first, second, third = ItemFactory(), ItemFactory(), ItemFactory()

    assert basket(api, [first]).status_code == 201
    assert basket(api, [second], email="b@example.org", delivery={"method": "collection"}).status_code == 201
    assert basket(api, [third], email="c@example.org", delivery=None).status_code == 201


def test_the_one_item_checkout_and_a_one_item_basket_make_the_same_order(api: APIClient) -> None:
    item, other = ItemFactory(price_cents=4500), ItemFactory(price_cents=4500)

    one = api.post(f"/api/items/{item.pk}/checkout/", {"email": EMAIL}, format="json")
    single = basket(api, [other], email="b@example.org")

    assert one.status_code == single.status_code == 201
    assert set(one.json()) == {"order_id", "checkout_url", "expires_at"}
    assert single.json()["total_cents"] == 4500
    for response in (one, single):
        order = Order.objects.get(pk=response.json()["order_id"])
        assert order.lines.count() == 1 and order.fulfilments.count() == 1 and order.amount_cents == 4500


def test_a_signed_in_buyer_owns_the_basket(api: APIClient) -> None:
    person = UserFactory()
    api.force_authenticate(person)

    response = basket(api, [ItemFactory(), ItemFactory()], email=person.email)

    assert response.status_code == 201
    assert Order.objects.get(pk=response.json()["order_id"]).user_id == person.pk


# --- Refusals --------------------------------------------------------------------------------


def test_a_basket_with_one_item_taken_holds_none_and_names_the_items_not_available(api: APIClient) -> None:
    free, sold, reserved = ItemFactory(), ItemFactory(status=ItemStatus.SOLD), ItemFactory(status=ItemStatus.RESERVED)

    response = basket(api, [reserved, free, sold])

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "item_unavailable" and body["detail"]
    assert body["unavailable"] == sorted([sold.pk, reserved.pk])
    nothing_held(free)
    assert Item.objects.get(pk=reserved.pk).status == ItemStatus.RESERVED


def test_a_basket_naming_a_missing_item_is_refused_with_that_id(api: APIClient) -> None:
    item, draft = ItemFactory(), ItemFactory(status=ItemStatus.DRAFT)
    missing = draft.pk + 1000

    response = basket(api, [item, draft, missing])

    assert response.status_code == 409
    assert response.json()["unavailable"] == [draft.pk, missing]
    nothing_held(item)


def test_a_basket_of_one_missing_item_is_refused_as_any_basket_not_with_a_404(api: APIClient) -> None:
    # The one-item checkout answers 404 for a missing item (its path names it); a basket's
    # answer does not depend on its size.
    draft = ItemFactory(status=ItemStatus.DRAFT)
    for missing in (987654, draft.pk):
        response = basket(api, [missing])
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "item_unavailable" and response.json()["unavailable"] == [missing]
    assert not Order.objects.exists()
    assert api.post("/api/items/987654/checkout/", {"email": EMAIL}, format="json").status_code == 404


@pytest.mark.parametrize("method", ["pigeon", "", None, 1, ["collection"], {"x": 1}, "RELAY", "relay\x00"])
def test_a_delivery_method_that_is_not_one_of_ours_is_a_field_error_on_delivery_method(
    api: APIClient, method: Any
) -> None:
    item = ItemFactory()

    response = basket(api, [item], delivery={"method": method})

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == ["delivery.method"]
    if method == "pigeon":
        assert body["fields"]["delivery.method"] == [
            "Choisissez « collection » (retrait sur place), « relay » (point relais) ou « home » (à domicile)."
        ]
    nothing_held(item)


@pytest.mark.parametrize("delivery", [{"method": "relay", "relay_point_id": "DEMO-64000-01"}, {"method": "home"}])
def test_a_parcel_for_an_object_collected_only_is_a_field_error_and_holds_nothing(
    api: APIClient, delivery: dict[str, Any]
) -> None:
    item = ItemFactory(title="Armoire normande")
    delivery = {**delivery, "address": HOME} if delivery["method"] == "home" else delivery

    response = basket(api, [item], delivery=delivery)

    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {
        "delivery.method": ["Ces objets ne peuvent pas être envoyés ainsi : « Armoire normande »."]
    }
    nothing_held(item)


def test_the_delivery_error_is_in_the_language_of_the_request(api: APIClient) -> None:
    response = api.post(
        "/api/orders/",
        {"email": EMAIL, "items": [ItemFactory().pk], "delivery": {"method": "pigeon"}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["delivery.method"] == [
        "Choose “collection” (collect on site), “relay” (relay point) or “home” (home delivery)."
    ]


@pytest.mark.parametrize("delivery", ["collection", 1, ["collection"], True])
def test_a_delivery_that_is_not_an_object_is_a_field_error(api: APIClient, delivery: Any) -> None:
    response = basket(api, [ItemFactory()], delivery=delivery)
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["delivery"]


def test_a_delivery_without_a_method_is_a_field_error(api: APIClient) -> None:
    response = basket(api, [ItemFactory()], delivery={})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["delivery.method"]


def test_an_item_twice_in_a_basket_is_a_field_error_and_holds_nothing(api: APIClient) -> None:
    item, other = ItemFactory(), ItemFactory()

    response = basket(api, [item, other, item])

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"] == {"items": ["Un même objet ne peut figurer qu'une fois dans le panier."]}
    nothing_held(item, other)


def test_an_empty_basket_is_refused_on_items(api: APIClient) -> None:
    response = basket(api, [])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "basket_empty" and list(body["fields"]) == ["items"]


def test_a_basket_over_the_configured_size_is_refused_on_items_and_holds_nothing(api: APIClient, settings: Any) -> None:
    settings.BASKET_MAX_ITEMS = 2
    items = ItemFactory.create_batch(3)

    response = basket(api, items)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "basket_too_large" and list(body["fields"]) == ["items"]
    assert "2" in body["fields"]["items"][0]
    nothing_held(*items)
    assert basket(api, items[:2]).status_code == 201  # at the bound: accepted


def test_ten_thousand_ids_are_refused_before_any_query(api: APIClient, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        response = basket(api, list(range(1, 10_001)))
    assert response.status_code == 400 and response.json()["code"] == "basket_too_large"


@pytest.mark.parametrize(
    "items",
    [
        "1,2",
        "12",
        12,
        None,
        True,
        {"id": 1},
        ["abc"],
        [-1],
        [0],
        [2**63],
        [10**40],
        [1.5],
        [True],
        [None],
        [[1]],
        [{"id": 1}],
        ["1" * 2000],
        ["1\x00"],
    ],
)
def test_hostile_items_are_a_field_error_never_a_500_and_hold_nothing(api: APIClient, items: Any) -> None:
    item = ItemFactory()

    response = api.post("/api/orders/", {"email": EMAIL, "items": items}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["fields"]) == ["items"], body
    nothing_held(item)


@pytest.mark.parametrize(
    "body",
    [
        {"items": [1]},
        {"email": "pas-un-email", "items": [1]},
        {"email": ["a@example.org"], "items": [1]},
        {"email": {"a": 1}, "items": [1]},
        {"email": "a" * 300 + "@example.org", "items": [1]},
        {"email": EMAIL},
    ],
)
def test_a_missing_or_hostile_email_or_items_is_a_field_error(api: APIClient, body: dict[str, Any]) -> None:
    ItemFactory()
    response = api.post("/api/orders/", body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()["fields"]) <= {"email", "items"}
    assert not Order.objects.exists()


@pytest.mark.parametrize("raw", ["[1, 2]", '"panier"', "null", "{", "1e999999"])
def test_a_body_that_is_not_an_object_is_a_400_never_a_500(api: APIClient, raw: str) -> None:
    response = api.post("/api/orders/", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"invalid", "parse_error"}


@pytest.mark.parametrize("depth", [50, 300, 600, 900, 5000])
@pytest.mark.parametrize("where", ["items", "delivery.method", "email"])
def test_a_deeply_nested_value_is_a_400_never_a_500(api: APIClient, depth: int, where: str) -> None:
    nested = "[" * depth + "]" * depth
    values = {"email": '"a@example.org"', "items": "[1]", "delivery.method": '"collection"'}
    values[where] = nested
    raw = (
        f'{{"email": {values["email"]}, "items": {values["items"]}, '
        f'"delivery": {{"method": {values["delivery.method"]}}}}}'
    )
    ItemFactory()

    response = api.post("/api/orders/", raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"invalid", "parse_error"}
    assert not Order.objects.exists()


def test_baskets_count_as_payment_attempts_per_email(api: APIClient, settings: Any) -> None:
    settings.PAYMENT_ATTEMPTS_PER_EMAIL = 1
    first, second = ItemFactory(), ItemFactory()
    assert basket(api, [first]).status_code == 201

    response = basket(api, [second])

    assert response.status_code == 429 and response.json()["code"] == "too_many_attempts"
    assert "Retry-After" in response
    assert Item.objects.get(pk=second.pk).status == ItemStatus.LISTED


def test_baskets_and_item_checkouts_share_one_attempt_counter_per_client(api: APIClient, settings: Any) -> None:
    settings.PAYMENT_ATTEMPTS_PER_CLIENT = 1
    first, second = ItemFactory(), ItemFactory()
    assert api.post(f"/api/items/{first.pk}/checkout/", {"email": "a@example.org"}, format="json").status_code == 201

    response = basket(api, [second], email="b@example.org")

    assert response.status_code == 429 and response.json()["code"] == "too_many_attempts"


def test_a_basket_is_one_hold_against_the_cap_of_one_email(api: APIClient, settings: Any) -> None:
    settings.HOLDS_MAX_PER_EMAIL = 2
    assert basket(api, ItemFactory.create_batch(3)).status_code == 201
    assert basket(api, ItemFactory.create_batch(3)).status_code == 201

    response = basket(api, ItemFactory.create_batch(2))

    assert response.status_code == 429 and response.json()["code"] == "too_many_holds"


def test_a_provider_failure_releases_every_item_of_the_basket(api: APIClient) -> None:
    items = ItemFactory.create_batch(3)
    with mock.patch("payments.demo_gateway.DemoGateway.checkout_create", side_effect=GatewayError("provider down")):
        response = basket(api, items)

    assert response.status_code == 503 and response.json()["code"] == "payment_unavailable"
    assert "provider down" not in response.content.decode()
    assert Order.objects.get().status == PaymentStatus.FAILED
    assert set(Reservation.objects.values_list("status", flat=True)) == {Reservation.Status.RELEASED}
    assert all(Item.objects.get(pk=item.pk).status == ItemStatus.LISTED for item in items)
    assert basket(api, items).status_code == 201  # and the basket can be bought again


def test_get_on_the_orders_collection_is_not_allowed(api: APIClient) -> None:
    response = api.get("/api/orders/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


# --- The schema ------------------------------------------------------------------------------


def test_the_schema_documents_the_basket_body_its_bounds_and_its_failures(api: APIClient, settings: Any) -> None:
    document = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = document["paths"]["/api/orders/"]["post"]
    assert {"201", "400", "409", "429", "503"} <= set(operation["responses"])
    assert "unavailable" in operation["responses"]["409"]["description"]
    schemas = document["components"]["schemas"]
    body = schemas[operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert set(body["required"]) == {"email", "items"}
    items = body["properties"]["items"]
    assert items["type"] == "array" and items["maxItems"] == settings.BASKET_MAX_ITEMS
    assert items["items"]["type"] == "integer" and items["items"]["minimum"] == 1
    answer = schemas[operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert set(answer["properties"]) == {
        "order_id",
        "checkout_url",
        "expires_at",
        "currency",
        "items_cents",
        "shipping_cents",
        "total_cents",
        "shipping",
    }


def test_organisation_in_shipping_is_the_reference_every_other_resource_uses(api: APIClient) -> None:
    item = ItemFactory()
    organisation: Organisation = item.campaign.organisation

    (part,) = basket(api, [item]).json()["shipping"]

    assert part == {"organisation": {"slug": organisation.slug, "name": organisation.name}, "shipping_cents": 0}
