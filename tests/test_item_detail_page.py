"""The item page, the page behind every item QR: responsive WebP photo, states
and what to do instead, share previews, queries, and its weight."""

from __future__ import annotations

import gzip
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from donations.models import Item, ItemStatus
from donations.services import item_approve, item_create
from kernel.photos import prepare_photo
from tests.factories import CampaignFactory, ItemFactory, UserFactory, add_photo, image_bytes, manager_of

pytestmark = pytest.mark.django_db

# The budget of issue 8: HTML, CSS and JavaScript of the item page, compressed.
PAGE_BUDGET_BYTES = 60 * 1024


def listed_with_photo(width: int = 900, height: int = 600, **fields: Any) -> Item:
    """An item posted and approved through the services, its photo through the real pipeline."""
    campaign = fields.pop("campaign", None) or CampaignFactory()
    item = item_create(
        owner=UserFactory(),
        campaign=campaign,
        title=fields.pop("title", "Fauteuil en rotin"),
        description="Assise refaite, un accoudoir un peu marqué.",
        condition="good",
        category=fields.pop("category", "furniture"),
        price_cents=fields.pop("price_cents", 4500),
        photos=[prepare_photo(io.BytesIO(image_bytes((width, height), "JPEG")))],
    )
    return item_approve(item=item, actor=manager_of(campaign.organisation))


class Tags(HTMLParser):
    """Start tags with their attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def tags(html: str, name: str) -> list[dict[str, str]]:
    parser = Tags()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


def meta(html: str) -> dict[str, str]:
    return {m.get("property") or m.get("name", ""): m.get("content", "") for m in tags(html, "meta")}


def test_the_photo_is_a_picture_with_every_webp_width_and_a_jpeg_that_reserves_its_space(client: Client) -> None:
    item = listed_with_photo(1800, 1200)

    html = client.get(item.get_absolute_url()).content.decode()

    (source,) = [s for s in tags(html, "source") if s.get("type") == "image/webp"]
    widths = [int(w) for w in re.findall(r" (\d+)w", source["srcset"])]
    assert widths == [400, 800, 1600]
    assert all(url.endswith(".webp") for url in re.findall(r"(\S+) \d+w", source["srcset"]))
    assert "100vw" in source["sizes"]
    hero = next(img for img in tags(html, "img") if img.get("class") == "hero")
    assert (hero["width"], hero["height"]) == ("1800", "1200") and hero["alt"] == "Fauteuil en rotin"
    assert hero["src"].endswith(".jpeg") and hero["fetchpriority"] == "high" and "loading" not in hero
    # Every URL of the page is a file the storage really holds.
    for url in [*re.findall(r"(\S+) \d+w", source["srcset"]), hero["src"]]:
        assert client.get(url).status_code == 200


def test_a_listed_item_shows_everything_a_passer_by_needs_a_buy_button_and_an_add_to_basket_one(
    client: Client,
) -> None:
    item = listed_with_photo(title="Fauteuil en rotin", price_cents=4500)
    organisation = item.campaign.organisation

    html = client.get(item.get_absolute_url()).content.decode()

    assert html.count("<h1") == 1 and "Fauteuil en rotin" in html
    assert "45,00\u00a0€" in html and "Bon état" in html and "Assise refaite" in html
    assert item.campaign.title in html and "<progress" in html
    assert organisation.name in html and organisation.city in html  # where to collect
    assert html.count('type="submit"') == 2 and "Acheter cet objet" in html and "Ajouter au panier" in html
    (form,) = [f for f in tags(html, "form") if f.get("action") == f"/objets/{item.pk}/acheter/"]
    assert form["method"] == "post"  # works before (and without) JavaScript
    (basket,) = [f for f in tags(html, "form") if f.get("action") == f"/panier/ajouter/{item.pk}/"]
    assert basket["method"] == "post"
    assert html.index("Acheter cet objet") < html.index("Ajouter au panier")  # "buy" first, the basket beside it
    assert re.search(r'<label for="buy-email">', html) and 'id="buy-email"' in html
    assert "Encore en vente pour ce projet" not in html


@pytest.mark.parametrize(
    ("status", "note", "buy_button"),
    [
        (ItemStatus.RESERVED, "Quelqu'un est en train de payer", "disabled"),
        (ItemStatus.SOLD, "Cet objet est vendu", None),
    ],
)
def test_a_reserved_or_sold_item_says_so_and_offers_similar_items_and_a_gift(
    client: Client, status: str, note: str, buy_button: str | None
) -> None:
    item = ItemFactory(status=status, category="books", price_cents=1200)
    ItemFactory(campaign=item.campaign, status=ItemStatus.LISTED, title="Autre livre", category="books")
    ItemFactory(campaign=item.campaign, status=ItemStatus.SOLD, title="Déjà parti")

    html = client.get(item.get_absolute_url()).content.decode().replace("&#x27;", "'")

    visible = re.sub(r"<(div|p)[^>]*\shidden[^>]*>.*?</\1>", "", html, flags=re.S)
    assert note in visible
    assert f'href="{item.campaign.get_absolute_url()}#donner"' in visible
    assert "Encore en vente pour ce projet" in html and "Autre livre" in html and "Déjà parti" not in html
    if buy_button:
        assert "disabled>Acheter cet objet</button>" in html and "disabled>Ajouter au panier</button>" in html
    else:
        assert "Acheter cet objet" not in html and "Ajouter au panier" not in html
    campaign_page = client.get(item.campaign.get_absolute_url()).content.decode()
    assert 'id="donner"' in campaign_page  # the anchor the link goes to


def test_the_item_page_is_a_handful_of_queries_whatever_its_state(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    item = listed_with_photo()
    for _n in range(3):
        other = listed_with_photo(campaign=item.campaign)
    with django_assert_max_num_queries(4):
        assert client.get(item.get_absolute_url()).status_code == 200
    # A sold item adds the similar items on sale (with their photos): three more at most (its category's,
    # the others' when its category has fewer than four, their photos), not one per item.
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.SOLD)
    with django_assert_max_num_queries(7):
        html = client.get(item.get_absolute_url()).content.decode()
    assert other.title in html


def test_the_item_page_draws_no_qr_code(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from qr import rendering

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a QR code was drawn while serving the item page")

    monkeypatch.setattr(rendering, "_matrix", refuse)
    item = listed_with_photo()
    ItemFactory(campaign=item.campaign)
    assert client.get(item.get_absolute_url()).status_code == 200
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.SOLD)
    assert client.get(item.get_absolute_url()).status_code == 200


def test_the_item_share_preview_is_complete_with_absolute_addresses(client: Client) -> None:
    item = listed_with_photo(title="Fauteuil en rotin", price_cents=4500)

    html = client.get(item.get_absolute_url() + "?utm_source=vitrine").content.decode()

    tags_ = meta(html)
    page_url = f"{settings.SITE_URL}/objets/{item.pk}/"
    assert tags_["og:type"] == "product"
    assert tags_["og:title"] == "Fauteuil en rotin — 45,00\u00a0€"
    assert item.campaign.title in tags_["og:description"] and "Assise refaite" in tags_["og:description"]
    assert tags_["og:url"] == page_url  # canonical: no tracking query
    assert tags_["og:image"].startswith(f"{settings.SITE_URL}/media/") and tags_["og:image"].endswith(".jpeg")
    assert tags_["og:image:alt"] == "Fauteuil en rotin"
    assert tags_["twitter:card"] == "summary_large_image"
    assert {"href": page_url, "rel": "canonical"} in tags(html, "link")
    assert client.get(tags_["og:image"].removeprefix(settings.SITE_URL)).status_code == 200


def test_the_campaign_share_preview_is_complete_with_absolute_addresses(client: Client) -> None:
    from django.core.files.base import ContentFile

    campaign = CampaignFactory(title="Un toit pour l'hiver", summary="Rénover la maison d'accueil.")
    campaign.cover.save("cover.png", ContentFile(image_bytes((1200, 630))), save=True)

    tags_ = meta(client.get(campaign.get_absolute_url()).content.decode())

    assert tags_["og:type"] == "website"
    assert tags_["og:title"] == f"Un toit pour l'hiver — {campaign.organisation.name}"
    assert tags_["og:description"] == "Rénover la maison d'accueil."
    assert tags_["og:url"] == f"{settings.SITE_URL}{campaign.get_absolute_url()}"
    assert tags_["og:image"].startswith(f"{settings.SITE_URL}/media/campaigns/")
    assert tags_["twitter:card"] == "summary_large_image"


def test_an_item_without_photo_shares_its_campaign_cover_or_a_small_card(client: Client) -> None:
    item = ItemFactory()
    tags_ = meta(client.get(item.get_absolute_url()).content.decode())
    assert "og:image" not in tags_ and tags_["twitter:card"] == "summary"
    old_photo = add_photo(item)  # a photo stored before renditions existed: the WebP itself serves
    html = client.get(item.get_absolute_url()).content.decode()
    assert meta(html)["og:image"] == f"{settings.SITE_URL}{old_photo.image.url}"
    assert not [s for s in tags(html, "source")]


def test_the_item_page_in_english_formats_money_and_translates_its_states(client: Client) -> None:
    item = ItemFactory(status=ItemStatus.SOLD, price_cents=1250)
    html = client.get(item.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html and "€12.50" in html
    assert "This item has been sold" in html and "Give €12.50 to the project" in html
    assert "Cet objet est vendu" not in html


def test_the_item_page_html_css_and_javascript_weigh_at_most_60_kb_compressed(client: Client) -> None:
    item = listed_with_photo()
    ItemFactory(campaign=item.campaign)
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.SOLD)  # the heaviest state: similar items too
    html = client.get(item.get_absolute_url()).content

    assets = [link["href"] for link in tags(html.decode(), "link") if link.get("rel") == "stylesheet"]
    assets += [script["src"] for script in tags(html.decode(), "script") if script.get("src")]
    # Modules the page's modules import, one level down is all we have (item.js → live.js).
    for script in list(assets):
        if script.endswith(".js"):
            source = Path(finders.find(script.removeprefix(settings.STATIC_URL))).read_text()
            assets += [script.rsplit("/", 1)[0] + "/" + name for name in re.findall(r'from "\./([^"]+)"', source)]
    assert any(a.endswith(".css") for a in assets) and any(a.endswith("live.js") for a in assets)
    sizes = {"html": len(gzip.compress(html, 9))}
    for asset in assets:
        path = finders.find(asset.removeprefix(settings.STATIC_URL))
        assert path, asset
        sizes[asset] = len(gzip.compress(Path(path).read_bytes(), 9))
    total = sum(sizes.values())
    print(f"item page, gzip -9 bytes: {sizes} total={total}")
    assert total <= PAGE_BUDGET_BYTES
    assert not re.search(rb'<script[^>]+src="https?://', html)  # no third-party script


def test_a_sold_items_page_offers_its_campaigns_newest_listed_items_of_its_category_first() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from donations.selectors import items_on_sale_like

    sold = ItemFactory(category="furniture", status=ItemStatus.SOLD)
    campaign, now = sold.campaign, timezone.now()

    def like(limit: int = 4) -> list[Item]:
        return items_on_sale_like(campaign_id=campaign.pk, category=sold.category, limit=limit)

    def listed(category: str, minutes_ago: int, **fields: Any) -> Item:
        made = ItemFactory(campaign=campaign, category=category, status=ItemStatus.LISTED, **fields)
        Item.objects.filter(pk=made.pk).update(created_at=now - timedelta(minutes=minutes_ago))
        return made

    old_chair, new_chair = listed("furniture", 50), listed("furniture", 5)
    newest_bike, older_bike, oldest_bike = listed("bikes", 1), listed("bikes", 2), listed("bikes", 60)
    ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.RESERVED)  # not on sale
    ItemFactory(category="furniture", status=ItemStatus.LISTED)  # another campaign's
    assert like() == [new_chair, old_chair, newest_bike, older_bike]
    assert like(limit=1) == [new_chair]
    assert like(limit=9) == [new_chair, old_chair, newest_bike, older_bike, oldest_bike]  # every one on sale
    for chair in [ItemFactory(campaign=campaign, category="furniture", status=ItemStatus.LISTED) for _n in range(4)]:
        Item.objects.filter(pk=chair.pk).update(created_at=now)
    assert {item.category for item in like()} == {"furniture"}
    # The page never offers the sold item itself: pages.item_similar (tests/test_item_similar_cache.py).


def test_a_sold_items_similar_items_are_index_ranges_not_a_sort_of_the_campaign() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from donations.selectors import items_on_sale_like

    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    sold = ItemFactory(category="furniture", status=ItemStatus.SOLD)
    Item.objects.bulk_create(
        Item(
            campaign=sold.campaign,
            title=f"Objet {n}",
            category=("furniture", "bikes")[n % 2],
            status="listed",
            price_cents=1_000,
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE donations_item")
    Item.objects.filter(campaign=sold.campaign, category="furniture").exclude(pk=sold.pk).update(status="sold")
    with CaptureQueriesContext(connection) as queries:
        similar = items_on_sale_like(campaign_id=sold.campaign_id, category=sold.category, limit=4)
    assert len(similar) == 4 and {item.category for item in similar} == {"bikes"}
    reads = [query["sql"] for query in queries.captured_queries if 'FROM "donations_item"' in query["sql"]]
    assert len(reads) == 2  # its category (none left on sale), then the others
    for sql in reads:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "item_listed_campaign" in plan and "Sort" not in plan, plan
