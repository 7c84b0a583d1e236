"""The catalogue's text search (``q``): accents, case and plurals do not matter, titles rank above
descriptions. The same tests run on SQLite (folded LIKE) and on PostgreSQL (French full text
on a stored search vector kept by a trigger); the last ones are PostgreSQL's own."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from donations.models import Item, ItemStatus
from donations.search import fold, search_words, text_search
from donations.selectors import item_search
from tests.components import require
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def _titles(q: str, **filters: object) -> list[str]:
    return [item.title for item in item_search(Item.objects.all(), q=q, **filters)]  # type: ignore[arg-type]


@pytest.fixture
def catalogue() -> dict[str, Item]:
    campaign = CampaignFactory()
    return {
        "bike": ItemFactory(campaign=campaign, title="Vélo de ville", description="Cadre acier, 3 vitesses."),
        "chair": ItemFactory(campaign=campaign, title="Chaise en chêne", description="Solide et légère."),
        "lamp": ItemFactory(
            campaign=campaign, title="Lampe de bureau", description="Idéale près d'un vélo d'appartement."
        ),
        "coat": ItemFactory(campaign=campaign, title="Manteau ÉTÉ", description="Veste en velours côtelé."),
    }


@pytest.mark.parametrize("q", ["velo", "vélo", "VÉLO", "Velo", "velos", "vélos", "VELOS"])
def test_accents_case_and_plurals_do_not_matter(catalogue: dict[str, Item], q: str) -> None:
    assert _titles(q)[0] == "Vélo de ville"
    assert "Manteau ÉTÉ" not in _titles(q)  # "velours" is not a bike


def test_a_plural_finds_the_singular(catalogue: dict[str, Item]) -> None:
    assert _titles("chaises") == ["Chaise en chêne"]
    assert _titles("CHAISE chene") == ["Chaise en chêne"]
    assert _titles("ete") == ["Manteau ÉTÉ"]


def test_every_word_must_match(catalogue: dict[str, Item]) -> None:
    assert _titles("velo ville") == ["Vélo de ville"]
    assert _titles("velo piano") == []


def test_a_title_ranks_above_a_description_whatever_the_dates(catalogue: dict[str, Item]) -> None:
    # The lamp is newer and only its description says "vélo": the bike comes first all the same.
    assert _titles("velo") == ["Vélo de ville", "Lampe de bureau"]


def test_an_explicit_order_wins_over_relevance(catalogue: dict[str, Item]) -> None:
    Item.objects.filter(pk=catalogue["lamp"].pk).update(price_cents=500)
    Item.objects.filter(pk=catalogue["bike"].pk).update(price_cents=9000)
    assert _titles("velo", ordering="price") == ["Lampe de bureau", "Vélo de ville"]
    assert _titles("velo", ordering="-price") == ["Vélo de ville", "Lampe de bureau"]
    assert _titles("velo", ordering="newest") == ["Lampe de bureau", "Vélo de ville"]


def test_a_new_or_edited_title_is_found_at_once(catalogue: dict[str, Item]) -> None:
    chair = catalogue["chair"]
    Item.objects.filter(pk=chair.pk).update(title="Tabouret de bar")
    assert _titles("tabourets") == ["Tabouret de bar"]
    assert _titles("chaise") == []
    Item.objects.bulk_create(
        [
            Item(
                campaign=chair.campaign,
                title="Armoire normande",
                description="",
                condition="good",
                price_cents=100,
                status=ItemStatus.LISTED,
            )
        ]
    )
    assert _titles("armoires") == ["Armoire normande"]


def test_the_api_searches_the_same_way_in_one_query_for_the_items(api: APIClient, catalogue: dict[str, Item]) -> None:
    response = api.get("/api/items/", {"q": "VELOS"})
    assert response.status_code == 200
    assert [item["title"] for item in response.json()["results"]] == ["Vélo de ville", "Lampe de bureau"]


@pytest.mark.parametrize(
    "q",
    [
        "%",
        "_",
        "velo%",
        "' OR 1=1 --",
        '"unterminated',
        "!!! & | <-> :*",
        "-velo",
        "le la les",
        "🚲",
        "\u0301",  # a lone combining accent
        "a" * 100,
    ],
)
def test_hostile_searches_answer_200(api: APIClient, catalogue: dict[str, Item], q: str) -> None:
    response = api.get("/api/items/", {"q": q})
    assert response.status_code == 200, response.content
    assert response.json()["count"] <= 4


def test_an_overlong_or_null_search_is_a_field_error(api: APIClient) -> None:
    assert api.get("/api/items/", {"q": "a" * 101}).json()["fields"]["q"]
    assert api.get("/api/items/", {"q": "velo\x00"}).status_code == 400


def test_a_search_without_words_finds_nothing(catalogue: dict[str, Item]) -> None:
    assert _titles("\u0301 ... !") == []


def test_folding_and_search_words() -> None:
    assert fold("Vélo ÉLECTRIQUE Œuvre") == "velo electrique oeuvre"
    assert search_words("Chaises  VÉLOS bus, d'appartement jeux") == [
        "chaise",
        "velo",
        "bus",
        "d",
        "appartement",
        "jeu",
    ]


# --- PostgreSQL's own -----------------------------------------------------------------------


def _postgresql() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def test_the_search_vector_is_weighted_and_never_selected(catalogue: dict[str, Item]) -> None:
    _postgresql()
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM donations_item WHERE id = %s", [catalogue["bike"].pk])
        (vector,) = cursor.fetchone()
    assert "'velo':1A" in vector and "'vill':3A" in vector and "'cadr':4B" in vector
    with CaptureQueriesContext(connection) as queries:
        list(item_search(Item.objects.all(), q="velo"))
        Item.objects.get(pk=catalogue["bike"].pk)
    assert all("search_vector" not in query["sql"].split(" FROM ")[0] for query in queries.captured_queries)


def test_the_search_uses_the_gin_index(catalogue: dict[str, Item]) -> None:
    """The matches are found through the GIN index. (Ranked and ordered searches may then walk an
    order's index instead, for a word that matches many rows: the benchmark's plan check, at 2,000,000
    items, refuses any sequential scan of them.)"""
    _postgresql()
    queryset = text_search(Item.objects.order_by(), "velos", ranked=False)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "item_search_vector" in plan
    assert catalogue["bike"].pk in {item.pk for item in queryset}


def test_rows_copied_in_bulk_get_their_vector(catalogue: dict[str, Item]) -> None:
    _postgresql()
    campaign_id = catalogue["bike"].campaign_id
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO donations_item (campaign_id, kind, title, description, condition, category, price_cents,"
            " currency, status, rejection_reason, handover, handover_note, postal_code, department, created_at,"
            " updated_at) VALUES (%s, 'sale', 'Bicyclette rouge', 'Avec panier.', 'good', 'bikes', 100, 'EUR',"
            " 'listed', '', '', '', '', '', now(), now())",
            [campaign_id],
        )
    assert _titles("paniers") == ["Bicyclette rouge"]


def test_relevance_ranks_the_most_recent_matches_only(
    catalogue: dict[str, Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ranking scores every row it orders: sorted by relevance, PostgreSQL ranks the newest
    # RANKED_MATCHES matches (here 2 of 3); date and price orders still walk every match.
    _postgresql()
    monkeypatch.setattr("donations.search.RANKED_MATCHES", 2)
    older = ItemFactory(campaign=catalogue["bike"].campaign, title="Vélo pliant", description="Léger.")
    Item.objects.filter(pk=older.pk).update(created_at=catalogue["bike"].created_at.replace(year=2020))
    # The lamp (newest, "vélo" in its description) and the bike (title) are the two newest matches.
    assert _titles("velo") == ["Vélo de ville", "Lampe de bureau"]
    assert item_search(Item.objects.all(), q="velo").count() == 2
    assert _titles("velo", ordering="newest") == ["Lampe de bureau", "Vélo de ville", "Vélo pliant"]
