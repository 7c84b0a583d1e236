"""The shop counter on a phone (issue 22), in a real Chromium: a manager records the sale of a
catalogue object by typing its number, then a gift by cheque, and reads the day's summary; each
page passes axe-core (no serious or critical violation). Screenshots go to
build/screenshots/<database>/counter-<n>-<step>.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop, sign_in
from tests.factories import CampaignFactory, ItemFactory, manager_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _world() -> dict[str, Any]:
    campaign = CampaignFactory(title="Toit de la halle")
    item = ItemFactory(campaign=campaign, title="Commode en chêne", price_cents=12000)
    return {"campaign": campaign, "item": item, "manager": manager_of(campaign.organisation)}


def test_a_manager_records_a_sale_and_a_cheque_gift_on_a_phone_and_reads_the_day(
    browser: Any, site: Site, artefacts: Path
) -> None:
    from donations.models import CounterEntry, Item, ItemStatus

    data = off_the_loop(_world)
    context = browser.new_context(locale="fr-FR", **PHONE)
    sign_in(context, data["manager"], site.url)
    page = context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}

    def check(step: int, label: str) -> None:
        page.wait_for_load_state()
        page.screenshot(path=str(artefacts / f"counter-{step}-{label}.png"), full_page=True)
        if problems := axe.blocking(page):
            found[f"{label} ({page.url})"] = problems

    page.goto(f"{site.url}/gestion/caisse/")
    page.wait_for_url(f"**/gestion/caisse/{data['campaign'].organisation.slug}/")
    check(1, "counter")
    page.get_by_label("Numéro de l'objet ou code de son étiquette").fill(f"{data['item'].pk}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "Vente enregistrée : « Commode en chêne », 120,00" in page.locator(".messages").inner_text()
    check(2, "sale-recorded")

    page.get_by_role("link", name="Don", exact=True).click()
    page.get_by_label("Montant du don (€)").fill("45")
    page.get_by_role("radio", name="Chèque").check()
    page.get_by_label("Numéro du chèque").fill("1234567")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "Don de 45,00" in page.locator(".messages").inner_text()
    check(3, "gift-recorded")

    page.get_by_role("link", name="Récapitulatif de la journée").click()
    page.wait_for_url("**/journee/")
    totals = page.locator(".counter-totals").first.inner_text()
    assert "165,00" in totals and "45,00" in totals
    check(4, "day")
    context.close()

    assert off_the_loop(lambda: Item.objects.get(pk=data["item"].pk).status) == ItemStatus.HANDED_OVER
    assert off_the_loop(lambda: CounterEntry.objects.count()) == 2
    assert not found, "serious or critical axe-core violations:\n" + axe.describe(found)
