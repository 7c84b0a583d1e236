"""The campaign page's gift form in a real Chromium: an amount it refuses comes back on the
same form, the error beside the amount field, and nothing is recorded."""

from __future__ import annotations

from typing import Any

import pytest

from donations.models import Gift
from tests.browser.conftest import Site, off_the_loop
from tests.factories import CampaignFactory

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
