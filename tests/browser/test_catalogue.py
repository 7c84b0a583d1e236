"""The catalogue on a phone, in a real Chromium on the live server: search "velo" (finding
"Vélo"), narrow to a department through the folded filters, open a result, add it to the
basket; and /objets/'s page-weight budget on the throttled phone profile (as the item page's)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop, throttle
from tests.browser.test_item_page_budget import server_queries
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, add_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE_BUDGET_BYTES = 60 * 1024  # HTML + CSS + JS, compressed, as the item page
QUERY_BUDGET = 4  # the capped count, the page of items, their photos (a visitor: no session, no user)
IMAGE_BUDGET_BYTES = 400 * 1024  # lazy photos: the first screen's, not the page's 24


def two_towns() -> dict[str, Any]:
    paris = CampaignFactory(
        title="Atelier vélo", organisation=OrganisationFactory(name="Ressourcerie Paris", postal_code="75011")
    )
    pau = CampaignFactory(
        title="Toit d'hiver",
        organisation=OrganisationFactory(name="Emmaüs Pau", postal_code="64000", city="Pau"),
    )
    here = ItemFactory(campaign=pau, title="Vélo pliant", price_cents=7000)
    add_photo(here, size=(320, 240))
    add_photo(ItemFactory(campaign=paris, title="Vélo de course", price_cents=9000), size=(320, 240))
    ItemFactory(campaign=pau, title="Table basse", price_cents=3000)
    for number in range(30):
        add_photo(ItemFactory(campaign=paris, title=f"Livre {number}", price_cents=300), size=(800, 600))
    return {"here": here}


def test_search_filter_open_and_add_to_the_basket_on_a_phone(browser: Any, site: Site, artefacts: Path) -> None:
    here = off_the_loop(two_towns)["here"]
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    page.goto(site.url + "/")
    page.get_by_role("link", name="Objets", exact=True).click()
    page.wait_for_url("**/objets/")
    page.get_by_label("Rechercher un objet").fill("velo")
    page.get_by_role("button", name="Chercher", exact=True).click()
    page.wait_for_url("**/objets/?q=velo*")
    assert sorted(page.locator(".catalogue-items .title").all_inner_texts()) == ["Vélo de course", "Vélo pliant"]
    assert page.locator(".found").inner_text() == "2 objets"
    # The filters are folded on a phone: open them, choose a department, apply.
    assert not page.get_by_label("Département").is_visible()
    page.locator("details.filters summary").click()
    page.get_by_label("Département").select_option("64")
    page.get_by_role("button", name="Appliquer les filtres").click()
    page.wait_for_url("**department=64*")
    assert page.locator(".catalogue-items .title").all_inner_texts() == ["Vélo pliant"]
    assert page.locator(".catalogue-items .place").inner_text() == "Pau"
    page.screenshot(path=str(artefacts / "catalogue-phone-search.png"), full_page=True)
    assert not axe.blocking(page), axe.describe({"catalogue": axe.blocking(page)})
    page.get_by_role("link", name="Vélo pliant").click()
    page.wait_for_url(f"**{here.get_absolute_url()}")
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_selector("[data-in-basket]")
    assert page.locator("[data-basket-link]").inner_text() == "Panier (1)"
    context.close()


def test_adding_from_the_results_works_without_javascript(browser: Any, site: Site) -> None:
    off_the_loop(two_towns)
    context = browser.new_context(locale="fr-FR", java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(site.url + "/objets/?q=velo&department=64")
    page.get_by_role("button", name="Ajouter au panier : Vélo pliant").click()
    page.wait_for_url("**/objets/?q=velo&department=64")
    assert page.locator("[data-basket-link]").inner_text() == "Panier (1)"
    assert page.locator("[data-in-basket]").count() == 1
    context.close()


def test_the_catalogue_fits_its_budget_on_a_throttled_phone(
    browser: Any, site: Site, artefacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    off_the_loop(two_towns)
    path = "/objets/"
    queries = off_the_loop(lambda: server_queries(path))
    context = browser.new_context(locale="fr-FR", bypass_csp=True, **PHONE)
    page = context.new_page()
    throttle(context, page)
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(site.url + path, wait_until="load")
    page.screenshot(path=str(artefacts / "budget-catalogue-phone.png"))
    sizes = {"code": 0, "image": 0}
    images = 0
    for request in requests:
        response = request.response()
        assert response is not None and response.ok, request.url
        body = response.body()
        encoding = response.headers.get("content-encoding", "")
        compressed = request.sizes()["responseBodySize"] if encoding else len(gzip.compress(body, compresslevel=6))
        if request.resource_type in {"document", "stylesheet", "script"}:
            sizes["code"] += compressed
        elif request.resource_type == "image":
            sizes["image"] += len(body)
            images += 1
    third_party = [r.url for r in requests if urlsplit(r.url).hostname != "127.0.0.1"]
    text = (
        f"Catalogue budget — {path}: HTML+CSS+JS {sizes['code']} B compressed (budget {CODE_BUDGET_BYTES}), "
        f"{images} images {sizes['image']} B (budget {IMAGE_BUDGET_BYTES}), {len(requests)} requests, "
        f"{queries} queries (budget {QUERY_BUDGET})"
    )
    (artefacts / "catalogue-budget.txt").write_text(text + "\n")
    with capsys.disabled():
        print("\n" + text)
    context.close()
    assert sizes["code"] <= CODE_BUDGET_BYTES, text
    assert sizes["image"] <= IMAGE_BUDGET_BYTES and images < 24, text
    assert not third_party, third_party
    assert queries <= QUERY_BUDGET, text
