from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from campaigns.models import Campaign
from donations.models import ItemStatus
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_photo

pytestmark = pytest.mark.django_db


def test_campaign_list_has_the_public_fields_with_money_as_integers(api: APIClient) -> None:
    campaign = CampaignFactory(goal_cents=1_200_000, title="Un toit pour l'hiver")
    CampaignFactory(status=Campaign.Status.DRAFT)

    response = api.get("/api/campaigns/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["previous"] is None
    (data,) = body["results"]
    assert set(data) == {
        "slug",
        "title",
        "summary",
        "organisation",
        "goal_cents",
        "raised_cents",
        "currency",
        "backers_count",
        "status",
        "starts_at",
        "ends_at",
        "cover_url",
        "url",
        "short_url",
    }
    assert data["slug"] == campaign.slug
    assert data["organisation"] == {"slug": campaign.organisation.slug, "name": campaign.organisation.name}
    assert data["goal_cents"] == 1_200_000 and isinstance(data["goal_cents"], int)
    assert data["raised_cents"] == 0 and data["backers_count"] == 0
    assert data["currency"] == "EUR" and data["status"] == "live"
    assert data["url"] == f"http://testserver/campagnes/{campaign.slug}/"
    assert "+" in data["starts_at"] or data["starts_at"].endswith("Z")


def test_campaign_detail_by_slug_and_draft_is_hidden(api: APIClient) -> None:
    live = CampaignFactory()
    draft = CampaignFactory(status=Campaign.Status.DRAFT)
    assert api.get(f"/api/campaigns/{live.slug}/").json()["title"] == live.title
    response = api.get(f"/api/campaigns/{draft.slug}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_item_list_shapes_photos_and_prices(api: APIClient) -> None:
    item = ItemFactory(price_cents=18000, title="Buffet en chêne")
    add_photo(item, size=(80, 60))

    data = api.get("/api/items/").json()["results"][0]

    assert data["id"] == item.pk and data["price_cents"] == 18000 and data["currency"] == "EUR"
    assert data["status"] == "listed" and data["condition"] == "good"
    assert data["campaign"] == {"slug": item.campaign.slug, "title": item.campaign.title}
    (photo,) = data["photos"]
    assert photo["width"] == 80 and photo["height"] == 60
    assert photo["url"].startswith("http://testserver/media/items/")
    assert data["url"] == f"http://testserver/objets/{item.pk}/"


def test_photo_urls_load(api: APIClient, client) -> None:  # type: ignore[no-untyped-def]
    add_photo(ItemFactory())
    url = api.get("/api/items/").json()["results"][0]["photos"][0]["url"]
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_anonymous_callers_see_only_listed_reserved_and_sold_items(api: APIClient) -> None:
    shown = {ItemFactory(status=status).pk for status in (ItemStatus.LISTED, ItemStatus.RESERVED, ItemStatus.SOLD)}
    for status in (ItemStatus.DRAFT, ItemStatus.IN_REVIEW, ItemStatus.REJECTED, ItemStatus.WITHDRAWN):
        ItemFactory(status=status)

    ids = {item["id"] for item in api.get("/api/items/").json()["results"]}

    assert ids == shown


def test_owners_also_see_their_own_items_in_review(api: APIClient) -> None:
    owner = UserFactory()
    mine = ItemFactory(owner=owner, status=ItemStatus.IN_REVIEW)
    ItemFactory(status=ItemStatus.IN_REVIEW)
    api.force_authenticate(owner)
    ids = {item["id"] for item in api.get("/api/items/").json()["results"]}
    assert mine.pk in ids and len(ids) == 1


def test_filters_filter(api: APIClient) -> None:
    first, second = CampaignFactory(), CampaignFactory()
    buffet = ItemFactory(campaign=first, title="Buffet en chêne massif")
    lamp = ItemFactory(campaign=second, title="Lampe de bureau", description="Métal vert")
    sold = ItemFactory(campaign=second, title="Vélo de ville", status=ItemStatus.SOLD)

    def ids(query: str) -> set[int]:
        return {item["id"] for item in api.get(f"/api/items/?{query}").json()["results"]}

    assert ids(f"campaign={first.slug}") == {buffet.pk}
    assert ids("status=listed") == {buffet.pk, lamp.pk}
    assert ids("status=sold") == {sold.pk}
    assert ids("q=chêne") == {buffet.pk}
    assert ids("q=VERT") == {lamp.pk}
    assert ids(f"q=lampe&campaign={first.slug}") == set()


def test_a_bad_filter_value_is_a_field_level_400(api: APIClient) -> None:
    response = api.get("/api/items/?status=lost")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["status"]
    assert body["detail"]


def test_errors_speak_the_request_language(api: APIClient) -> None:
    french = api.get("/api/items/?status=lost", HTTP_ACCEPT_LANGUAGE="fr").json()
    english = api.get("/api/items/?status=lost", HTTP_ACCEPT_LANGUAGE="en").json()
    assert french["fields"]["status"] != english["fields"]["status"]
    assert "valid" in english["fields"]["status"][0]


def test_an_unknown_item_is_a_json_404(api: APIClient) -> None:
    response = api.get("/api/items/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_unknown_api_path_is_a_json_404(api: APIClient) -> None:
    response = api.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("size", [1, 20])
def test_item_list_costs_a_fixed_number_of_queries_whatever_the_page_size(api: APIClient, size: int) -> None:
    for _ in range(size):
        add_photo(ItemFactory())
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/items/?page_size={size}")
    assert len(response.json()["results"]) == size
    # count, items with their campaign and short code (given when listed), photos
    assert len(queries) == 3


@pytest.mark.parametrize("size", [1, 15])
def test_campaign_list_costs_a_fixed_number_of_queries(api: APIClient, size: int) -> None:
    for _ in range(size):
        CampaignFactory()
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/campaigns/")
    assert response.json()["count"] == size
    # count, campaigns with their organisation and short code; plus, on this first read,
    # one insert of the missing short codes and one read-back (tests/test_qr_short_urls.py: 2 once warm)
    assert len(queries) == 4


def test_pagination_links(api: APIClient) -> None:
    for _ in range(3):
        ItemFactory()
    body = api.get("/api/items/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert "page=2" in body["next"]
    assert api.get("/api/items/?page=9").status_code == 404
