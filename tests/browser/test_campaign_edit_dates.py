"""A manager on a phone opens the edit page of a campaign, changes its title only and saves:
the start and the end stay as they were. The date inputs (``type="datetime-local"``) hold
the stored moments only if the page writes them in ISO 8601; a localised value is dropped
by the browser, and the form then lost the end or refused the start."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.models import Campaign
from tests.browser.conftest import PHONE, Site, off_the_loop, sign_in
from tests.factories import CampaignFactory, manager_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seeded() -> tuple[Campaign, Any]:
    campaign = CampaignFactory(title="Atelier vélo solidaire", goal_cents=200_000)
    return campaign, manager_of(campaign.organisation)


def test_a_manager_changes_the_title_only_and_both_dates_stay(browser: Any, site: Site) -> None:
    campaign, manager = off_the_loop(seeded)
    context = browser.new_context(locale="fr-FR", **PHONE)
    sign_in(context, manager, site.url)
    page = context.new_page()
    page.goto(f"{site.url}/gestion/campagnes/{campaign.slug}/")

    assert page.get_by_label("Début").input_value() and page.get_by_label("Fin").input_value()
    page.get_by_label("Titre").fill("Atelier vélo solidaire du quartier")
    with page.expect_navigation():  # the form posts, then the page comes back with its message
        page.get_by_role("button", name="Enregistrer").click()

    assert page.get_by_text("Campagne enregistrée.").is_visible()
    saved = off_the_loop(lambda: Campaign.objects.get(pk=campaign.pk))
    assert saved.title == "Atelier vélo solidaire du quartier"
    assert (saved.starts_at, saved.ends_at) == (campaign.starts_at, campaign.ends_at)
    context.close()
