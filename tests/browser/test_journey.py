"""Browser tests: a real Chromium against a live server. Run in their own
pytest invocation (``-m browser``): pytest-playwright leaves an event loop running. ``browser`` is in conftest.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import CampaignFactory, ItemFactory, add_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_passer_by_reaches_an_item_from_the_home_page(browser: Any, live_server: Any) -> None:
    campaign = CampaignFactory(title="Atelier vélo solidaire")
    item = ItemFactory(campaign=campaign, title="Vélo de ville Peugeot", price_cents=9500)
    add_photo(item, size=(120, 90))

    page = browser.new_page(locale="fr-FR")
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Atelier vélo solidaire").click()
    page.get_by_role("link", name="Vélo de ville Peugeot").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Vélo de ville Peugeot"
    assert "95,00" in page.locator(".price").inner_text()
    assert page.locator("img.hero").evaluate("img => img.naturalWidth") == 120
    page.close()
