from __future__ import annotations

import pytest
from django.test import Client

from donations.models import ItemStatus
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def test_home_lists_live_campaigns_in_french_by_default(client: Client) -> None:
    campaign = CampaignFactory(title="Un toit pour l'hiver", goal_cents=1_200_000)
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in html
    assert campaign.title in html.replace("&#x27;", "'")
    assert "12\u202f000,00\u00a0€" in html


def test_pages_follow_the_browser_language(client: Client) -> None:
    CampaignFactory(goal_cents=1_200_000)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html
    assert "€12,000.00" in html


def test_item_page_shows_price_and_campaign(client: Client) -> None:
    item = ItemFactory(title="Platine vinyle", price_cents=15000)
    html = client.get(item.get_absolute_url()).content.decode()
    assert "Platine vinyle" in html and "150,00\u00a0€" in html and item.campaign.title in html


def test_an_item_in_review_is_not_public(client: Client) -> None:
    item = ItemFactory(status=ItemStatus.IN_REVIEW)
    response = client.get(item.get_absolute_url())
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()
