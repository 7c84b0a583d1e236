from __future__ import annotations

import csv
import io

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from donations.models import ItemStatus
from donations.services import item_transition
from qr.models import Window
from tests.factories import MembershipFactory, WindowFactory, place_items

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


@pytest.fixture
def window(client: Client) -> Window:
    cache.clear()
    window = WindowFactory()
    scanned, sold, _quiet = place_items(window, 3, price_cents=4500)
    for address in ("198.51.100.1", "198.51.100.1", "198.51.100.2"):
        client.get(f"/q/{scanned.short_code.code}", REMOTE_ADDR=address, HTTP_USER_AGENT=PHONE)
    client.get(f"/q/{sold.short_code.code}", REMOTE_ADDR="198.51.100.3", HTTP_USER_AGENT=PHONE)
    client.get(f"/q/{window.short_code.code}", REMOTE_ADDR="198.51.100.4", HTTP_USER_AGENT=PHONE)
    item_transition(item=sold.item, to=ItemStatus.RESERVED)
    item_transition(item=sold.item, to=ItemStatus.SOLD)
    return window


def test_the_funnel_api_counts_scans_visitors_and_sales_per_item(api: APIClient, window: Window) -> None:
    api.force_authenticate(MembershipFactory(organisation=window.organisation).user)

    response = api.get(f"/api/windows/{window.pk}/funnel/")

    assert response.status_code == 200
    body = response.json()
    assert (body["scans"], body["sales"], body["sold_cents"], body["currency"]) == (5, 1, 4500, "EUR")
    rows = [
        (row["item"] is None, row["scans"], row["visitors"], row["sold"], row["sold_cents"]) for row in body["items"]
    ]
    assert rows == [(True, 1, 1, False, 0), (False, 3, 2, False, 0), (False, 1, 1, True, 4500), (False, 0, 0, False, 0)]
    assert sum(hour["scans"] for hour in body["hours"]) == 5
    assert sum(hour["sales"] for hour in body["hours"]) == 1


def test_the_funnel_is_for_the_windows_managers_only(api: APIClient, window: Window) -> None:
    assert api.get(f"/api/windows/{window.pk}/funnel/").status_code in {401, 403}
    api.force_authenticate(MembershipFactory().user)
    response = api.get(f"/api/windows/{window.pk}/funnel/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_bad_period_is_a_field_level_400(api: APIClient, window: Window) -> None:
    api.force_authenticate(MembershipFactory(organisation=window.organisation).user)
    response = api.get(f"/api/windows/{window.pk}/funnel/?days=400")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["days"]


def test_the_funnel_page_has_a_plot_and_a_csv_export(client: Client, window: Window) -> None:
    client.force_login(MembershipFactory(organisation=window.organisation).user)

    html = client.get(f"/gestion/vitrines/{window.pk}/entonnoir/").content.decode()
    assert "<svg" in html and "<rect" in html and "45,00\u00a0€" in html

    response = client.get(f"/gestion/vitrines/{window.pk}/entonnoir/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["item_id", "title", "price_cents", "scans", "visitors", "sold", "sold_cents"]
    assert sum(int(row[3]) for row in rows[1:5]) == 5
    assert client.get(f"/gestion/vitrines/{WindowFactory().pk}/entonnoir/").status_code == 404
