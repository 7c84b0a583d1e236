from __future__ import annotations

import re

import pytest
from django.test import Client

from donations.models import ItemStatus
from donations.services import item_transition
from qr.services import placement_remove
from tests.factories import WindowFactory, place_items

pytestmark = pytest.mark.django_db


def test_the_screen_lists_the_window_items_with_prices_qr_codes_and_its_stream(client: Client) -> None:
    window = WindowFactory(name="Vitrine de Noël")
    placements = place_items(window, 3, price_cents=4250)

    response = client.get(f"/windows/{window.pk}/screen/")

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-stream="/ws/windows/{window.pk}/"' in html
    assert "Vitrine de Noël" in html and html.count("42,50\u00a0€") == 3
    positions = [html.index(f'data-item="{p.item_id}"') for p in placements]
    assert positions == sorted(positions)  # in the window's order
    for placement in placements:
        assert f'src="/q/{placement.short_code.code}.svg"' in html
    assert placements[0].item.campaign.title in html


def test_the_screen_marks_reserved_and_sold_items(client: Client) -> None:
    window = WindowFactory()
    listed, reserved, sold = place_items(window, 3)
    item_transition(item=reserved.item, to=ItemStatus.RESERVED)
    item_transition(item=sold.item, to=ItemStatus.RESERVED)
    item_transition(item=sold.item, to=ItemStatus.SOLD)

    html = client.get(f"/windows/{window.pk}/screen/").content.decode()

    def state(placement):  # type: ignore[no-untyped-def]
        match = re.search(rf'data-item="{placement.item_id}" data-status="(\w+)"', html)
        return match.group(1) if match else None

    assert (state(listed), state(reserved), state(sold)) == ("listed", "reserved", "sold")
    assert "en cours d’achat" in html and "VENDU" in html
    assert f'data-today-cents="{sold.item.price_cents}"' in html  # what this window sold today


def test_the_screen_leaves_out_removed_placements(client: Client) -> None:
    window = WindowFactory()
    kept, removed = place_items(window, 2)
    placement_remove(placement=removed)

    html = client.get(f"/windows/{window.pk}/screen/").content.decode()

    assert f'data-item="{kept.item_id}"' in html and f'data-item="{removed.item_id}"' not in html


def test_a_window_not_on_display_has_no_public_screen(client: Client) -> None:
    window = WindowFactory(is_active=False)
    assert client.get(f"/windows/{window.pk}/screen/").status_code == 404
    assert client.get("/windows/999999/screen/").status_code == 404


def test_the_window_page_on_a_phone_lists_its_items(client: Client) -> None:
    window = WindowFactory(name="Vitrine d'hiver")
    placements = place_items(window, 2, price_cents=1250)

    html = client.get(f"/vitrines/{window.pk}/").content.decode()

    assert "Vitrine d&#x27;hiver" in html and html.count("12,50\u00a0€") == 2
    for placement in placements:
        assert f'href="/objets/{placement.item_id}/"' in html


def test_the_screen_speaks_french_whatever_the_browser_unless_its_url_asks(client: Client) -> None:
    window = WindowFactory()
    place_items(window, 1, price_cents=4250)

    french = client.get(f"/windows/{window.pk}/screen/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    english = client.get(f"/windows/{window.pk}/screen/?lang=en").content.decode()

    assert '<html lang="fr">' in french and "42,50\u00a0€" in french
    assert '<html lang="en">' in english and "€42.50" in english


def test_an_old_window_sticker_says_the_window_is_over_and_shows_the_projects(client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from qr.services import short_code_for
    from tests.factories import CampaignFactory

    now = timezone.now()
    window = WindowFactory(starts_at=now - timedelta(days=30), ends_at=now - timedelta(days=2))
    campaign = CampaignFactory(organisation=window.organisation, title="Un toit pour l'hiver")

    response = client.get(f"/q/{short_code_for(target=window).code}", follow=True)

    assert response.status_code == 410
    html = response.content.decode()
    assert "Cette vitrine n'est plus en place" in html and f'href="/campagnes/{campaign.slug}/"' in html
    assert client.get("/vitrines/999999/").status_code == 404
