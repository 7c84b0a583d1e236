from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from donations.models import ItemStatus
from donations.services import item_transition
from qr.models import Placement, Window
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, WindowFactory, place_items

pytestmark = pytest.mark.django_db


@pytest.fixture
def window() -> Window:
    return WindowFactory()


@pytest.fixture
def manager(client: Client, window: Window) -> Client:
    client.force_login(MembershipFactory(organisation=window.organisation).user)
    return client


def current_items(window: Window) -> list[int]:
    return list(
        Placement.objects.filter(window=window, removed_at__isnull=True)
        .order_by("position", "id")
        .values_list("item_id", flat=True)
    )


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, window: Window) -> None:
    response = client.get(f"/gestion/vitrines/{window.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/comptes/connexion/")


def test_managers_see_their_organisations_windows_only(manager: Client, window: Window) -> None:
    other = WindowFactory(name="Vitrine d'ailleurs")

    html = manager.get("/gestion/vitrines/").content.decode()

    assert window.name in html and other.name not in html
    assert manager.get(f"/gestion/vitrines/{other.pk}/").status_code == 404
    assert manager.post(f"/gestion/vitrines/{other.pk}/", {"action": "remove_sold"}).status_code == 404


def test_a_manager_creates_a_window_for_their_organisation(manager: Client, window: Window) -> None:
    foreign = WindowFactory().organisation
    data = {"name": "Vitrine d'été", "place": "Boutique", "starts_at": "2026-06-01 09:00"}

    refused = manager.post("/gestion/vitrines/", {**data, "organisation": foreign.pk})
    response = manager.post("/gestion/vitrines/", {**data, "organisation": window.organisation.pk})

    assert refused.status_code == 400 and not Window.objects.filter(organisation=foreign, name=data["name"]).exists()
    created = Window.objects.get(name="Vitrine d'été")
    assert created.organisation == window.organisation
    assert response["Location"] == f"/gestion/vitrines/{created.pk}/"
    assert created.short_code.code


def test_a_manager_adds_a_listed_item_of_the_organisation(manager: Client, window: Window) -> None:
    campaign = CampaignFactory(organisation=window.organisation)
    item = ItemFactory(campaign=campaign, title="Buffet en chêne")
    in_review = ItemFactory(campaign=campaign, status=ItemStatus.IN_REVIEW, title="Objet en relecture")
    foreign = ItemFactory(title="Objet d'une autre association")

    page = manager.get(f"/gestion/vitrines/{window.pk}/").content.decode()
    assert item.title in page and in_review.title not in page and foreign.title not in page

    response = manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "add", "item": item.pk})
    assert response.status_code == 302
    assert current_items(window) == [item.pk]
    assert Placement.objects.get(item=item).short_code.code

    for refused in (foreign, in_review, item):
        assert manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "add", "item": refused.pk}).status_code == 400
    assert current_items(window) == [item.pk]


def test_a_manager_reorders_the_window(manager: Client, window: Window) -> None:
    first, second, third = place_items(window, 3)

    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "down", "placement": first.pk})
    assert current_items(window) == [second.item_id, first.item_id, third.item_id]
    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "up", "placement": third.pk})
    assert current_items(window) == [second.item_id, third.item_id, first.item_id]
    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "up", "placement": second.pk})
    assert current_items(window) == [second.item_id, third.item_id, first.item_id]


def test_a_manager_removes_one_item_or_every_sold_one(manager: Client, window: Window) -> None:
    kept, removed, sold = place_items(window, 3)
    item_transition(item=sold.item, to=ItemStatus.RESERVED)
    item_transition(item=sold.item, to=ItemStatus.SOLD)

    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "remove", "placement": removed.pk})
    assert current_items(window) == [kept.item_id, sold.item_id]
    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "remove_sold"})
    assert current_items(window) == [kept.item_id]

    # a removed item's printed card still leads to its page
    assert manager.get(f"/q/{removed.short_code.code}")["Location"] == removed.item.get_absolute_url()


def test_a_removed_item_can_be_placed_again(manager: Client, window: Window) -> None:
    (placement,) = place_items(window, 1)
    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "remove", "placement": placement.pk})
    response = manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "add", "item": placement.item_id})
    assert response.status_code == 302 and current_items(window) == [placement.item_id]


def test_the_admin_pages_of_windows_codes_and_scans_open(client: Client, window: Window) -> None:
    from accounts.models import User

    place_items(window, 2)
    client.get(f"/q/{window.short_code.code}")
    admin = User.objects.create_superuser("admin@example.org", "un-mot-de-passe-solide")
    client.force_login(admin)

    for path in (
        "/admin/qr/window/",
        f"/admin/qr/window/{window.pk}/change/",
        "/admin/qr/shortcode/",
        f"/admin/qr/shortcode/{window.short_code.pk}/change/",
        "/admin/qr/scan/",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/qr/shortcode/add/").status_code == 403


def test_the_new_window_form_has_date_inputs_a_browser_keeps_and_reads_back(manager: Client, window: Window) -> None:
    page = manager.get("/gestion/vitrines/").content.decode()
    starts = re.search(r'<input type="datetime-local" name="starts_at" value="([^"]*)"', page)
    assert starts and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", starts[1]), page
    assert '<input type="datetime-local" name="ends_at"' in page

    data = {"organisation": window.organisation.pk, "name": "Vitrine d'été", "place": "Boutique"}
    manager.post("/gestion/vitrines/", {**data, "starts_at": starts[1], "ends_at": "2099-06-30T18:30"})

    created = Window.objects.get(name="Vitrine d'été")
    local = timezone.localtime(created.starts_at)
    assert local.strftime("%Y-%m-%dT%H:%M") == starts[1]
    assert timezone.localtime(created.ends_at).strftime("%Y-%m-%dT%H:%M") == "2099-06-30T18:30"
