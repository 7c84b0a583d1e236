"""Where objects are: every write that sets a place derives the item's department (a private
giver's postal code, given or from their account, else the organisation's); an organisation
that moves takes its objects along; managers correct the category on review; the data
migration places existing items and files obvious bikes; the organisation's opening hours."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Membership, Organisation
from donations.models import Item, ItemStatus
from donations.services import item_receive, organisation_items_relocate
from tests.factories import (
    CampaignFactory,
    GiftInKindFactory,
    ItemFactory,
    OrganisationFactory,
    UserFactory,
    image_bytes,
    item_post_data,
    manager_of,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign() -> Any:
    return CampaignFactory(organisation=OrganisationFactory(postal_code="64000"))


def _post(api: APIClient, campaign: Any, **fields: Any) -> Any:
    return api.post("/api/items/", item_post_data(campaign, **fields), format="multipart")


def test_a_private_givers_postal_code_places_the_object(api: APIClient, campaign: Any) -> None:
    api.force_authenticate(UserFactory(postal_code="75004"))
    response = _post(api, campaign, postal_code="20 000", weight_grams=2500)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["postal_code"], body["department"], body["weight_grams"]) == ("20000", "2A", 2500)


def test_without_one_the_givers_account_postal_code_is_used(api: APIClient, campaign: Any) -> None:
    api.force_authenticate(UserFactory(postal_code="97110"))
    body = _post(api, campaign).json()
    assert (body["postal_code"], body["department"], body["weight_grams"]) == ("97110", "971", None)


def test_without_any_the_object_is_at_the_organisation(api: APIClient, campaign: Any) -> None:
    api.force_authenticate(UserFactory(postal_code="B-1000"))  # an account abroad
    body = _post(api, campaign, postal_code="").json()
    assert (body["postal_code"], body["department"]) == ("", "64")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"postal_code": "7500"}, "postal_code"),
        ({"postal_code": "98000"}, "postal_code"),  # Monaco
        ({"postal_code": "abcde"}, "postal_code"),
        ({"postal_code": "75004' OR '1'='1"}, "postal_code"),
        ({"postal_code": "７５００４"}, "postal_code"),
        ({"weight_grams": "0"}, "weight_grams"),
        ({"weight_grams": "-5"}, "weight_grams"),
        ({"weight_grams": "100001"}, "weight_grams"),
        ({"weight_grams": "1e9"}, "weight_grams"),
        ({"weight_grams": "lourd"}, "weight_grams"),
        ({"category": "weapons"}, "category"),
    ],
)
def test_hostile_places_and_weights_are_field_errors(
    api: APIClient, campaign: Any, fields: dict[str, str], field: str
) -> None:
    api.force_authenticate(UserFactory())
    response = _post(api, campaign, **fields)
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [field]
    assert not Item.objects.exists()


def test_editing_the_postal_code_moves_the_object(api: APIClient, campaign: Any) -> None:
    donor = UserFactory()
    api.force_authenticate(donor)
    item_id = _post(api, campaign, postal_code="75004").json()["id"]
    response = api.patch(f"/api/items/{item_id}/", {"postal_code": "20200", "weight_grams": 800}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["department"], response.json()["weight_grams"]) == ("2B", 800)
    api.patch(f"/api/items/{item_id}/", {"postal_code": ""}, format="json")
    assert Item.objects.values_list("postal_code", "department").get(pk=item_id) == ("", "64")
    assert api.patch(f"/api/items/{item_id}/", {"postal_code": "2A000"}, format="json").status_code == 400


def test_the_page_form_places_the_object_and_says_what_is_wrong(client: Client, campaign: Any) -> None:
    client.force_login(UserFactory(postal_code="01000"))
    data = item_post_data(campaign, price_cents="12,50", photos=[upload("v.jpg", image_bytes((640, 480), "JPEG"))])
    refused = client.post("/mes-objets/nouveau/", {**data, "postal_code": "1234", "weight_grams": "0"})
    assert refused.status_code == 400
    assert "code postal français" in refused.content.decode() and not Item.objects.exists()
    data["photos"] = [upload("v.jpg", image_bytes((640, 480), "JPEG"))]
    assert client.post("/mes-objets/nouveau/", {**data, "weight_grams": "900"}).status_code == 302
    assert Item.objects.values_list("postal_code", "department", "weight_grams").get() == ("01000", "01", 900)


def test_a_gift_received_by_the_organisation_stands_there() -> None:
    organisation = OrganisationFactory(postal_code="33000")
    gift = GiftInKindFactory(
        campaign=CampaignFactory(organisation=organisation), postal_code="20000", status=ItemStatus.ACCEPTED
    )
    assert gift.department == "2A"
    item_receive(item=gift, actor=manager_of(organisation))
    assert Item.objects.values_list("postal_code", "department").get(pk=gift.pk) == ("", "33")


def test_an_organisation_that_moves_takes_the_objects_standing_there(
    client: Client, django_assert_num_queries: Any
) -> None:
    organisation = OrganisationFactory(postal_code="75011")
    campaign = CampaignFactory(organisation=organisation)
    at_the_shop = [ItemFactory(campaign=campaign) for _ in range(3)]
    at_a_givers = ItemFactory(campaign=campaign, postal_code="97400")
    elsewhere = ItemFactory()
    with django_assert_num_queries(1):
        assert organisation_items_relocate(organisation_id=organisation.pk, postal_code="69001") == 3
    assert {i.department for i in Item.objects.filter(pk__in=[i.pk for i in at_the_shop])} == {"69"}
    assert Item.objects.get(pk=at_a_givers.pk).department == "974"
    assert Item.objects.get(pk=elsewhere.pk).department == "75"

    # The admin's organisation form does it when the postal code changes.
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    form = site._registry[Organisation].get_form(None)  # type: ignore[arg-type]
    data = {name: value for name, value in form(instance=organisation).initial.items() if value not in (None, "")}
    data.update({"postal_code": "20090", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    data.pop("signature", None)
    response = client.post(f"/admin/campaigns/organisation/{organisation.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert {i.department for i in Item.objects.filter(pk__in=[i.pk for i in at_the_shop])} == {"2A"}


def test_managers_correct_the_category_when_reviewing(api: APIClient, client: Client) -> None:
    first = ItemFactory(status=ItemStatus.IN_REVIEW, category=Item.Category.SPORTS, title="Vélo")
    second = ItemFactory(campaign=first.campaign, status=ItemStatus.IN_REVIEW, category=Item.Category.OTHER)
    manager = manager_of(first.campaign.organisation)
    api.force_authenticate(manager)
    response = api.post(f"/api/items/{first.pk}/approve/", {"category": "bikes", "weight_grams": 12000}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["category"], response.json()["weight_grams"]) == ("bikes", 12000)
    assert api.post(f"/api/items/{second.pk}/approve/", {"category": "guns"}, format="json").status_code == 400

    client.force_login(manager)
    page = client.get("/gestion/relecture/").content.decode()
    assert f'name="item{second.pk}-category"' in page
    approve = {
        f"item{second.pk}-title": second.title,
        f"item{second.pk}-description": "Une description",
        f"item{second.pk}-category": "appliances",
        f"item{second.pk}-price_cents": "30",
    }
    assert client.post(f"/gestion/relecture/{second.pk}/accepter/", approve).status_code == 302
    assert Item.objects.values_list("status", "category").get(pk=second.pk) == (ItemStatus.LISTED, "appliances")


def test_the_organisations_opening_hours_page(client: Client) -> None:
    organisation = OrganisationFactory()
    client.force_login(manager_of(organisation))
    url = f"/gestion/organisations/{organisation.slug}/boutique/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"opening_hours": "x" * 1001}).status_code == 400
    assert client.post(url, {"opening_hours": " Mardi–samedi, 10 h – 18 h \n"}).status_code == 302
    organisation.refresh_from_db()
    assert organisation.opening_hours == "Mardi–samedi, 10 h – 18 h"
    client.force_login(manager_of(organisation, role=Membership.Role.VOLUNTEER))
    assert client.get(url).status_code == 404
    client.force_login(manager_of(OrganisationFactory()))
    assert client.post(url, {"opening_hours": "pirate"}).status_code == 404


# --- The data migration ------------------------------------------------------------------------

BEFORE = [("donations", "0016_counter_entries")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_places_existing_items_and_files_obvious_bikes() -> None:
    campaign = CampaignFactory(organisation=OrganisationFactory(postal_code="20200"))
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        executor.loader.build_graph()
        old = executor.loader.project_state(BEFORE).apps.get_model("donations", "Item")
        titles = {
            "Vélo de ville": "sports",
            "VELOS enfant x2": "other",
            "Porte-vélo de toit": "other",
            "Veste en velours": "clothing",
            "Velours côtelé": "other",
            "Vélomoteur": "other",
            "Vélo d'appartement": "sports",
            "Livre sur le vélo": "books",
        }
        for title, category in titles.items():
            old.objects.create(
                campaign_id=campaign.pk,
                title=title,
                description="",
                condition="good",
                category=category,
                price_cents=100,
            )
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        rows = dict(Item.objects.values_list("title", "category"))
        assert rows == {
            "Vélo de ville": "bikes",
            "VELOS enfant x2": "bikes",
            "Porte-vélo de toit": "bikes",
            "Veste en velours": "clothing",
            "Velours côtelé": "other",
            "Vélomoteur": "other",
            "Vélo d'appartement": "bikes",
            "Livre sur le vélo": "books",
        }
        assert set(Item.objects.values_list("department", flat=True)) == {"2B"}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
