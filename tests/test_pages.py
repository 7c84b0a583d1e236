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


def test_live_pages_name_their_streams_and_resume_point(client: Client) -> None:
    from django.utils import timezone

    from realtime.events import ITEM_RESERVED
    from realtime.services import event_emit

    item = ItemFactory()
    public = {"item": item.pk, "status": "reserved", "until": timezone.now().isoformat()}
    event = event_emit(type=ITEM_RESERVED, public=public, private={"title": item.title}, items=[item.pk])
    item_html = client.get(item.get_absolute_url()).content.decode()
    campaign_html = client.get(item.campaign.get_absolute_url()).content.decode()
    assert f'data-item-stream="/ws/items/{item.pk}/"' in item_html
    assert f'data-campaign-stream="/ws/campaigns/{item.campaign.slug}/"' in item_html
    assert f'data-last-event="{event.pk}"' in item_html
    assert f'data-campaign-stream="/ws/campaigns/{item.campaign.slug}/"' in campaign_html
    assert "frontend/item.js" in item_html and "frontend/campaign.js" in campaign_html


def test_the_resume_point_is_the_newest_event_and_0_before_any() -> None:
    from django.utils import timezone

    from realtime.events import ITEM_RESERVED
    from realtime.models import RealtimeEvent
    from realtime.selectors import last_event_id
    from realtime.services import event_emit

    RealtimeEvent.objects.all().delete()
    assert last_event_id() == 0
    item = ItemFactory()
    public = {"item": item.pk, "status": "reserved", "until": timezone.now().isoformat()}
    events = [
        event_emit(type=ITEM_RESERVED, public=public, private={"title": item.title}, items=[item.pk]) for _n in range(3)
    ]
    assert last_event_id() == events[-1].pk == RealtimeEvent.objects.order_by("-id")[0].pk


def test_a_reserved_item_shows_who_is_paying_and_a_disabled_buy_button(client: Client) -> None:
    item = ItemFactory(status=ItemStatus.RESERVED)
    html = client.get(item.get_absolute_url()).content.decode()
    assert "Quelqu'un est en train de payer cet objet" in html
    assert "disabled" in html.split("data-buy")[1].split("</form>")[0]


def test_item_and_campaign_pages_have_share_previews(client: Client) -> None:
    from tests.factories import add_photo

    item = ItemFactory(title="Platine vinyle", price_cents=15000)
    add_photo(item)
    item_html = client.get(item.get_absolute_url()).content.decode()
    assert '<meta property="og:title" content="Platine vinyle — 150,00\u00a0€">' in item_html
    assert '<meta property="og:image" content="http://testserver/media/' in item_html
    assert 'property="og:description"' in item_html and item.campaign.title in item_html
    campaign_html = client.get(item.campaign.get_absolute_url()).content.decode()
    assert (
        f'<meta property="og:title" content="{item.campaign.title} — {item.campaign.organisation.name}">'
        in campaign_html
    )
    assert '<meta property="og:locale" content="fr_FR">' in campaign_html
