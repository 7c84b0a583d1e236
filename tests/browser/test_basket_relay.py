"""A relay point chosen on a phone with the keyboard only, in a real Chromium on the
live server: the way, the postal code, the relay point from the list, each a plain
form round trip; the shipping and the total shown before paying; one payment on the
demo page; the thanks page says which relay point the parcel goes to; the buyer's page
follows it until the demo carrier's tracking call says it is delivered. axe-core checks
the basket page with its relay points (no serious or critical violation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checkout.services.parcels import parcel_label_make, parcels_mark_shipped
from delivery.demo_carrier import DemoCarrier
from donations.models import Fulfilment
from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, manager_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_parcel() -> dict[str, Any]:
    boucle = CampaignFactory(title="Atelier couture", organisation=OrganisationFactory(name="Ressourcerie La Boucle"))
    teapot = ItemFactory(campaign=boucle, title="Théière en fonte", price_cents=2400, ships=True, weight_grams=800)
    return {"teapot": teapot}


def test_a_relay_point_picked_with_the_keyboard_on_a_phone_is_paid_and_shown_on_the_thanks_page(
    browser: Any, site: Site, artefacts: Path
) -> None:
    teapot = off_the_loop(a_parcel)["teapot"]
    point = DemoCarrier().relay_point("DEMO-64000-01")
    assert point is not None
    context = browser.new_context(locale="fr-FR", **PHONE)
    page = context.new_page()
    page.goto(f"{site.url}{teapot.get_absolute_url()}")
    page.get_by_role("button", name="Ajouter au panier").click()
    page.wait_for_selector("[data-in-basket]")
    page.goto(f"{site.url}/panier/")
    assert page.locator("[data-basket-total]").inner_text() == "24,00\u00a0€"

    # The way: a radio button chosen with the arrow keys, then "Choisir ce mode" with Enter.
    page.get_by_label("Retrait chez Ressourcerie La Boucle (gratuit)").focus()
    page.keyboard.press("ArrowDown")
    assert page.get_by_label("En point relais").is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Choisir ce mode"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The postal code, typed, and Enter: the relay points near it.
    postal_code = page.get_by_label("Code postal près duquel chercher un point relais")
    postal_code.focus()
    page.keyboard.type("64000")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    points = page.locator(".relay-points input[type=radio]")
    assert points.count() == 10
    assert "Frais de port : calculés dès que la livraison est choisie" in page.locator(".basket-group").inner_text()

    # The second relay point: focus the list, arrow down, Tab to its button, Enter.
    points.first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert page.get_by_label(point.name, exact=False).is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Choisir ce point relais"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Frais de port : 4,90\u00a0€" in page.locator(".basket-group").inner_text()
    assert page.locator("[data-basket-total]").inner_text() == "28,90\u00a0€"
    page.screenshot(path=str(artefacts / "basket-relay-1-chosen.png"), full_page=True)
    problems = axe.blocking(page)
    assert not problems, problems

    # Pay: the email typed, then Tab to "Payer 28,90 €" and Enter.
    page.locator("#basket-email").focus()
    page.keyboard.type("passant@example.org")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Payer 28,90\u00a0€"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url("**/payments/demo/**")
    page.get_by_label("Numéro de carte").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Payer 28,90\u00a0€").click()
    page.wait_for_url("**/paiement/merci/**")

    assert page.get_by_role("heading", level=1).inner_text() == "Merci !"
    parcel = page.locator("[data-parcel]")
    assert "Livré au point relais" in parcel.inner_text()
    assert point.name in parcel.inner_text() and point.address_line1 in parcel.inner_text()
    assert "64000" in parcel.inner_text()
    page.screenshot(path=str(artefacts / "basket-relay-2-thanks.png"), full_page=True)

    # Follow it: the buyer's page says "À expédier"; labelled and shipped by the organisation, then
    # delivered by the (demo) carrier's tracking call, it says so.
    page.get_by_role("link", name="Suivre mon colis").click()
    page.wait_for_url("**/retrait/**")
    assert "À expédier" in page.locator(".parcel-status").inner_text()

    def labelled_and_shipped() -> str:
        parcel = Fulfilment.objects.get(lines__item=teapot)
        parcel_label_make(fulfilment_id=parcel.pk)
        parcels_mark_shipped(actor=manager_of(parcel.organisation), fulfilment_ids=[parcel.pk])
        return Fulfilment.objects.get(pk=parcel.pk).tracking_number

    tracking = off_the_loop(labelled_and_shipped)
    page.reload()
    assert "Expédié" in page.locator(".parcel-status").inner_text() and tracking in page.content()
    answer = page.request.post(
        f"{site.url}/delivery/demo/track/", data={"tracking_number": tracking, "status": "delivered"}
    )
    assert answer.status == 200, answer.text()
    page.reload()
    assert "Livré" in page.locator(".parcel-status").inner_text()
    page.screenshot(path=str(artefacts / "basket-relay-3-delivered.png"), full_page=True)
    context.close()
