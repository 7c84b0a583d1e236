"""The catalogue's filters (``GET /api/items/``): each one, together, hostile values (field errors,
never a 500), the items' new fields without a query per item."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from campaigns.models import Organisation
from donations.models import Item, ItemStatus
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, add_photo

pytestmark = pytest.mark.django_db


def _ids(api: APIClient, **params: Any) -> list[int]:
    response = api.get("/api/items/", params)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


@pytest.fixture
def shelf() -> dict[str, Item]:
    paris = CampaignFactory(organisation=OrganisationFactory(slug="emmaus-paris", postal_code="75011"))
    pau = CampaignFactory(organisation=OrganisationFactory(slug="emmaus-pau", postal_code="64000"))
    return {
        "bike": ItemFactory(campaign=paris, title="Vélo de ville", category=Item.Category.BIKES, price_cents=9000),
        "chair": ItemFactory(campaign=paris, title="Chaise", category=Item.Category.FURNITURE, price_cents=1500),
        "ajaccio": ItemFactory(
            campaign=paris, title="Table", category=Item.Category.FURNITURE, price_cents=4000, postal_code="20000"
        ),
        "pau": ItemFactory(campaign=pau, title="Lave-linge", category=Item.Category.APPLIANCES, price_cents=12000),
        "guadeloupe": ItemFactory(
            campaign=pau, title="Livres", category=Item.Category.BOOKS, price_cents=500, postal_code="97110"
        ),
        "draft": ItemFactory(campaign=pau, title="Brouillon", category=Item.Category.BOOKS, status=ItemStatus.DRAFT),
    }


def test_items_carry_their_place_organisation_weight_and_delivery(api: APIClient, shelf: dict[str, Item]) -> None:
    Item.objects.filter(pk=shelf["bike"].pk).update(weight_grams=14_500)
    body = api.get(f"/api/items/{shelf['bike'].pk}/").json()
    assert body["category"] == "bikes"
    assert body["organisation"] == {"slug": "emmaus-paris", "name": shelf["bike"].campaign.organisation.name}
    assert body["department"] == "75"
    assert body["weight_grams"] == 14_500
    assert body["delivery_methods"] == ["collection"]
    assert "postal_code" not in body and "search_vector" not in body
    assert api.get(f"/api/items/{shelf['ajaccio'].pk}/").json()["department"] == "2A"


def test_each_filter(api: APIClient, shelf: dict[str, Item]) -> None:
    ids = {name: item.pk for name, item in shelf.items()}
    assert set(_ids(api)) == set(ids.values()) - {ids["draft"]}
    assert _ids(api, category="furniture") == [ids["ajaccio"], ids["chair"]]
    assert set(_ids(api, organisation="emmaus-pau")) == {ids["pau"], ids["guadeloupe"]}
    assert _ids(api, organisation="nobody") == []
    assert _ids(api, department="2A") == [ids["ajaccio"]]
    assert _ids(api, department="971") == [ids["guadeloupe"]]
    assert _ids(api, department="64") == [ids["pau"]]
    assert set(_ids(api, department="75")) == {ids["bike"], ids["chair"]}
    assert len(_ids(api, delivery="collection")) == 5
    assert _ids(api, delivery="relay") == [] and _ids(api, delivery="home") == []
    assert set(_ids(api, min_price_cents=4000)) == {ids["ajaccio"], ids["bike"], ids["pau"]}
    assert set(_ids(api, max_price_cents=4000)) == {ids["ajaccio"], ids["chair"], ids["guadeloupe"]}
    assert _ids(api, min_price_cents=1500, max_price_cents=1500) == [ids["chair"]]


def test_orderings(api: APIClient, shelf: dict[str, Item]) -> None:
    ids = {name: item.pk for name, item in shelf.items()}
    by_price = [ids[name] for name in ("guadeloupe", "chair", "ajaccio", "bike", "pau")]
    assert _ids(api, ordering="price") == by_price
    assert _ids(api, ordering="-price") == by_price[::-1]
    assert _ids(api, ordering="newest") == [ids[n] for n in ("guadeloupe", "pau", "ajaccio", "chair", "bike")]


def test_filters_combine(api: APIClient, shelf: dict[str, Item]) -> None:
    ids = {name: item.pk for name, item in shelf.items()}
    assert _ids(api, organisation="emmaus-paris", category="furniture", department="75") == [ids["chair"]]
    assert _ids(api, q="table", department="2A", max_price_cents=4000, ordering="price") == [ids["ajaccio"]]
    assert _ids(api, q="table", department="75") == []


def test_a_manager_filters_their_objects_the_same_way(api: APIClient, shelf: dict[str, Item]) -> None:
    from tests.factories import manager_of

    api.force_authenticate(manager_of(shelf["pau"].campaign.organisation))
    response = api.get("/api/items/managed/", {"category": "books"})
    assert [item["id"] for item in response.json()["results"]] == [shelf["draft"].pk, shelf["guadeloupe"].pk]
    assert api.get("/api/items/managed/", {"department": "xx"}).status_code == 400


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "weapons"}, "category"),
        ({"category": "Vélos"}, "category"),
        ({"department": "20"}, "department"),
        ({"department": "975"}, "department"),
        ({"department": "2a"}, "department"),
        ({"department": "75004"}, "department"),
        ({"department": "' OR 1=1 --"}, "department"),
        ({"delivery": "drone"}, "delivery"),
        ({"organisation": "a" * 81}, "organisation"),
        ({"organisation": "emmaüs/../x"}, "organisation"),
        ({"min_price_cents": "-1"}, "min_price_cents"),
        ({"min_price_cents": "abc"}, "min_price_cents"),
        ({"min_price_cents": "1e3"}, "min_price_cents"),
        ({"min_price_cents": "99999999999999999999999"}, "min_price_cents"),
        ({"max_price_cents": "10000001"}, "max_price_cents"),
        ({"max_price_cents": "12.5"}, "max_price_cents"),
        ({"min_price_cents": "5000", "max_price_cents": "100"}, "max_price_cents"),
        ({"ordering": "title"}, "ordering"),
        ({"ordering": "-created_at"}, "ordering"),
        ({"ordering": "price; DROP TABLE donations_item"}, "ordering"),
    ],
)
def test_hostile_filter_values_are_field_errors(
    api: APIClient, shelf: dict[str, Item], params: dict[str, str], field: str
) -> None:
    response = api.get("/api/items/", params)
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [field]


def test_repeated_or_empty_parameters_do_not_crash(api: APIClient, shelf: dict[str, Item]) -> None:
    assert api.get("/api/items/?department=75&department=2A").status_code == 200
    assert api.get("/api/items/?ordering=price&ordering=bogus").status_code == 400
    assert api.get("/api/items/?category=&department=&ordering=").status_code in {200, 400}
    assert api.get("/api/items/?min_price_cents=0&max_price_cents=0").status_code == 200


def test_the_filter_error_is_in_the_callers_language(api: APIClient) -> None:
    french = api.get("/api/items/", {"min_price_cents": 500, "max_price_cents": 100}).json()
    english = api.get("/api/items/", {"min_price_cents": 500, "max_price_cents": 100}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert french["fields"]["max_price_cents"] == ["Le prix maximum doit être au moins égal au prix minimum."]
    assert english["fields"]["max_price_cents"] == ["The maximum price must be at least the minimum price."]


def test_the_list_takes_a_fixed_number_of_queries_whatever_the_page(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    for n in range(3):
        organisation = OrganisationFactory(postal_code=f"{n + 1:02d}000")
        for _ in range(4):
            add_photo(ItemFactory(campaign=CampaignFactory(organisation=organisation)))
    api.get("/api/items/")  # warm caches (sessions, content types)
    with django_assert_max_num_queries(4):
        body = api.get("/api/items/", {"ordering": "newest", "delivery": "collection"}).json()
    assert len(body["results"]) == 12
    assert len({item["organisation"]["slug"] for item in body["results"]}) == 3
    assert {item["department"] for item in body["results"]} == {"01", "02", "03"}


def test_the_demo_catalogue_has_something_for_each_filter(api: APIClient) -> None:
    call_command("seed_demo", stdout=io.StringIO())
    assert {"bikes", "appliances", "childcare", "diy_garden"} <= set(Item.objects.values_list("category", flat=True))
    assert {"64", "75", "2A", "2B", "971"} <= set(Item.objects.values_list("department", flat=True))
    assert Item.objects.filter(weight_grams__isnull=False).exists()
    assert not Item.objects.filter(department="").exists()
    titles = [item["title"] for item in api.get("/api/items/", {"q": "velos"}).json()["results"]]
    assert set(titles[:2]) == {"Vélo enfant 16 pouces", "Vélo de ville Peugeot"}  # titles first
    assert _ids(api, department="2A", category="music")
    assert all(Organisation.objects.values_list("opening_hours", flat=True))
