"""The campaign page's gift form in a real Chromium: an amount it refuses comes back on the
same form, the error beside the amount field, and nothing is recorded; the suggested amounts
work with the keyboard, and the script shows the cost after the tax reduction with the
server's own arithmetic (checkout.tax_reduction), in French and in English."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.models import Organisation
from checkout.tax_reduction import cost_after_reduction_cents, reduction_rule
from donations.models import Gift
from kernel.money import format_money
from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop
from tests.factories import CampaignFactory, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("amount", ["0,50", "0", "-5", "1,234"])
def test_a_refused_amount_is_explained_beside_the_field(browser: Any, site: Site, amount: str) -> None:
    campaign = off_the_loop(lambda: CampaignFactory(status="live", title="Un toit pour l'hiver"))
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{site.url}{campaign.get_absolute_url()}")

    page.fill("#give-amount", amount)
    page.fill("#give-email", "d@example.org")
    page.click("form.give button[type=submit]")
    page.wait_for_load_state()

    error = page.locator("#give-amount-error")
    assert error.is_visible(), page.content()[:3000]
    assert page.locator("#give-amount").input_value() == amount
    assert page.locator("#give-amount").get_attribute("aria-describedby") == "give-amount-error"
    assert not off_the_loop(lambda: Gift.objects.exists())
    context.close()


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_the_cost_after_the_tax_reduction_follows_the_amount_as_the_server_computes_it(
    browser: Any, site: Site, locale: str
) -> None:
    regime = Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY
    campaign = off_the_loop(
        lambda: CampaignFactory(
            status="live",
            organisation=OrganisationFactory(
                tax_regime=regime, signatory_name="Anne Martin", signatory_title="Présidente"
            ),
        )
    )
    lang = locale[:2]
    context = browser.new_context(locale=locale, **PHONE)
    page = context.new_page()
    page.goto(f"{site.url}{campaign.get_absolute_url()}")
    cost, typed = page.locator("#give-cost"), page.locator("#give-amount")
    example = cost.inner_text()

    def server(cents: int) -> str:
        return format_money(cost_after_reduction_cents(cents, reduction_rule(regime)), language=lang)

    # The keyboard reaches the suggested amounts, and the arrows move between them.
    page.locator("input[name=suggested][value='10']").focus()
    page.keyboard.press("Space")
    assert cost.locator("strong").inner_text() == server(1000)
    page.keyboard.press("ArrowRight")
    assert page.locator("input[name=suggested][value='20']").is_checked()
    assert cost.locator("strong").inner_text() == server(2000)

    # Typing an amount unticks the suggested one; rounding and the ceiling as on the server.
    for text, cents in [("10,01", 1001), ("3.33", 333), ("1000,01", 100_001), ("1500", 150_000), ("1", 100)]:
        typed.fill(text)
        assert page.locator("input[name=suggested]:checked").count() == 0
        assert cost.locator("strong").inner_text() == server(cents), text
    for text in ["", "0,50", "1e9", "12,345", "20000"]:  # empty, refused or above the largest gift
        typed.fill(text)
        assert cost.inner_text() == example, text

    # Choosing a suggested amount empties the typed one; that amount is the one given.
    typed.fill("35")
    page.locator("label.amount-choice", has_text="50").click()
    assert typed.input_value() == "" and cost.locator("strong").inner_text() == server(5000)
    assert axe.blocking(page) == [], axe.describe({"gift form": axe.blocking(page)})
    page.fill("#give-email", "d@example.org")
    page.click("form.give button[type=submit]")
    page.wait_for_url("**/payments/demo/**")
    assert off_the_loop(lambda: Gift.objects.get().amount_cents) == 5000
    context.close()
