"""The catalogue's pages: ``/objets/`` (search and filters with the API's parameters, a capped
count, bounded pagination, hostile query strings) and ``/organisations/<slug>/`` (the shop),
and the links that lead to them from the other pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alerts.models import Alert
from campaigns.models import Campaign
from donations.models import Item, ItemStatus
from pages import catalogue
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, UserFactory, add_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf() -> dict[str, Any]:
    """Two organisations in two departments, objects of several kinds and prices."""
    paris = OrganisationFactory(name="Ressourcerie de Paris", slug="ressourcerie-paris", postal_code="75011")
    pau = OrganisationFactory(name="Emmaüs Pau", slug="emmaus-pau", postal_code="64000", city="Pau")
    pau.opening_hours = "Du mardi au samedi, 10 h – 18 h"
    pau.save()
    in_paris = CampaignFactory(organisation=paris, title="Atelier vélo")
    in_pau = CampaignFactory(organisation=pau, title="Toit pour tous")
    bike = ItemFactory(campaign=in_paris, title="Vélo de ville", category=Item.Category.BIKES, price_cents=6000)
    add_photo(bike)
    table = ItemFactory(campaign=in_pau, title="Table en chêne", category=Item.Category.FURNITURE, price_cents=4000)
    book = ItemFactory(campaign=in_pau, title="Livre de cuisine", category=Item.Category.BOOKS, price_cents=500)
    sold = ItemFactory(campaign=in_pau, title="Vélo vendu", category=Item.Category.BIKES, status=ItemStatus.SOLD)
    return {
        "paris": paris,
        "pau": pau,
        "bike": bike,
        "table": table,
        "book": book,
        "sold": sold,
        "pau_campaign": in_pau,
    }


def titles(client: Client, query: str = "", language: str = "fr") -> list[str]:
    response = client.get(f"/objets/{query}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return [item.title for item in response.context["items"]]


def test_the_catalogue_lists_what_is_on_sale_newest_first(client: Client, shelf: dict[str, Any]) -> None:
    assert titles(client) == ["Livre de cuisine", "Table en chêne", "Vélo de ville"]
    html = client.get("/objets/").content.decode()
    assert "3 objets" in html and "Vélo vendu" not in html
    # The card: a photo with its size, lazy, described; the price, the place, the campaign, the basket button.
    assert 'alt="Vélo de ville"' in html and 'loading="lazy"' in html and 'width="64" height="48"' in html
    assert "60,00\u00a0€" in html and ">Pau<" in html and "Atelier vélo" in html
    assert f'action="/panier/ajouter/{shelf["bike"].pk}/"' in html and "csrfmiddlewaretoken" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?q=table", ["Table en chêne"]),
        ("?category=books", ["Livre de cuisine"]),
        ("?department=75", ["Vélo de ville"]),
        ("?department=64&ordering=price", ["Livre de cuisine", "Table en chêne"]),
        ("?min_price_cents=1000&max_price_cents=5000", ["Table en chêne"]),
        ("?max_price_cents=1000", ["Livre de cuisine"]),
        ("?ordering=-price", ["Vélo de ville", "Table en chêne", "Livre de cuisine"]),
        ("?ordering=price", ["Livre de cuisine", "Table en chêne", "Vélo de ville"]),
        ("?organisation=emmaus-pau&ordering=newest", ["Livre de cuisine", "Table en chêne"]),
        ("?delivery=collection&category=bikes", ["Vélo de ville"]),
        ("?delivery=relay", []),
        ("?delivery=home", []),
    ],
)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_filter_works_through_the_page(
    client: Client, shelf: dict[str, Any], query: str, expected: list[str], language: str
) -> None:
    assert titles(client, query, language) == expected


def test_the_search_finds_words_without_their_accents(client: Client, shelf: dict[str, Any]) -> None:
    assert titles(client, "?q=velo") == ["Vélo de ville"]
    html = client.get("/objets/?q=velo").content.decode()
    assert "<title>« velo » — objets solidaires" in html and "Objets pour « velo »" in html


def test_the_form_offers_every_filter_with_a_label_and_keeps_the_values(client: Client, shelf: dict[str, Any]) -> None:
    html = client.get("/objets/?category=books&department=64&min_price_cents=500&delivery=collection").content.decode()
    for name in ("q", "category", "department", "min_price_cents", "max_price_cents", "delivery", "ordering"):
        assert f'id="catalogue-{name}"' in html and f'for="catalogue-{name}"' in html
    assert '<option value="books" selected>' in html and '<option value="64" selected>' in html
    assert '<option value="500" selected>' in html and '<option value="collection" selected>' in html
    assert "Retrait sur place" in html and "Point relais" in html and "À domicile" in html
    assert '<details class="filters" open>' in html
    english = client.get("/objets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Collection on site" in english and "Relay point" in english and "Home delivery" in english


def test_an_organisation_filter_shows_as_a_removable_chip(client: Client, shelf: dict[str, Any]) -> None:
    html = client.get("/objets/?organisation=emmaus-pau&q=table").content.decode()
    assert "Chez Emmaüs Pau" in html and 'href="/objets/?q=table"' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?q=" + "x" * 500, "q"),
        ("?category=spaceships", "category"),
        ("?department=99", "department"),
        ("?department=<script>", "department"),
        ("?organisation=nobody-here", "organisation"),
        ("?organisation=../../etc", "organisation"),
        ("?min_price_cents=1e99", "min_price_cents"),
        ("?max_price_cents=-5", "max_price_cents"),
        ("?max_price_cents=99999999999999999999", "max_price_cents"),
        ("?min_price_cents=5000&max_price_cents=1000", "max_price_cents"),
        ("?ordering=random()", "ordering"),
        ("?delivery=drone", "delivery"),
    ],
)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_hostile_value_is_a_field_error_never_a_500(
    client: Client, shelf: dict[str, Any], query: str, field: str, language: str
) -> None:
    response = client.get(f"/objets/{query}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert field in response.context["errors"]
    assert 'class="errorlist' in response.content.decode()
    # The refused filter is left out, the others still apply.
    assert field not in response.context["filters"]


def test_the_errors_speak_the_visitors_language(client: Client, shelf: dict[str, Any]) -> None:
    french = client.get("/objets/?organisation=nobody", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    english = client.get("/objets/?organisation=nobody", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cette organisation n&#x27;existe pas." in french
    assert "This organisation does not exist." in english


@pytest.mark.parametrize(
    "query",
    [
        "?page=-1",
        "?page=0",
        "?page=abc",
        "?page=999999",
        "?page=1e99",
        "?page=2",
        "?q=%00",
        "?q=%27%20OR%201%3D1--",
        "?q=%F0%9F%9A%B2%20v%C3%A9lo",
        "?q=a&q=table&category=books&category=furniture",
        "?q=%20%20%20",
        "?department=2A&department=",
    ],
)
def test_odd_query_strings_give_a_clean_page(client: Client, shelf: dict[str, Any], query: str) -> None:
    response = client.get(f"/objets/{query}")
    assert response.status_code == 200


def test_empty_fields_of_the_submitted_form_are_no_filters(client: Client, shelf: dict[str, Any]) -> None:
    query = "?q=+++&category=&department=&min_price_cents=&max_price_cents=&delivery=&ordering="
    response = client.get(f"/objets/{query}")
    assert response.context["errors"] == {} and len(response.context["items"]) == 3
    assert '<details class="filters">' in response.content.decode()  # nothing chosen: folded


def test_repeated_parameters_take_the_last_value(client: Client, shelf: dict[str, Any]) -> None:
    assert titles(client, "?category=books&category=furniture") == ["Table en chêne"]


def test_an_empty_result_says_so_and_offers_to_start_again(client: Client, shelf: dict[str, Any]) -> None:
    html = client.get("/objets/?q=piano").content.decode()
    assert "0 objet" in html and "Aucun objet ne correspond" in html and 'href="/objets/"' in html


def test_the_count_is_capped_and_pages_stop_at_the_maximum(
    client: Client, shelf: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "COUNT_CAP", 2)
    monkeypatch.setattr(catalogue, "PAGE_SIZE", 1)
    monkeypatch.setattr(catalogue, "MAX_PAGES", 2)
    html = client.get("/objets/").content.decode()
    assert "plus de 2 objets" in html
    assert 'rel="next" href="?page=2"' in html
    last = client.get("/objets/?page=2")
    assert [item.title for item in last.context["items"]] == ["Table en chêne"]
    assert "affinez votre recherche" in last.content.decode() and 'rel="next"' not in last.content.decode()
    deep = client.get("/objets/?page=3")
    assert deep.context["items"] == [] and "affinez votre recherche" in deep.content.decode()


def test_the_limits_are_ten_thousand_counted_and_a_hundred_pages(client: Client, shelf: dict[str, Any]) -> None:
    assert catalogue.COUNT_CAP == 10_000 and catalogue.MAX_PAGES == 100
    html = client.get("/objets/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3 objects" in html


def test_a_page_takes_a_handful_of_queries_whatever_its_depth(
    client: Client, shelf: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        add_photo(ItemFactory(campaign=shelf["pau_campaign"], category=Item.Category.BOOKS))
    for query in ("", "?page=2", "?page=100", "?q=objet&category=books&department=64&ordering=price&page=2"):
        with django_assert_max_num_queries(4):
            assert client.get(f"/objets/{query}").status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get("/objets/?organisation=emmaus-pau&page=2").status_code == 200


def test_adding_to_the_basket_returns_to_the_results(client: Client, shelf: dict[str, Any]) -> None:
    page = "/objets/?q=table"
    response = client.post(f"/panier/ajouter/{shelf['table'].pk}/", {"next": page})
    assert response.status_code == 303 and response["Location"] == page
    html = client.get(page).content.decode()
    assert "Dans votre panier" in html and 'Panier <span class="count">(1)</span>' in html


# --- The shop ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_shop_shows_the_organisation_its_campaigns_and_objects(
    client: Client, shelf: dict[str, Any], language: str, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(5):
        response = client.get("/organisations/emmaus-pau/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Emmaüs Pau</h1>" in html and "Accueil et réemploi" in html and "64000 Pau" in html
    assert "Du mardi au samedi" in html and "mailto:" in html and "Toit pour tous" in html
    assert "Livre de cuisine" in html and "Table en chêne" in html and "Vélo vendu" not in html
    assert 'href="/objets/?organisation=emmaus-pau"' in html


def test_the_shop_shows_the_twenty_newest_objects(client: Client, shelf: dict[str, Any]) -> None:
    for number in range(25):
        ItemFactory(campaign=shelf["pau_campaign"], title=f"Assiette {number}")
    response = client.get("/organisations/emmaus-pau/")
    assert len(response.context["items"]) == 20 and response.context["items"][0].title == "Assiette 24"


def test_an_organisation_with_nothing_live_still_has_its_page(client: Client) -> None:
    quiet = OrganisationFactory(name="Atelier calme", slug="atelier-calme")
    CampaignFactory(organisation=quiet, status=Campaign.Status.CLOSED)
    html = client.get("/organisations/atelier-calme/").content.decode()
    assert "Atelier calme" in html and "Aucun projet en cours" in html and "Aucun objet en vente" in html


@pytest.mark.parametrize("slug", ["nobody", "x" * 300, "%00", "emmaus-pau%2F.."])
def test_an_unknown_organisation_is_a_404(client: Client, shelf: dict[str, Any], slug: str) -> None:
    assert client.get(f"/organisations/{slug}/").status_code == 404


# --- Links: nobody guesses a URL ---------------------------------------------------------------


def test_the_home_page_and_header_lead_to_the_catalogue(client: Client, shelf: dict[str, Any]) -> None:
    html = client.get("/").content.decode()
    assert 'action="/objets/"' in html and 'name="q"' in html and "Parcourir les objets" in html
    assert 'class="catalogue-link" href="/objets/"' in html
    assert 'class="catalogue-link" href="/objets/"' in client.get("/panier/").content.decode()


def test_the_item_page_leads_to_its_organisations_shop(client: Client, shelf: dict[str, Any]) -> None:
    html = client.get(shelf["table"].get_absolute_url()).content.decode()
    assert 'href="/organisations/emmaus-pau/"' in html and "Plus d’objets d&#x27;Emmaüs Pau" in html
    # Similar objects: the catalogue in its category (the listed page's queries stay as they were).
    assert 'href="/objets/?category=furniture"' in html


def test_a_sold_items_page_offers_similar_objects_and_its_category(client: Client, shelf: dict[str, Any]) -> None:
    html = client.get(shelf["sold"].get_absolute_url()).content.decode()
    assert 'href="/objets/?category=bikes"' in html and "Table en chêne" in html


def test_the_campaign_page_names_its_organisation_with_a_link(client: Client, shelf: dict[str, Any]) -> None:
    html = client.get(shelf["pau_campaign"].get_absolute_url()).content.decode()
    assert 'href="/organisations/emmaus-pau/"' in html


def test_a_search_offers_to_save_it_as_an_alert_with_its_filters(client: Client, shelf: dict[str, Any]) -> None:
    assert "Recevoir un e-mail pour cette recherche" not in client.get("/objets/").content.decode()  # no search
    html = client.get("/objets/?q=velo&department=75&category=&page=1").content.decode()
    form = html.split('class="save-search"')[1].split("</form>")[0]
    assert 'action="/objets/alerte/"' in html and "csrfmiddlewaretoken" in form
    assert 'name="q" value="velo"' in form and 'name="department" value="75"' in form and 'name="page"' not in form
    english = client.get("/objets/?q=piano", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Get an email for this search" in english
    person = UserFactory()
    client.force_login(person)
    client.post("/objets/alerte/", {"q": "velo", "department": "75", "category": ""})
    assert Alert.objects.get(user=person).filters == {"q": "velo", "department": "75"}
