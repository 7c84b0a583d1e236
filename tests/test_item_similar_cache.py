"""A sold or held item's page offers the campaign's objects still on sale (pages.item_similar): the
cards are read and rendered once per (campaign, category, language) and kept under the catalogue's
generation token, so a crowd reading the pages of objects sold seconds before reads them once, and
a change of any item (a sale, a new listing) is shown at the next page once committed. Real commits
(transaction=True); the shared cache is Redis under TREMMA_REQUIRE=redis, else this process's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from donations.models import Item, ItemStatus
from donations.services import item_transition
from pages.item_similar import SIMILAR_SHOWN, similar_cards, similar_key
from tests.factories import CampaignFactory, ItemFactory, add_photo
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cached(settings: Any) -> None:
    settings.ITEM_PAGE_CACHE_SECONDS = 60


def offered(client: Client, item: Item, language: str = "fr") -> tuple[list[int], str]:
    """The ids of the items the page of ``item`` offers, in order, and the section's HTML."""
    response = client.get(f"/objets/{item.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    found = re.search(r'<section class="similar".*?</section>', html, re.S)
    if found is None:
        return [], ""
    return [int(pk) for pk in re.findall(r'href="/objets/(\d+)/"', found.group(0))], found.group(0)


def similar_reads(queries: CaptureQueriesContext) -> list[str]:
    # The similar items' reads: listed items of the campaign, newest first (the item page's own read is by id).
    return [
        q["sql"]
        for q in queries.captured_queries
        if 'ORDER BY "donations_item"."created_at" DESC' in q["sql"] and '"donations_item"."id" = ' not in q["sql"]
    ]


def listed(campaign: Any, count: int, category: str = "furniture") -> list[Item]:
    return [ItemFactory(campaign=campaign, category=category) for _n in range(count)]


def test_the_cards_are_read_once_for_every_sold_page_of_the_campaign(client: Client, cached: None) -> None:
    campaign = CampaignFactory()
    chairs = listed(campaign, 3)
    add_photo(chairs[0])
    sold = [ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.SOLD) for _n in range(2)]
    with CaptureQueriesContext(connection) as first:
        ids, html = offered(client, sold[0])
    with CaptureQueriesContext(connection) as second:
        other_ids, other_html = offered(client, sold[1])
    assert ids == [chair.pk for chair in reversed(chairs)]  # newest first
    assert similar_reads(first) and similar_reads(second) == []
    assert other_ids == ids and other_html == html and "<picture>" in html


def test_the_cards_equal_those_rendered_uncached_in_each_language(client: Client, settings: Any) -> None:
    campaign = CampaignFactory()
    listed(campaign, 2)
    listed(campaign, 3, category="bikes")
    sold = ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.SOLD)
    settings.ITEM_PAGE_CACHE_SECONDS = 0
    uncached = {language: offered(client, sold, language) for language in ("fr", "en")}
    settings.ITEM_PAGE_CACHE_SECONDS = 60
    for _twice in range(2):
        for language in ("fr", "en"):
            assert offered(client, sold, language) == uncached[language]
    assert len(uncached["fr"][0]) == SIMILAR_SHOWN
    assert "25,00\xa0€" in uncached["fr"][1] and "€25.00" in uncached["en"][1]


def test_a_sale_or_a_new_listing_is_offered_at_the_next_page(client: Client, cached: None) -> None:
    campaign = CampaignFactory()
    chair, stool = listed(campaign, 2)
    sold = ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.SOLD)
    assert offered(client, sold)[0] == [stool.pk, chair.pk]
    item_transition(item=stool, to=ItemStatus.RESERVED)  # held by a buyer: no longer offered
    assert offered(client, sold)[0] == [chair.pk]
    bench = ItemFactory(campaign=campaign, category="furniture")  # listed meanwhile
    assert offered(client, sold)[0] == [bench.pk, chair.pk]
    Item.objects.filter(pk=chair.pk).update(title="Chaise repeinte")  # an UPDATE no signal sees…
    assert "Chaise repeinte" not in offered(client, sold)[1]
    chair.title = "Chaise repeinte"
    chair.save()  # …an edit as the services and the admin make it: its receivers drop the cards
    assert "Chaise repeinte" in offered(client, sold)[1]


def test_a_page_never_offers_its_own_item_and_still_shows_as_many(cached: None) -> None:
    campaign = CampaignFactory()
    items = listed(campaign, SIMILAR_SHOWN + 1)
    sold = ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.SOLD)
    assert len(similar_cards(item=sold)) == SIMILAR_SHOWN  # keeps SIMILAR_SHOWN + 1 cards
    # A page that read its item before the item's sale was committed: the item is among the cards kept.
    for item in items:
        cards = similar_cards(item=item)
        assert len(cards) == SIMILAR_SHOWN and not any(f'href="/objets/{item.pk}/"' in card for card in cards)


def test_an_entry_that_is_not_cards_is_a_miss(client: Client, cached: None) -> None:
    campaign = CampaignFactory()
    chair = listed(campaign, 1)[0]
    sold = ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.SOLD)
    expected = offered(client, sold)
    key = similar_key(campaign_id=campaign.pk, category="furniture", language="fr")
    token = cache.get(key)[0]
    hostile_cards: list[Any] = ["<script>", [("1", "<script>")], [(chair.pk, b"<script>")], [(chair.pk,)], {1: "x"}]
    for hostile in [*hostile_cards, *((token, cards) for cards in hostile_cards), "not a pair"]:
        cache.set(key, hostile, 60)
        assert offered(client, sold) == expected


def test_redis_down_offers_the_cards_uncached_and_current(own_redis: OwnRedis, settings: Any) -> None:
    settings.ITEM_PAGE_CACHE_SECONDS = 60
    client = Client()
    campaign = CampaignFactory()
    chair, stool = listed(campaign, 2)
    sold = ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.SOLD)
    assert offered(client, sold)[0] == [stool.pk, chair.pk]
    own_redis.stop()
    item_transition(item=stool, to=ItemStatus.RESERVED)  # its bump cannot reach Redis: no error
    assert offered(client, sold)[0] == [chair.pk]
    own_redis.start()  # an empty Redis: nothing old to serve
    assert offered(client, sold)[0] == [chair.pk]
    assert offered(client, sold)[0] == [chair.pk]
