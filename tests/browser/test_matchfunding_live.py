"""Matchfunding live on a window's screen, in a real Chromium (server: uvicorn +
Channels over Redis): a gift paid to a pledged campaign shows the partner's
promised total without a reload, apart from the money collected, and the
screen stops saying "votre don est doublé" once the partner's cap is reached."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from checkout.services import pledge_create
from tests.browser.test_live_updates import in_thread, redis_layer  # noqa: F401 (a fixture)
from tests.browser.test_windows_screen_live import in_chromium
from tests.factories import WindowFactory, place_items
from tests.receipts_support import manager, paid_gift, ready_campaign
from tests.support.servers import asgi_servers
from tests.test_matchfunding import COMPANY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MATCHED = "document.querySelector('[data-matched-amount]').textContent"
BANNER = "document.querySelector('[data-match-banner]')"


def test_the_window_screen_shows_the_matched_total_live_and_says_doubled_while_the_pledge_has_room(
    redis_layer: None,  # noqa: F811
) -> None:
    campaign = ready_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LIVE)
    window = WindowFactory(organisation=campaign.organisation)
    in_thread(lambda: place_items(window, 1, campaign=campaign))
    in_thread(
        lambda: pledge_create(
            actor=manager(campaign.organisation),
            campaign=campaign,
            partner=COMPANY,
            ratio_percent=100,
            cap_cents=4000,
            ends_at=timezone.now() + timedelta(days=10),
        )
    )

    with asgi_servers(1, debug=True) as (server,):

        def script(browser: Any) -> dict[str, Any]:
            page = browser.new_page(bypass_csp=True)  # see test_live_updates' docstring
            page.goto(f"{server}/windows/{window.pk}/screen/")
            seen: dict[str, Any] = {
                "banner_before": page.locator("[data-match-banner]").inner_text(),
                "matched_before": page.locator("[data-matched-amount]").inner_text(),
            }
            in_thread(lambda: paid_gift(campaign, 2500))
            page.wait_for_function(f"{MATCHED}.startsWith('25,00')", timeout=15_000)
            seen["raised_after_first"] = page.locator("[data-raised-amount]").inner_text()
            seen["banner_visible_after_first"] = page.locator("[data-match-banner]").is_visible()
            in_thread(lambda: paid_gift(campaign, 2500))  # 15 € left under the cap: it is reached
            page.wait_for_function(f"{MATCHED}.startsWith('40,00') && {BANNER}.hidden", timeout=15_000)
            seen["raised_after_second"] = page.locator("[data-raised-amount]").inner_text()
            return seen

        seen = in_chromium(script)

    assert seen["banner_before"] == "Votre don est doublé !"
    assert seen["matched_before"].startswith("0,00")
    assert seen["raised_after_first"].startswith("25,00")  # the gift alone: the promise is shown apart
    assert seen["banner_visible_after_first"] is True
    assert seen["raised_after_second"].startswith("50,00")
