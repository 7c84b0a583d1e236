from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from donations.models import ItemStatus
from donations.services import item_transition
from qr.models import Placement
from qr.services import placement_remove, short_code_for
from tests.factories import CampaignFactory, ItemFactory, WindowFactory, add_photo, place_items

pytestmark = pytest.mark.django_db


def test_window_detail_has_the_fields_of_the_public_contract(api: APIClient) -> None:
    window = WindowFactory(name="Vitrine de Noël", place="Boutique de Lescar")
    placements = place_items(window, 3)

    response = api.get(f"/api/windows/{window.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"id", "name", "place", "organisation", "placements", "screen_url", "sheet_url"}
    assert data["id"] == window.pk and data["name"] == "Vitrine de Noël" and data["place"] == "Boutique de Lescar"
    assert data["organisation"] == {"slug": window.organisation.slug, "name": window.organisation.name}
    assert data["screen_url"] == f"http://testserver/windows/{window.pk}/screen/"
    assert data["sheet_url"] == f"http://testserver/windows/{window.pk}/sheet.pdf"
    assert data["placements"] == [
        {"item": p.item_id, "short_url": f"http://testserver/q/{p.short_code.code}", "position": index}
        for index, p in enumerate(placements)
    ]


def test_the_list_shows_only_windows_on_display_now(api: APIClient) -> None:
    now = timezone.now()
    current = WindowFactory()
    WindowFactory(is_active=False)
    WindowFactory(starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=5))
    WindowFactory(starts_at=now - timedelta(days=5), ends_at=now - timedelta(days=1))
    open_ended = WindowFactory(ends_at=None)

    body = api.get("/api/windows/").json()

    assert {window["id"] for window in body["results"]} == {current.pk, open_ended.pk}
    assert body["count"] == 2


def test_a_window_not_on_display_is_a_json_404(api: APIClient) -> None:
    window = WindowFactory(is_active=False)
    response = api.get(f"/api/windows/{window.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_removed_placements_and_private_items_are_not_listed(api: APIClient) -> None:
    window = WindowFactory()
    kept, removed = place_items(window, 2)
    placement_remove(placement=removed)
    sold = place_items(window, 1)[0]  # sold items stay listed: the screen shows them as sold
    item_transition(item=sold.item, to=ItemStatus.RESERVED)
    item_transition(item=sold.item, to=ItemStatus.SOLD)
    withdrawn = place_items(window, 1)[0]
    item_transition(item=withdrawn.item, to=ItemStatus.WITHDRAWN)

    items = [p["item"] for p in api.get(f"/api/windows/{window.pk}/").json()["placements"]]

    assert items == [kept.item_id, sold.item_id]


def test_placements_added_in_the_admin_get_their_short_code_on_read(api: APIClient) -> None:
    window = WindowFactory()
    item = ItemFactory(campaign=CampaignFactory(organisation=window.organisation))
    placement = Placement.objects.create(window=window, item=item, position=0)

    (data,) = api.get(f"/api/windows/{window.pk}/").json()["placements"]

    assert data["short_url"] == f"http://testserver/q/{short_code_for(target=placement).code}"


@pytest.mark.parametrize("size", [2, 12])
def test_window_list_costs_a_fixed_number_of_queries(api: APIClient, size: int) -> None:
    for _ in range(2):
        place_items(WindowFactory(), size)
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/windows/")
    assert sum(len(window["placements"]) for window in response.json()["results"]) == 2 * size
    assert len(queries) == 4  # count, windows, placements with items and codes, photos


def test_items_filter_by_window(api: APIClient) -> None:
    window, other = WindowFactory(), WindowFactory()
    placed = place_items(window, 2)
    place_items(other, 1)
    removed = place_items(window, 1)[0]
    placement_remove(placement=removed)
    ItemFactory()

    ids = {item["id"] for item in api.get(f"/api/items/?window={window.pk}").json()["results"]}

    assert ids == {p.item_id for p in placed}
    assert api.get("/api/items/?window=abc").json()["fields"].keys() == {"window"}


def test_items_and_campaigns_carry_a_short_url_that_leads_to_them(api: APIClient, client) -> None:  # type: ignore[no-untyped-def]
    item = ItemFactory()
    add_photo(item)

    item_data = api.get("/api/items/").json()["results"][0]
    campaign_data = api.get("/api/campaigns/").json()["results"][0]
    detail = api.get(f"/api/items/{item.pk}/").json()

    assert item_data["short_url"] == detail["short_url"]
    assert item_data["short_url"].startswith("http://testserver/q/")
    path = item_data["short_url"].removeprefix("http://testserver")
    assert client.get(path)["Location"] == f"/objets/{item.pk}/"
    path = campaign_data["short_url"].removeprefix("http://testserver")
    assert client.get(path)["Location"] == f"/campagnes/{item.campaign.slug}/"
    assert api.get(f"/api/campaigns/{item.campaign.slug}/").json()["short_url"] == campaign_data["short_url"]


@pytest.mark.parametrize("size", [1, 20])
def test_once_codes_exist_short_urls_cost_no_query_at_all(api: APIClient, size: int) -> None:
    for _ in range(size):
        add_photo(ItemFactory())
    api.get(f"/api/items/?page_size={size}")
    api.get("/api/campaigns/")

    with CaptureQueriesContext(connection) as item_queries:
        items = api.get(f"/api/items/?page_size={size}").json()["results"]
    with CaptureQueriesContext(connection) as campaign_queries:
        campaigns = api.get("/api/campaigns/?page_size=20").json()["results"]

    assert all(item["short_url"] for item in items) and all(c["short_url"] for c in campaigns)
    assert len(item_queries) == 3  # count, items with their campaign and short code, photos
    assert len(campaign_queries) == 2  # count, campaigns with their organisation and short code
