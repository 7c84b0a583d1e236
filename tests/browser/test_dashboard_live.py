"""The managers' dashboard, in a real Chromium, follows what happens without a reload:
a sale arriving live is timed in Europe/Paris like the rows the server wrote, whatever
the browser's own time zone, and a hold appears in "Paiements en cours" when a checkout
starts and goes when it is released.

One uvicorn server over Redis for the session (tests/browser/conftest.py)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import Site, off_the_loop, sign_in
from tests.browser.test_live_updates import redis_layer
from tests.factories import CampaignFactory, ItemFactory, manager_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["redis_layer"]  # the fixture: this process publishes through Redis, as a web process does

SETTLE_MS = 20_000
PARIS = ZoneInfo("Europe/Paris")


def world() -> dict[str, Any]:
    campaign = CampaignFactory(title="Atelier vélo solidaire", status="live")
    item = ItemFactory(campaign=campaign, title="Lampe de bureau", price_cents=1250, status="listed")
    return {"campaign": campaign, "item": item, "manager": manager_of(campaign.organisation)}


def open_dashboard(browser: Any, site: Site, manager: Any) -> tuple[Any, Any]:
    # Far from Paris: the browser's own clock must not leak into the page.
    # wait_for_function needs bypass_csp (see test_live_updates.py's docstring).
    context = browser.new_context(locale="fr-FR", timezone_id="America/New_York", bypass_csp=True)
    sign_in(context, manager, site.url)
    page = context.new_page()
    page.goto(f"{site.url}/gestion/tableau-de-bord/")
    page.wait_for_selector("[data-live-status][data-state=live]", timeout=SETTLE_MS)
    return context, page


def start(item_id: int) -> Any:
    from checkout.services import order_start

    return order_start(item_id=item_id, email="passant@example.org")


def pay(order: Any) -> None:
    from payments.events import event_receive
    from payments.gateways import PaymentEvent

    event_receive(
        event=PaymentEvent(
            provider="demo",
            id=f"evt_paid_order_{order.pk}",
            type="payment.succeeded",
            kind="order",
            object_id=order.pk,
            session_id=order.provider_session_id or "",
            payment_id=f"pi_order_{order.pk}",
            amount_cents=order.amount_cents,
            currency="EUR",
        )
    )


def test_a_sale_arriving_live_is_timed_in_paris_not_by_the_browsers_clock(
    browser: Any, site: Site, redis_layer: None
) -> None:
    from realtime.models import RealtimeEvent

    data = off_the_loop(world)
    context, page = open_dashboard(browser, site, data["manager"])
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"

    off_the_loop(lambda: pay(start(data["item"].pk)))
    page.wait_for_selector("[data-feed] li.fresh", timeout=SETTLE_MS)
    sold = off_the_loop(lambda: RealtimeEvent.objects.get(type="item.sold"))
    shown = page.locator("[data-feed] li.fresh time")
    assert shown.inner_text() == sold.at.astimezone(PARIS).strftime("%H:%M")
    assert shown.get_attribute("datetime") is not None
    assert "vente : Lampe de bureau" in page.locator("[data-feed] li.fresh").inner_text()
    context.close()


def test_a_hold_appears_live_and_goes_when_released(browser: Any, site: Site, redis_layer: None) -> None:
    from checkout.services import reservation_release
    from donations.models import PaymentStatus

    data = off_the_loop(world)
    context, page = open_dashboard(browser, site, data["manager"])
    holds = page.locator("[data-holds]")
    assert holds.locator("[data-empty]").is_visible()

    order = off_the_loop(lambda: start(data["item"].pk))
    row = holds.locator(f'[data-item="{data["item"].pk}"]')
    row.wait_for(timeout=SETTLE_MS)
    until = order.expires_at.astimezone(PARIS).strftime("%H:%M")
    # The same words as the rows the server writes.
    assert row.inner_text() == f"Lampe de bureau — réservé jusqu'à {until}"
    assert holds.locator("[data-empty]").is_hidden()

    off_the_loop(lambda: reservation_release(order_id=order.pk, to=PaymentStatus.EXPIRED))
    row.wait_for(state="detached", timeout=SETTLE_MS)
    assert holds.locator("[data-empty]").is_visible()
    context.close()
