"""A basket on a phone, in a real Chromium on the live server: two objects of
two organisations added from their pages, one payment on the demo page, two
claim codes; and a payment started then cancelled: the countdown runs while
paying, and the objects are for sale again at once, still in the basket.
axe-core checks each page on the way (no serious or critical violation)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, add_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETTLE_MS = 20_000


def two_organisations() -> dict[str, Any]:
    north = CampaignFactory(
        title="Atelier vélo", organisation=OrganisationFactory(name="Emmaüs Nord", address_line1="5 rue Nord")
    )
    south = CampaignFactory(
        title="Toit d'hiver", organisation=OrganisationFactory(name="Emmaüs Sud", address_line1="9 rue Sud")
    )
    lamp = ItemFactory(campaign=north, title="Lampe de bureau", price_cents=1250)
    add_photo(lamp, size=(320, 240))
    teapot = ItemFactory(campaign=south, title="Théière en fonte", price_cents=2400)
    return {"lamp": lamp, "teapot": teapot}


def add_from_its_page(page: Any, site: Site, item: Any, count: int) -> None:
    page.goto(f"{site.url}{item.get_absolute_url()}")
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_selector("[data-in-basket]")
    assert page.locator("[data-basket-link]").inner_text() == f"Panier ({count})"


def item_status(page: Any, site: Site, item: Any) -> str:
    response = page.request.get(f"{site.url}/api/items/{item.pk}/")
    assert response.ok, response.status
    return json.loads(response.text())["status"]  # type: ignore[no-any-return]


def blocking(page: Any, label: str, found: dict[str, list[dict[str, Any]]]) -> None:
    problems = axe.blocking(page)
    if problems:
        found[label] = problems


def test_two_objects_of_two_organisations_paid_once_on_a_phone_give_two_claim_codes(
    browser: Any, site: Site, artefacts: Path
) -> None:
    world = off_the_loop(two_organisations)
    lamp, teapot = world["lamp"], world["teapot"]
    found: dict[str, list[dict[str, Any]]] = {}
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()

    add_from_its_page(page, site, lamp, 1)
    blocking(page, "item page, in the basket", found)
    add_from_its_page(page, site, teapot, 2)
    page.locator("[data-basket-link]").click()
    page.wait_for_url("**/panier/")
    groups = page.locator(".basket-group h2")
    assert groups.all_inner_texts() == ["À retirer chez Emmaüs Nord", "À retirer chez Emmaüs Sud"]
    assert page.locator("[data-basket-total]").inner_text() == "36,50\u00a0€"
    page.screenshot(path=str(artefacts / "basket-1-two-organisations.png"), full_page=True)
    blocking(page, "basket page", found)

    page.locator("#basket-email").fill("passant@example.org")
    page.get_by_role("button", name="Payer 36,50\u00a0€").click()
    page.wait_for_url("**/payments/demo/**")
    clock = page.locator("[data-countdown-clock]")
    clock.wait_for(state="visible")
    assert re.fullmatch(r"(29|30):\d\d", clock.inner_text()), clock.inner_text()
    blocking(page, "demo payment page with the countdown", found)
    page.get_by_label("Numéro de carte").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Payer 36,50\u00a0€").click()
    page.wait_for_url("**/paiement/merci/**")

    assert page.get_by_role("heading", level=1).inner_text() == "Merci !"
    codes = page.locator(".claim-code").all_inner_texts()
    assert len(codes) == 2 and len(set(codes)) == 2
    parts = page.locator("section.fulfilment h2").all_inner_texts()
    assert parts == ["À retirer chez Emmaüs Nord", "À retirer chez Emmaüs Sud"]
    page.screenshot(path=str(artefacts / "basket-2-two-claim-codes.png"), full_page=True)
    blocking(page, "success page with two claim codes", found)
    claim_pages = [link.get_attribute("href") for link in page.locator("section.fulfilment a[href*='/retrait/']").all()]
    assert len(claim_pages) == 2
    page.goto(claim_pages[1] or "")
    assert page.locator(".claim-code").inner_text() == codes[1]
    assert "Théière en fonte" in page.locator("main").inner_text()
    assert "Lampe de bureau" not in page.locator("main").inner_text()
    blocking(page, "claim page of one organisation", found)
    assert item_status(page, site, lamp) == item_status(page, site, teapot) == "sold"
    page.goto(f"{site.url}/panier/")
    assert "Votre panier est vide." in page.locator("main").inner_text()
    context.close()

    assert not found, "serious or critical axe-core violations:\n" + axe.describe(found)


def test_the_countdown_runs_while_paying_and_cancelling_frees_the_objects_at_once(
    browser: Any, site: Site, artefacts: Path
) -> None:
    world = off_the_loop(two_organisations)
    lamp, teapot = world["lamp"], world["teapot"]
    found: dict[str, list[dict[str, Any]]] = {}
    context = browser.new_context(locale="en-GB", **PHONE)
    page = context.new_page()
    for count, item in enumerate((lamp, teapot), start=1):
        page.goto(f"{site.url}{item.get_absolute_url()}")
        page.get_by_role("button", name="Add to basket").click()
        page.wait_for_selector("[data-in-basket]")
        assert page.locator("[data-basket-link]").inner_text() == f"Basket ({count})"
    page.goto(f"{site.url}/panier/")
    page.locator("#basket-email").fill("passant@example.org")
    page.get_by_role("button", name="Pay €36.50").click()
    page.wait_for_url("**/payments/demo/**")
    demo = page.url

    # The countdown goes down, second by second, on the payment page and on the basket.
    clock = page.locator("[data-countdown-clock]")
    clock.wait_for(state="visible")
    first = clock.inner_text()
    page.wait_for_function(
        "(first) => document.querySelector('[data-countdown-clock]').textContent !== first", arg=first
    )
    assert clock.inner_text() < first
    assert item_status(page, site, lamp) == item_status(page, site, teapot) == "reserved"
    page.goto(f"{site.url}/panier/")
    assert "Reserved for you until" in page.locator("[data-hold]").inner_text()
    page.locator("[data-hold] [data-countdown-clock]").wait_for(state="visible")
    assert re.fullmatch(r"(29|30):\d\d", page.locator("[data-hold] [data-countdown-clock]").inner_text())
    page.screenshot(path=str(artefacts / "basket-3-paying-countdown.png"), full_page=True)
    blocking(page, "basket while paying, with the countdown", found)

    # Back on the payment page, the buyer cancels: both objects are for sale again at once.
    page.goto(demo)
    page.get_by_role("link", name="Cancel and go back").click()
    page.wait_for_url("**/paiement/annule/**")
    assert page.get_by_role("heading", level=1).inner_text() == "Payment cancelled"
    assert "available again" in page.locator("main").inner_text()
    blocking(page, "payment cancelled", found)
    assert item_status(page, site, lamp) == item_status(page, site, teapot) == "listed"
    other = browser.new_context(locale="en-GB", **PHONE).new_page()
    other.goto(f"{site.url}{teapot.get_absolute_url()}")
    assert other.locator("form[data-buy] button[type=submit]").is_enabled()
    other.context.close()

    # The basket kept them, ready to pay again.
    page.get_by_role("link", name="Back to the basket").click()
    page.wait_for_url("**/panier/")
    assert page.locator(".basket-line[data-state=available]").count() == 2
    assert page.get_by_role("button", name="Pay €36.50").is_enabled()
    page.screenshot(path=str(artefacts / "basket-4-cancelled-kept.png"), full_page=True)
    context.close()

    assert not found, "serious or critical axe-core violations:\n" + axe.describe(found)


def test_when_the_countdown_reaches_zero_the_page_says_the_hold_is_over(browser: Any, site: Site) -> None:
    world = off_the_loop(two_organisations)
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    page.clock.install()
    add_from_its_page(page, site, world["lamp"], 1)
    page.goto(f"{site.url}/panier/")
    page.locator("#basket-email").fill("passant@example.org")
    page.get_by_role("button", name="Payer 12,50\u00a0€").click()
    page.wait_for_url("**/payments/demo/**")
    page.locator("[data-countdown-clock]").wait_for(state="visible")
    assert page.locator("[data-countdown-over]").is_hidden()

    page.clock.run_for("31:00")

    over = page.locator("[data-countdown-over]")
    over.wait_for(state="visible")
    assert "Le délai de paiement est dépassé" in over.inner_text()
    assert over.get_attribute("role") == "status"
    assert page.locator("[data-countdown-running]").is_hidden()
    assert page.locator("form[data-hold-only]").is_hidden()  # nothing left to pay on this page
    context.close()
