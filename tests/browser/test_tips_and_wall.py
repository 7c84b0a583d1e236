"""In a real Chromium on a phone: the campaign page with its donor wall and the gift form's optional
tip has no serious accessibility violation; a tip typed is paid with the gift on the demo page
(gift + tip), the success page thanks for it, and the campaign counts the gift alone."""

from __future__ import annotations

from typing import Any

import pytest

from checkout.services import gift_wall_decide
from donations.models import Gift
from ledger.selectors import campaign_progress
from tests.browser import axe
from tests.browser.conftest import PHONE, Site, off_the_loop
from tests.factories import CampaignFactory, MembershipFactory
from tests.test_tips import paid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def campaign_with_a_wall() -> Any:
    from checkout.services import gift_start

    campaign = CampaignFactory(status="live", title="Un toit pour l'hiver")
    manager = MembershipFactory(organisation=campaign.organisation).user
    shown = paid(
        gift_start(
            campaign_slug=campaign.slug, amount_cents=1500, email="a@example.org", name="Aïcha", message="Tenez bon !"
        )
    )
    paid(
        gift_start(
            campaign_slug=campaign.slug,
            amount_cents=1500,
            email="b@example.org",
            name="Pas Encore Lu",
            message="En attente",
        )
    )
    gift_wall_decide(actor=manager, gift_id=shown.pk, decision="approve")
    return campaign


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
def test_a_tip_typed_is_paid_with_the_gift_and_the_wall_shows_approved_messages(
    browser: Any, site: Site, locale: str
) -> None:
    campaign = off_the_loop(campaign_with_a_wall)
    context = browser.new_context(locale=locale, **PHONE)
    page = context.new_page()
    page.goto(f"{site.url}{campaign.get_absolute_url()}")

    wall = page.locator("section.donor-wall")
    assert "Aïcha" in wall.inner_text() and "Tenez bon !" in wall.inner_text()
    assert "Pas Encore Lu" not in page.content()
    assert page.locator("#give-tip").input_value() == ""
    assert axe.blocking(page) == []

    page.locator("input[name=suggested][value='20']").check()
    page.fill("#give-email", "d@example.org")
    page.fill("#give-tip", "2")
    page.click("form.give button[type=submit]")
    page.wait_for_url("**/payments/demo/**")
    assert "22" in page.locator(".amount").inner_text()
    page.locator("#card_number").fill("4242 4242 4242 4242")
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/paiement/merci/**")
    assert "Trëmma" in page.locator(".checkout-return").inner_text()
    assert axe.blocking(page) == []

    gift = off_the_loop(lambda: Gift.objects.get(email="d@example.org"))
    assert (gift.amount_cents, gift.tip_cents) == (2000, 200)
    assert off_the_loop(lambda: campaign_progress(campaign_id=campaign.pk)) == (5000, 3)
    context.close()
