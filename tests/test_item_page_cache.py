"""The item page reads its item from the shared cache (donations.selectors.item_page_item): a
crowd scanning one window reads each item once, and a change of the item, once committed, is
never served stale — its events (reserved, sold, released), an edit, a new photo. Real commits
(transaction=True); the shared cache is Redis under TREMMA_REQUIRE=redis, else this process's."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from donations.models import Item, ItemStatus
from donations.selectors import ITEM_GENERATION_SECONDS, item_generation, item_page_key
from donations.services import item_transition
from kernel.generations import generation_entry
from tests.factories import ItemFactory, add_photo, reserve_rolled_back
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cached(settings: Any) -> None:
    settings.ITEM_PAGE_CACHE_SECONDS = 60


def page_item(client: Client, item: Item) -> Item:
    response = client.get(f"/objets/{item.pk}/")
    assert response.status_code == 200
    shown: Item = response.context["item"]
    return shown


def item_token(item: Item) -> str | None:
    """The item's generation token, as a page reads it."""
    return generation_entry(item_generation(item.pk), item_page_key(item.pk), seconds=ITEM_GENERATION_SECONDS)[0]


def item_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "donations_item"' in q["sql"]]


def test_a_second_scan_reads_the_item_from_the_cache(client: Client, cached: None) -> None:
    item = ItemFactory(title="Vélo de ville")
    add_photo(item)
    with CaptureQueriesContext(connection) as first:
        assert page_item(client, item).title == "Vélo de ville"
    with CaptureQueriesContext(connection) as second:
        shown = page_item(client, item)
    assert len(item_reads(first)) == 1 and item_reads(second) == []
    assert not any("donations_itemphoto" in q["sql"] for q in second.captured_queries)
    assert shown.title == "Vélo de ville" and len(shown.photos.all()) == 1
    assert len(second.captured_queries) < len(first.captured_queries)


def test_each_status_move_is_shown_once_committed(client: Client, cached: None, api: Any) -> None:
    item = ItemFactory(price_cents=4500)
    assert page_item(client, item).status == ItemStatus.LISTED
    # A passer-by's checkout: the item.reserved event's commit drops the entry.
    answer = api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json")
    assert answer.status_code == 201
    assert page_item(client, item).status == ItemStatus.RESERVED
    item_transition(item=item, to=ItemStatus.LISTED, expected=ItemStatus.RESERVED, note="hold expired")
    assert page_item(client, item).status == ItemStatus.LISTED
    item_transition(item=item, to=ItemStatus.RESERVED, expected=ItemStatus.LISTED)
    item_transition(item=item, to=ItemStatus.SOLD, expected=ItemStatus.RESERVED)
    assert page_item(client, item).status == ItemStatus.SOLD


def test_a_reader_that_keeps_an_old_row_after_the_commit_is_never_served(client: Client, cached: None) -> None:
    item = ItemFactory()
    # A slow page: it reads the item's token and row before a sale commits…
    token = item_token(item) or item_token(item)  # (the first read sets a missing token)
    assert token is not None
    stale = Item.objects.select_related("campaign__organisation", "short_code", "owner").get(pk=item.pk)
    item_transition(item=item, to=ItemStatus.RESERVED)
    # …and keeps it after: under the token of before.
    cache.set(item_page_key(item.pk), (token, stale), 60)
    assert page_item(client, item).status == ItemStatus.RESERVED


def test_a_rolled_back_move_keeps_the_entry(client: Client, cached: None) -> None:
    item = ItemFactory()
    page_item(client, item)
    reserve_rolled_back(item)
    with CaptureQueriesContext(connection) as queries:
        assert page_item(client, item).status == ItemStatus.LISTED
    assert item_reads(queries) == []


def test_an_edit_or_a_new_photo_is_shown_at_once(client: Client, cached: None) -> None:
    item = ItemFactory(title="Lampe")
    assert len(page_item(client, item).photos.all()) == 0
    add_photo(item)
    assert len(page_item(client, item).photos.all()) == 1
    item.title = "Lampe de bureau"
    item.save()  # the admin's edit
    assert page_item(client, item).title == "Lampe de bureau"


def test_an_item_nobody_else_may_see_is_never_kept(client: Client, cached: None) -> None:
    waiting = ItemFactory(status=ItemStatus.IN_REVIEW)
    client.force_login(waiting.owner)
    assert page_item(client, waiting).status == ItemStatus.IN_REVIEW  # its giver sees it…
    client.logout()
    assert client.get(f"/objets/{waiting.pk}/").status_code == 404  # …nobody else, cached or not
    assert cache.get(item_page_key(waiting.pk)) is None


def test_an_entry_that_cannot_be_read_is_a_miss(client: Client, cached: None) -> None:
    item = ItemFactory(title="Chaise")
    page_item(client, item)
    token = item_token(item)
    for hostile in ("not an item", (token, "not an item"), (token,), (token, ItemFactory(title="Autre"))):
        cache.set(item_page_key(item.pk), hostile, 60)
        assert page_item(client, item).title == "Chaise"
    # A row pickled by an older release that no longer loads (a model changed, not the version).
    with patch("kernel.generations.generation_entry", side_effect=AttributeError("no attribute 'x'")):
        assert page_item(client, item).title == "Chaise"


def test_redis_down_serves_the_page_uncached_and_current(own_redis: OwnRedis, settings: Any) -> None:
    settings.ITEM_PAGE_CACHE_SECONDS = 60
    client = Client()
    item = ItemFactory()
    page_item(client, item)
    page_item(client, item)
    own_redis.stop()
    item_transition(item=item, to=ItemStatus.RESERVED)  # its bump cannot reach Redis: no error
    assert page_item(client, item).status == ItemStatus.RESERVED
    own_redis.start()  # an empty Redis: nothing old to serve
    item_transition(item=item, to=ItemStatus.SOLD, expected=ItemStatus.RESERVED)
    assert page_item(client, item).status == ItemStatus.SOLD
    assert page_item(client, item).status == ItemStatus.SOLD
