"""Under the Content-Security-Policy, the pages still work in a real Chromium
and not one resource is refused: the API docs (Swagger UI from our own static
files, no CDN), the live item page with its websocket, the demo payment page and
the managers' dashboard. An inline script, by contrast, is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Site, off_the_loop, sign_in
from tests.factories import CampaignFactory, ItemFactory, manager_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Records every violation the page reports, before any of its own scripts run.
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def violations(page: Any) -> list[str]:
    return list(page.evaluate("window.__cspViolations"))


def open_page(browser: Any, url: str) -> tuple[Any, Any]:
    context = browser.new_context(locale="fr-FR")
    context.add_init_script(LISTEN)
    page = context.new_page()
    page.goto(url)
    return context, page


def open_live_page(context: Any, url: str) -> Any:
    """Open ``url`` and wait for its live-updates socket to be open (connect-src allowed it)."""
    page = context.new_page()
    with page.expect_websocket(timeout=15000) as opened:
        page.goto(url)
    socket = opened.value
    page.wait_for_timeout(300)
    assert not socket.is_closed()
    return page


def test_the_api_docs_work_offline_under_the_policy(browser: Any, site: Site) -> None:
    context, page = open_page(browser, f"{site.url}/api/docs/")
    # Swagger UI drew the operations from our schema: its bundle and start-up script ran.
    page.wait_for_selector(".opblock-tag", timeout=20000)
    assert page.locator(".opblock").count() > 10
    requested = page.evaluate("performance.getEntriesByType('resource').map((r) => r.name)")
    assert all(url.startswith(site.url) for url in requested), requested  # nothing from a CDN
    assert violations(page) == []
    context.close()


def test_the_live_item_page_and_the_demo_payment_page_work_under_the_policy(browser: Any, site: Site) -> None:
    item = off_the_loop(lambda: ItemFactory(campaign=CampaignFactory(status="live"), price_cents=2500))
    context = browser.new_context(locale="fr-FR")
    context.add_init_script(LISTEN)
    page = open_live_page(context, f"{site.url}/objets/{item.pk}/")
    page.get_by_label("Votre e-mail (pour le reçu et le code de retrait)").fill("passant@example.org")
    page.get_by_role("button", name="Acheter cet objet").click()
    page.wait_for_url("**/payments/demo/**")
    page.get_by_label("Numéro de carte").fill("4242 4242 4242 4242")
    assert violations(page) == []
    context.close()


def test_the_managers_dashboard_works_under_the_policy(browser: Any, site: Site) -> None:
    campaign = off_the_loop(lambda: CampaignFactory(status="live"))
    manager = off_the_loop(lambda: manager_of(campaign.organisation))
    context = browser.new_context(locale="fr-FR")
    context.add_init_script(LISTEN)
    sign_in(context, manager, site.url)
    page = open_live_page(context, f"{site.url}/gestion/tableau-de-bord/")
    assert violations(page) == []
    context.close()


def test_an_inline_script_is_refused(browser: Any, site: Site) -> None:
    context, page = open_page(browser, f"{site.url}/")
    page.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "window.__ran = true";
                   document.body.appendChild(s); }"""
    )
    assert page.evaluate("window.__ran === undefined")
    assert any(v.startswith("script-src") for v in violations(page))
    context.close()
