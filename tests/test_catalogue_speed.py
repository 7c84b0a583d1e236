"""The items list at catalogue scale (pages/api/catalogue.py): the fast path gives the same JSON
as ItemSerializer, cursor pages the same items as page numbers, counts are capped then
estimated (PostgreSQL), the response cache never serves an item's old state once its change
has committed, Redis down only costs time, and every filter stays within 3 queries."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from campaigns.services import campaign_update
from donations.models import Item, ItemStatus
from donations.services import item_transition, item_withdraw
from pages.api.catalogue import FAST_FIELDS
from pages.api.items import ItemSerializer
from tests.factories import (
    CampaignFactory,
    ItemFactory,
    WindowFactory,
    add_photo,
    manager_of,
    place_items,
    reserve_rolled_back,
)
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.django_db


def ids(body: dict[str, Any]) -> list[int]:
    return [row["id"] for row in body["results"]]


def walk(api: APIClient, url: str) -> list[int]:
    """Every id reached by following ``next`` links from ``url``."""
    seen: list[int] = []
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += ids(body)
        url = (body["next"] or "").removeprefix("http://testserver")
    return seen


@pytest.fixture
def uncached(settings: Any) -> None:
    settings.CATALOGUE_CACHE_SECONDS = 0


@pytest.fixture
def cached(settings: Any) -> None:
    settings.CATALOGUE_CACHE_SECONDS = 30


# --- rows as values: the same JSON ----------------------------------------------------------------------


def test_the_fast_path_knows_every_field_of_item_serializer() -> None:
    # When the serializer gains a field, the list falls back on it (slower) until item_row writes it too.
    assert tuple(ItemSerializer.Meta.fields) == FAST_FIELDS


def test_values_rows_give_the_same_json_as_item_serializer(api: APIClient, settings: Any, uncached: None) -> None:
    campaign = CampaignFactory(title="Un toit « pour » l'hiver", organisation__name="Emmaüs « Pau »")
    with_photos = ItemFactory(campaign=campaign, title="Vélo de ville", description="Cadre acier\nbon état")
    add_photo(with_photos, position=1, size=(40, 30))
    add_photo(with_photos, position=0)
    without_photo = ItemFactory(campaign=campaign, price_cents=1, weight_grams=2500, postal_code="20000")
    ItemFactory(status=ItemStatus.RESERVED)
    ItemFactory(status=ItemStatus.SOLD)
    Item.objects.filter(pk=without_photo.pk).update(description="é" * 4000)
    queries = ["", "?page_size=2", "?page=2&page_size=2", "?q=v%C3%A9lo", "?after=", "?status=listed"]
    queries += ["?ordering=price", "?q=velo&ordering=-price"]
    for query in queries:
        settings.CATALOGUE_VALUES_ROWS = True
        fast = api.get("/api/items/" + query)
        settings.CATALOGUE_VALUES_ROWS = False
        slow = api.get("/api/items/" + query)
        assert fast.status_code == slow.status_code == 200
        assert fast.content == slow.content, query
        assert fast.json()["results"], query


def test_a_listed_item_without_a_short_code_gets_one_on_the_fast_path(api: APIClient, uncached: None) -> None:
    item = ItemFactory()
    item.short_code.delete()
    row = api.get("/api/items/").json()["results"][0]
    assert row["short_url"] and row["short_url"].endswith("/q/" + Item.objects.get(pk=item.pk).short_code.code)


# --- keyset pages ---------------------------------------------------------------------------------------


def test_cursor_pages_give_the_items_of_page_numbers_in_order_without_gap_or_duplicate(
    api: APIClient, uncached: None
) -> None:
    campaign = CampaignFactory()
    items = [ItemFactory(campaign=campaign, price_cents=100 + index % 7) for index in range(23)]
    # Ties on the date: the id decides, on both paths.
    same = timezone.now() - timedelta(days=1)
    Item.objects.filter(pk__in=[item.pk for item in items[5:12]]).update(created_at=same)

    for ordering in ["", "&ordering=newest", "&ordering=price", "&ordering=-price"]:
        by_page = walk(api, "/api/items/?page_size=5" + ordering)
        by_cursor = walk(api, "/api/items/?page_size=5&after=" + ordering)

        assert by_cursor == by_page, ordering
        assert sorted(by_cursor) == sorted(item.pk for item in items) and len(set(by_cursor)) == 23


def test_a_cursor_page_carries_the_count_and_no_previous_link(api: APIClient, uncached: None) -> None:
    for _ in range(3):
        ItemFactory()
    first = api.get("/api/items/?page_size=2&after=").json()
    assert first["count"] == 3 and first["previous"] is None
    assert "after=" in first["next"] and "page=" not in first["next"]
    last = api.get(first["next"].removeprefix("http://testserver")).json()
    assert len(last["results"]) == 1 and last["next"] is None


def cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "value",
    [
        "x" * 201,
        "%%%",
        "bm90IGpzb24",  # "not json"
        cursor({"a": 1}),
        cursor([1, 2, 3]),
        cursor(["2026-01-01T00:00:00+00:00", "1"]),
        cursor(["2026-01-01T00:00:00+00:00", -1]),
        cursor(["2026-01-01T00:00:00+00:00", 2**70]),
        cursor(["'; DROP TABLE donations_item; --", 5]),
        cursor(["vélo ☃", 5]),
        cursor([None, 5]),
        cursor([1.5, 5]),
    ],
)
def test_hostile_cursors_are_field_errors(api: APIClient, uncached: None, value: str) -> None:
    ItemFactory()
    response = api.get("/api/items/", {"after": value})
    assert response.status_code == 400, response.content
    assert "after" in response.json()["fields"]


def test_repeated_cursor_params_take_the_last_one(api: APIClient, uncached: None) -> None:
    ItemFactory()
    response = api.get("/api/items/?after=%25%25&after=")
    assert response.status_code == 200 and len(response.json()["results"]) == 1


def test_a_search_by_relevance_pages_with_page_numbers_not_a_cursor(api: APIClient, uncached: None) -> None:
    ItemFactory(title="Vélo rouge")
    response = api.get("/api/items/?q=velo&after=" + cursor(["x", 1]))
    assert response.status_code in {200, 400}
    if response.status_code == 400:  # relevance order: the cursor is refused with a field error
        assert "after" in response.json()["fields"]


# --- counts ---------------------------------------------------------------------------------------------


def bulk_items(campaign: Any, count: int) -> None:
    fields = {"description": "d", "condition": "good", "price_cents": 100, "status": ItemStatus.LISTED}
    from qr.services import short_codes_ensure

    # With their short codes, as listing gives them (bench/bulkload.py does the same).
    short_codes_ensure(
        targets=Item.objects.bulk_create([Item(campaign=campaign, title=f"Objet {n}", **fields) for n in range(count)])
    )


def test_counts_are_exact_up_to_the_threshold(api: APIClient, settings: Any, uncached: None) -> None:
    settings.CATALOGUE_EXACT_COUNT_UP_TO = 100
    campaign = CampaignFactory()
    bulk_items(campaign, 100)
    assert api.get("/api/items/").json()["count"] == 100


def test_counts_above_the_threshold_are_postgresql_estimates(api: APIClient, settings: Any, uncached: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the estimate is PostgreSQL's planner's; elsewhere counts are exact")
    settings.CATALOGUE_EXACT_COUNT_UP_TO = 100
    campaign = CampaignFactory()
    bulk_items(campaign, 150)
    with connection.cursor() as cursor_:
        cursor_.execute("ANALYZE donations_item")
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/items/?status=listed").json()
    assert body["count"] > 100  # "more than 100": the planner's figure, never below what was counted
    assert any(query["sql"].startswith("EXPLAIN") for query in queries.captured_queries)
    assert len(queries.captured_queries) <= 3


# --- the response cache ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_cached_list_is_served_without_a_query(api: APIClient, cached: None) -> None:
    ItemFactory()
    first = api.get("/api/items/")
    with CaptureQueriesContext(connection) as queries:
        again = api.get("/api/items/")
    assert again.content == first.content and again["Content-Type"] == "application/json"
    assert len(queries.captured_queries) == 0


@pytest.mark.django_db(transaction=True)
def test_a_sold_listed_or_withdrawn_item_is_never_served_stale_once_committed(api: APIClient, cached: None) -> None:
    campaign = CampaignFactory()
    item = ItemFactory(campaign=campaign)
    owned = ItemFactory(campaign=campaign)
    waiting = ItemFactory(campaign=campaign, status=ItemStatus.IN_REVIEW)

    def statuses() -> dict[int, str]:
        return {row["id"]: row["status"] for row in api.get("/api/items/").json()["results"]}

    assert statuses() == {item.pk: "listed", owned.pk: "listed"}
    with transaction.atomic():
        item_transition(item=item, to=ItemStatus.RESERVED)
        # Not committed yet: whoever asks now may still get the cached page…
    assert statuses()[item.pk] == "reserved"  # …but once committed, never again
    item_transition(item=item, to=ItemStatus.SOLD)
    assert statuses()[item.pk] == "sold"
    item_transition(item=waiting, to=ItemStatus.LISTED)
    assert statuses()[waiting.pk] == "listed"
    item_withdraw(item=owned, actor=owned.owner)
    assert owned.pk not in statuses()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_keeps_the_cache_and_a_campaign_edit_drops_it(api: APIClient, cached: None) -> None:
    item = ItemFactory()
    api.get("/api/items/")
    reserve_rolled_back(item)
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/items/").json()["results"][0]["status"] == "listed"
    assert len(queries.captured_queries) == 0
    campaign_update(campaign=item.campaign, actor=manager_of(item.campaign.organisation), changes={"title": "Nouveau"})
    assert api.get("/api/items/").json()["results"][0]["campaign"]["title"] == "Nouveau"


@pytest.mark.django_db(transaction=True)
def test_signed_in_callers_and_other_languages_get_their_own_answers(api: APIClient, cached: None) -> None:
    from tests.factories import UserFactory

    mine = ItemFactory(status=ItemStatus.IN_REVIEW)
    ItemFactory()
    anonymous = api.get("/api/items/").json()
    # Signed in as people are (a session cookie, a token): force_authenticate would sign in
    # without either, which no real request can do.
    api.force_login(mine.owner)
    own = api.get("/api/items/").json()
    assert mine.pk not in ids(anonymous) and mine.pk in ids(own)
    api.force_login(UserFactory())
    assert mine.pk not in ids(api.get("/api/items/").json())
    api.logout()
    token = Token.objects.create(user=mine.owner)
    assert mine.pk in ids(api.get("/api/items/", HTTP_AUTHORIZATION=f"Token {token.key}").json())
    assert mine.pk not in ids(api.get("/api/items/").json())


@pytest.mark.django_db(transaction=True)
def test_a_visitors_hit_before_drf_gives_drfs_bytes_and_headers(api: APIClient, cached: None) -> None:
    ItemFactory()
    with patch("pages.api.items.cached_before_drf", return_value=None) as skipped:
        first = api.get("/api/items/?ordering=newest")  # through DRF: a miss, then cached
        through_drf = api.get("/api/items/?ordering=newest")  # through DRF: a hit
    assert skipped.call_count == 2
    with (
        CaptureQueriesContext(connection) as queries,
        patch("pages.api.items.ItemViewSet.initial", side_effect=AssertionError("DRF was not to be reached")),
    ):
        before = api.get("/api/items/?ordering=newest", HTTP_ACCEPT="application/json")
    assert len(queries.captured_queries) == 0
    assert first.content == through_drf.content == before.content
    for name in ("Content-Type", "Allow"):
        assert through_drf.get(name) == before.get(name), name
    # (Accept too when DRF has more than one renderer: with DEBUG, its browsable API.)
    assert set(through_drf["Vary"].split(", ")) == set(before["Vary"].split(", ")) >= {"Accept-Language", "Cookie"}
    # Not for the fast path (each goes through DRF, and still answers right):
    assert api.get("/api/items/?ordering=newest&format=json").json() == before.json()
    html = api.get("/api/items/?ordering=newest", HTTP_ACCEPT="text/html")  # DRF's browsable API, when DEBUG adds it
    assert (
        html.status_code == (200 if len(api_settings.DEFAULT_RENDERER_CLASSES) > 1 else 406)
        and html.content != before.content
    )


@pytest.mark.django_db(transaction=True)
def test_redis_down_serves_the_list_uncached_and_sales_still_commit(own_redis: OwnRedis, settings: Any) -> None:
    settings.CATALOGUE_CACHE_SECONDS = 30
    api = APIClient()
    item = ItemFactory()
    assert api.get("/api/items/").json()["results"][0]["status"] == "listed"
    own_redis.stop()
    item_transition(item=item, to=ItemStatus.RESERVED)  # its bump cannot reach Redis: no error
    response = api.get("/api/items/")
    assert response.status_code == 200 and response.json()["results"][0]["status"] == "reserved"
    own_redis.start()
    item_transition(item=item, to=ItemStatus.SOLD)
    assert api.get("/api/items/").json()["results"][0]["status"] == "sold"


# --- at most 3 queries, whatever the filter ---------------------------------------------------------------


def test_every_filter_cursor_and_deep_page_stays_within_three_queries(api: APIClient, uncached: None) -> None:
    window = WindowFactory()
    placements = place_items(window, 3)
    campaign = placements[0].item.campaign
    for index in range(25):
        add_photo(ItemFactory(campaign=campaign, category="bikes" if index % 2 else "books", postal_code="97110"))
    first = api.get("/api/items/?page_size=5&after=").json()
    paths = [
        "/api/items/",
        "/api/items/?status=listed",
        f"/api/items/?campaign={campaign.slug}",
        f"/api/items/?campaign={campaign.slug}&status=listed&page=3&page_size=5",
        f"/api/items/?window={window.pk}",
        "/api/items/?q=objet",
        "/api/items/?q=objet&page=2&page_size=5",
        "/api/items/?page=3&page_size=10",
        "/api/items/?page_size=100",
        "/api/items/?category=bikes",
        f"/api/items/?organisation={campaign.organisation.slug}",
        "/api/items/?department=971",
        "/api/items/?delivery=collection",
        "/api/items/?delivery=home",
        "/api/items/?min_price_cents=100&max_price_cents=100000",
        "/api/items/?ordering=price&page=2&page_size=5",
        "/api/items/?ordering=-price&after=",
        "/api/items/?q=objet&category=bikes&department=971&ordering=newest&after=",
        "/api/items/?after=",
        first["next"].removeprefix("http://testserver"),
    ]
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(path)
        assert response.status_code == 200, (path, response.content)
        assert len(queries.captured_queries) <= 3, (path, [q["sql"] for q in queries.captured_queries])
