from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from donations.models import ItemStatus
from donations.services import item_transition
from qr import selectors
from qr.models import Scan, Window
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
    assert "<svg" in html and "<polyline" in html and "45,00\u00a0€" in html

    response = client.get(f"/gestion/vitrines/{window.pk}/entonnoir/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = sheet(response)
    assert rows[0] == [
        "identifiant de l'objet",
        "objet",
        "prix (€)",
        "scans",
        "visiteurs (par jour)",
        "vendu",
        "collecté (€)",
    ]
    assert sum(int(row[3]) for row in rows[1:]) == 5
    assert client.get(f"/gestion/vitrines/{WindowFactory().pk}/entonnoir/").status_code == 404


def sheet(response: HttpResponse) -> list[list[str]]:
    """A French spreadsheet's CSV as a table: BOM, ``;``, one header row, then rows as wide as it."""
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows and all(len(row) == len(rows[0]) for row in rows[1:]), rows
    assert all(any(row) for row in rows), "no blank line between two tables"
    return rows


def test_each_funnel_csv_is_one_table_for_a_french_spreadsheet(client: Client, window: Window) -> None:
    client.force_login(MembershipFactory(organisation=window.organisation).user)
    url = f"/gestion/vitrines/{window.pk}/entonnoir/"

    items = sheet(client.get(url, {"format": "csv"}))
    assert len(items) == 1 + 4  # the window's own code and its three items
    assert items[1][1:] == ["QR code de la vitrine", "", "1", "1", "non", "0,00"]
    assert items[3][3:] == ["1", "1", "oui", "45,00"]

    response = client.get(url, {"format": "csv", "table": "temps", "days": "1"})
    assert 'filename="vitrine-entonnoir-heures.csv"' in response["Content-Disposition"]
    hours = sheet(response)
    assert hours[0] == ["heure", "scans", "ventes", "collecté (€)"]
    assert len(hours) - 1 in {24, 25}  # every hour of the last day, the empty ones included
    assert sum(int(row[1]) for row in hours[1:]) == 5 and sum(int(row[2]) for row in hours[1:]) == 1
    assert [row[3] for row in hours[1:] if row[2] == "1"] == ["45,00"]
    assert hours[-1][0] == timezone.localtime().strftime("%d/%m/%Y %H:00:00")  # Europe/Paris

    days = sheet(client.get(url, {"format": "csv", "table": "temps", "days": "30"}))
    assert days[0][0] == "jour" and len(days) - 1 in {30, 31}
    assert days[-1][0] == timezone.localdate().strftime("%d/%m/%Y")


def test_the_funnel_has_every_hour_of_its_period_the_empty_ones_as_zeros() -> None:
    window = WindowFactory()
    paris = timezone.get_default_timezone()
    since = datetime(2026, 3, 2, 9, 30, tzinfo=paris)
    for hour, minute in ((10, 5), (10, 40), (14, 20)):
        Scan.objects.create(short_code=window.short_code, window=window, at=since.replace(hour=hour, minute=minute))

    funnel = selectors.window_funnel(window=window, since=since, until=since.replace(hour=16, minute=0))

    counts = [(timezone.localtime(hour.hour).hour, hour.scans) for hour in funnel.hours]
    assert counts == [(9, 0), (10, 2), (11, 0), (12, 0), (13, 0), (14, 1), (15, 0)]
    assert [(day.scans, day.sales) for day in funnel.days] == [(3, 0)]


def test_the_funnel_chart_draws_every_hour_with_labelled_axes_and_its_numbers(client: Client, window: Window) -> None:
    client.force_login(MembershipFactory(organisation=window.organisation).user)

    html = client.get(f"/gestion/vitrines/{window.pk}/entonnoir/", {"days": "1"}).content.decode()

    line = re.search(r'<polyline points="([^"]+)"', html)
    assert line is not None and len(line.group(1).split()) in {24, 25}
    assert "Heure (heure de Paris)" in html and "Nombre de scans" in html
    assert not re.search(r' c?[xy]1?2?="-?\d+,', html)  # coordinates with a dot, never a French comma
    assert 'aria-labelledby="funnel-title funnel-desc"' in html
    table = html[html.index('<table class="funnel-times">') :]
    assert table[: table.index("</table>")].count("<tr>") in {1 + 24, 1 + 25}

    html = client.get(f"/gestion/vitrines/{window.pk}/entonnoir/", {"days": "30"}).content.decode()
    line = re.search(r'<polyline points="([^"]+)"', html)
    assert line is not None and len(line.group(1).split()) in {30, 31} and "Nombre de scans" in html
