"""The gift form's "Je souhaite un reçu fiscal": the receipt's fields appear once
ticked (CSS only: no script of ours does it), a wrong value comes back
beside its field, and the paid gift's success page links to the receipt's PDF.
axe-core finds nothing serious on the form, ticked, nor on the form with errors."""

from __future__ import annotations

from typing import Any

import pytest

from donations.models import Gift
from receipts.models import TaxReceipt
from tests.browser import axe
from tests.browser.conftest import Site, off_the_loop
from tests.receipts_support import ready_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_guest_asks_for_a_receipt_on_the_gift_form_and_corrects_a_wrong_postal_code(browser: Any, site: Site) -> None:
    campaign = off_the_loop(ready_campaign)
    page = browser.new_page(locale="fr-FR")
    page.goto(site.url + campaign.get_absolute_url())

    postal_code = page.get_by_label("Code postal")
    assert not postal_code.is_visible()
    page.get_by_label("Je souhaite un reçu fiscal").check()
    assert postal_code.is_visible()
    assert_axe_free(page)

    page.get_by_label("Montant (€)").fill("30")
    page.get_by_label("Votre e-mail").fill("ines@example.org")
    page.get_by_label("Prénoms").fill("Inès")
    page.get_by_label("Nom", exact=True).fill("Da Silva")
    page.get_by_label("Adresse", exact=True).fill("12 avenue des Acacias")
    postal_code.fill("3100")
    page.get_by_label("Ville").fill("Toulouse")
    page.get_by_role("button", name="Donner").click()

    assert page.locator("#give-receipt_postal_code-error").inner_text().startswith("Un code postal français")
    assert page.get_by_label("Code postal").is_visible()  # still ticked, still shown
    assert page.get_by_label("Prénoms").input_value() == "Inès"
    assert_axe_free(page)
    assert not off_the_loop(Gift.objects.exists)

    page.get_by_label("Code postal").fill("31000")
    page.get_by_role("button", name="Donner").click()
    page.get_by_label("Numéro de carte").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Payer 30,00\u00a0€").click()

    download = page.get_by_role("link", name="Télécharger mon reçu fiscal (PDF)")
    pdf = page.request.get(download.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    receipt = off_the_loop(TaxReceipt.objects.get)
    assert (receipt.giver_last_name, receipt.giver_postal_code) == ("Da Silva", "31000")
    page.close()


def assert_axe_free(page: Any) -> None:
    problems = axe.blocking(page)
    assert not problems, axe.describe({page.url: problems})
