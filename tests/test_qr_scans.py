from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from donations.models import ItemStatus
from qr.models import Scan, ScanSalt
from qr.services import client_class_from_user_agent, short_code_for, visitor_hash
from tests.factories import CampaignFactory, ItemFactory, WindowFactory, place_items

pytestmark = pytest.mark.django_db

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def test_scanning_an_item_code_logs_the_scan_then_redirects_to_the_item_page(client: Client) -> None:
    item = ItemFactory()
    code = short_code_for(target=item)

    response = client.get(f"/q/{code.code}", HTTP_USER_AGENT=IPHONE)

    assert response.status_code == 302
    assert response["Location"] == f"/objets/{item.pk}/"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    (scan,) = Scan.objects.all()
    assert scan.short_code == code and scan.client_class == "mobile"
    assert scan.window is None and scan.placement is None
    assert abs(scan.at - timezone.now()) < timedelta(seconds=10)


def test_campaign_and_window_codes_lead_to_their_pages(client: Client) -> None:
    campaign = CampaignFactory()
    window = WindowFactory()

    assert client.get(f"/q/{short_code_for(target=campaign).code}")["Location"] == f"/campagnes/{campaign.slug}/"
    assert client.get(f"/q/{short_code_for(target=window).code}")["Location"] == f"/vitrines/{window.pk}/"
    assert client.get(f"/vitrines/{window.pk}/").status_code == 200
    assert Scan.objects.get(short_code__window=window).window == window


def test_a_placement_scan_says_which_window_brought_the_visitor(client: Client) -> None:
    window = WindowFactory()
    (placement,) = place_items(window, 1)

    response = client.get(f"/q/{placement.short_code.code}", HTTP_USER_AGENT=FIREFOX)

    assert response["Location"] == placement.item.get_absolute_url()
    (scan,) = Scan.objects.all()
    assert scan.placement == placement and scan.window == window and scan.client_class == "desktop"


def test_codes_are_read_whatever_their_case(client: Client) -> None:
    item = ItemFactory()
    code = short_code_for(target=item).code
    assert client.get(f"/q/{code.lower()}")["Location"] == item.get_absolute_url()


@pytest.mark.parametrize("code", ["ZZZZZZZ", "abc0O1l", "X", "ABCDEFGHJKMNPQRSTUVWXYZ23456789"])
def test_an_unknown_code_is_a_404_page_in_french_by_default(client: Client, code: str) -> None:
    response = client.get(f"/q/{code}")

    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="fr">' in html and "Ce code ne mène nulle part" in html
    assert Scan.objects.count() == 0


def test_an_unknown_code_is_a_404_page_in_the_visitors_language(client: Client) -> None:
    response = client.get("/q/ZZZZZZZ", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="en">' in html and "This code leads nowhere" in html


def test_the_scan_log_keeps_no_ip_address(client: Client) -> None:
    code = short_code_for(target=ItemFactory())

    client.get(f"/q/{code.code}", REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT=IPHONE)

    scan = Scan.objects.values().get()
    assert not any("203.0.113.77" in str(value) for value in scan.values())
    assert "ip" not in {name.lower() for name in scan}
    assert len(scan["visitor_hash"]) == 64
    assert not ScanSalt.objects.filter(salt__contains="203.0.113").exists()


def test_the_visitor_hash_counts_one_visitor_in_a_day_but_cannot_link_days() -> None:
    now = timezone.now()
    today = visitor_hash(address="198.51.100.4", user_agent=IPHONE, at=now)

    assert visitor_hash(address="198.51.100.4", user_agent=IPHONE, at=now) == today
    assert visitor_hash(address="198.51.100.5", user_agent=IPHONE, at=now) != today
    cache.clear()
    assert visitor_hash(address="198.51.100.4", user_agent=IPHONE, at=now + timedelta(days=1)) != today


def test_old_daily_salts_are_destroyed() -> None:
    now = timezone.now()
    for days in (0, 1, 2, 3):
        cache.clear()
        visitor_hash(address="198.51.100.4", user_agent=IPHONE, at=now + timedelta(days=days - 3))

    days = sorted(ScanSalt.objects.values_list("day", flat=True))
    assert days == [timezone.localdate(now)]


def test_a_failure_to_log_still_redirects(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    item = ItemFactory()
    code = short_code_for(target=item).code

    def broken(**kwargs: object) -> None:
        raise RuntimeError("database is on fire")

    monkeypatch.setattr("qr.services.Scan.objects.create", broken)

    response = client.get(f"/q/{code}")

    assert response.status_code == 302 and response["Location"] == item.get_absolute_url()


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (IPHONE, "mobile"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36", "mobile"),
        (FIREFOX, "desktop"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36", "desktop"),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "bot"),
        ("", "unknown"),
    ],
)
def test_the_client_class_is_coarse_and_comes_from_the_user_agent(user_agent: str, expected: str) -> None:
    assert client_class_from_user_agent(user_agent) == expected


def test_a_sold_items_code_still_leads_somewhere_useful(client: Client) -> None:
    sold = ItemFactory(title="Buffet en chêne", price_cents=18000, status=ItemStatus.SOLD)
    other = ItemFactory(campaign=sold.campaign, title="Lampe verte")
    ItemFactory(title="Objet d'une autre campagne")
    code = short_code_for(target=sold).code

    page = client.get(f"/q/{code}", follow=True)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Cet objet est vendu" in html
    assert other.title in html and "autre campagne" not in html
    assert f'href="/campagnes/{sold.campaign.slug}/#donner"' in html
    assert "Donner 180,00\u00a0€ au projet" in html


def test_a_code_whose_item_left_the_public_pages_leads_to_its_campaign(client: Client) -> None:
    from donations.services import item_transition

    item = ItemFactory(status=ItemStatus.SOLD)
    code = short_code_for(target=item).code
    item_transition(item=item, to=ItemStatus.HANDED_OVER)

    assert client.get(f"/q/{code}")["Location"] == f"/campagnes/{item.campaign.slug}/"


def test_a_window_card_whose_item_left_the_public_pages_leads_to_its_campaign_and_names_its_window(
    client: Client,
) -> None:
    from donations.services import item_transition

    window = WindowFactory()
    (placement,) = place_items(window, 1)
    item_transition(item=placement.item, to=ItemStatus.WITHDRAWN)

    response = client.get(f"/q/{placement.short_code.code.lower()}")

    assert response["Location"] == f"/campagnes/{placement.item.campaign.slug}/"
    (scan,) = Scan.objects.all()
    assert scan.placement == placement and scan.window == window and scan.short_code == placement.short_code


def test_a_head_request_redirects_without_counting_a_scan(client: Client) -> None:
    item = ItemFactory()
    code = short_code_for(target=item).code

    assert client.head(f"/q/{code}")["Location"] == item.get_absolute_url()
    assert Scan.objects.count() == 0


def test_the_scan_costs_a_fixed_small_number_of_queries(client: Client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    window = WindowFactory()
    (placement,) = place_items(window, 1)
    client.get(f"/q/{placement.short_code.code}")  # today's salt is now cached

    with CaptureQueriesContext(connection) as queries:
        client.get(f"/q/{placement.short_code.code}")

    assert len(queries) == 2, [q["sql"][:60] for q in queries]  # the code with its target and window, the insert
