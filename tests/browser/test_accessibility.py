"""axe-core on every page of the journey, in French and in English: zero
serious or critical violations. The pages are real ones, on the live server,
in the states a person meets them (an object for sale, being paid for, sold;
a payment pending, cancelled, confirmed; signed out and signed in as a manager)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing

from checkout.services import order_start
from checkout.services.orders import RETURN_SALT
from donations.models import ItemStatus
from tests.browser import axe
from tests.browser.conftest import Site, off_the_loop, sign_in
from tests.factories import CampaignFactory, ItemFactory, WindowFactory, add_photo, manager_of, place_items

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def journey_world() -> dict[str, Any]:
    campaign = CampaignFactory(title="Atelier vélo solidaire", goal_cents=500_000)
    manager = manager_of(campaign.organisation, first_name="Lou")
    listed = ItemFactory(campaign=campaign, title="Vélo de ville", price_cents=9500)
    add_photo(listed, size=(320, 240))
    reserved = ItemFactory(campaign=campaign, title="Lampe de bureau", price_cents=1250)
    pending = order_start(item_ids=[reserved.pk], email="autre@example.org")
    sold = ItemFactory(campaign=campaign, title="Théière", price_cents=800, status=ItemStatus.SOLD)
    ItemFactory(campaign=campaign, title="Chaise à relire", status=ItemStatus.IN_REVIEW)
    ItemFactory(campaign=campaign, owner=manager, title="Mon grille-pain", status=ItemStatus.IN_REVIEW)
    window = WindowFactory(organisation=campaign.organisation, name="Vitrine de la rue Carnot")
    place_items(window, 2, campaign=campaign)
    return {
        "campaign": campaign,
        "manager": manager,
        "listed": listed,
        "reserved": reserved,
        "sold": sold,
        "window": window,
        "pending_ref": signing.dumps({"kind": "order", "id": pending.pk}, salt=RETURN_SALT),
    }


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_every_page_of_the_journey_has_no_serious_accessibility_violation(
    browser: Any, site: Site, artefacts: Path, locale: str
) -> None:
    world = off_the_loop(journey_world)
    campaign, manager, window = world["campaign"], world["manager"], world["window"]
    listed, reserved, sold = world["listed"], world["reserved"], world["sold"]
    pending_ref = world["pending_ref"]
    lang = locale[:2]

    found: dict[str, list[dict[str, Any]]] = {}
    every: dict[str, list[dict[str, Any]]] = {}  # minor and moderate too, kept for whoever polishes the pages

    def check(page: Any, label: str) -> None:
        assert page.locator("html").get_attribute("lang") == lang, f"{label} is not in {locale}"
        where = f"{locale} {label} ({path_of(page.url)})"
        every[where] = axe.violations(page)
        problems = [v for v in every[where] if v["impact"] in axe.BLOCKING]
        if problems:
            found[where] = problems

    def visit(page: Any, path: str, label: str) -> None:
        response = page.goto(site.url + path)
        assert response is not None and response.ok, f"{label}: {path} answered {response and response.status}"
        check(page, label)

    visitor = browser.new_context(locale=locale)
    page = visitor.new_page()
    visit(page, "/", "home")
    visit(page, "/objets/", "catalogue")
    visit(page, "/objets/?q=velo&department=99&ordering=price", "catalogue, searched, a field refused")
    page.locator("details.filters summary").click()
    check(page, "catalogue, filters folded")
    visit(page, "/objets/?q=introuvable", "catalogue, nothing found")
    visit(page, f"/organisations/{campaign.organisation.slug}/", "organisation's shop")
    visit(page, campaign.get_absolute_url(), "campaign page")
    visit(page, reserved.get_absolute_url(), "item page, reserved")
    visit(page, sold.get_absolute_url(), "item page, sold")
    visit(page, f"/vitrines/{window.pk}/", "window page")
    visit(page, f"/windows/{window.pk}/screen/?lang={lang}", "window screen")
    visit(page, "/comptes/connexion/", "sign-in")
    visit(page, "/comptes/inscription/", "sign-up")
    visit(page, "/comptes/mot-de-passe/", "password reset")
    visit(page, "/mentions-legales/", "legal notice")
    visit(page, "/conditions/", "terms of use and sale")
    visit(page, "/confidentialite/", "privacy notice")
    visit(page, f"/paiement/merci/?ref={pending_ref}", "checkout return, payment pending")
    visit(page, "/panier/", "basket, empty")
    visit(page, listed.get_absolute_url(), "item page, listed")
    page.locator("form[data-basket-add] button").click()
    page.wait_for_selector("[data-in-basket]")
    check(page, "item page, in the basket")
    visit(page, "/panier/", "basket")
    page.locator("#basket-email").fill("passant@example.org")
    page.locator("form[data-basket-pay] button").click()
    page.wait_for_url("**/payments/demo/**")
    page.locator("[data-countdown-clock]").wait_for(state="visible")
    check(page, "demo payment page, its countdown running")
    demo = path_of(page.url)
    visit(page, "/panier/", "basket, payment under way")
    visit(page, demo, "demo payment page")
    page.locator("a[href*='/paiement/annule/']").click()
    page.wait_for_url("**/paiement/annule/**")
    check(page, "checkout cancelled")
    # Cancelled: the object is free again and still in the basket; buy it alone this time.
    visit(page, listed.get_absolute_url(), "item page, listed")
    page.locator("#buy-email").fill("passant@example.org")
    page.locator("form[data-buy] button").click()
    page.wait_for_url("**/payments/demo/**")
    page.locator("#card_number").fill("4000 0000 0000 0002")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    check(page, "demo payment page, card declined")
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/paiement/merci/**")
    assert page.locator(".claim-code").is_visible()
    check(page, "checkout success with the claim code")
    claim = path_of(page.locator("a[href*='/retrait/']").first.get_attribute("href") or "")
    visit(page, claim, "claim page with its QR code")
    visitor.close()

    signed_in = browser.new_context(locale=locale)
    sign_in(signed_in, manager, site.url)
    page = signed_in.new_page()
    visit(page, "/comptes/profil/", "profile")
    visit(page, "/comptes/profil/supprimer/", "account deletion")
    visit(page, "/mes-objets/", "my items")
    visit(page, "/mes-objets/nouveau/", "post an item")
    visit(page, "/gestion/tableau-de-bord/", "managers' dashboard")
    page.wait_for_selector("[data-live-status][data-state=live]")
    check(page, "managers' dashboard, live")
    visit(page, "/gestion/relecture/", "review queue")
    page.locator("details.refuse summary").first.click()  # the reason box shows only once "Refuser" is chosen
    check(page, "review queue, a refusal being written")
    visit(page, "/gestion/campagnes/", "managed campaigns")
    visit(page, f"/gestion/campagnes/{campaign.slug}/", "campaign editing")
    visit(page, "/gestion/vitrines/", "managed windows")
    visit(page, f"/gestion/vitrines/{window.pk}/", "window editing")
    visit(page, f"/gestion/vitrines/{window.pk}/entonnoir/", "window funnel")
    visit(page, "/gestion/recus/", "tax receipts")
    visit(page, f"{claim}remise/", "hand-over page (the claim QR, scanned by the organisation)")
    signed_in.close()
    (artefacts / f"accessibility-{lang}.txt").write_text(
        f"axe-core violations of any impact, {len(every)} pages checked\n" + axe.describe(every) + "\n"
    )

    assert not found, "serious or critical axe-core violations:\n" + axe.describe(found)


def test_the_checker_reports_a_field_without_a_label_and_an_image_without_text(browser: Any) -> None:
    page = browser.new_page()
    page.set_content(
        '<!doctype html><html lang="fr"><title>t</title><main><input type="email">'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="9" height="9"></main></html>'
    )
    found = {v["id"] for v in axe.blocking(page)}
    page.close()
    assert {"label", "image-alt"} <= found
