"""Browser tests: a real Chromium against a live server. Run in their own
pytest invocation (``-m browser``), see TOOLING.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.components import chromium_path, require
from tests.factories import CampaignFactory, ItemFactory, add_photo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    require("chromium", path is not None, "no chromium executable on PATH")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


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
