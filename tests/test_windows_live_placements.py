"""A screen runs for days in a shop window: an object a manager puts in or takes out
reaches it live (window.placement_added / window.placement_removed on the window's
stream), written in the same transaction as the change, with public data only."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client

from donations.models import ItemStatus
from donations.services import item_transition
from qr.models import Window
from qr.selectors import short_url
from qr.services import placement_add, placement_remove
from realtime import events as e
from realtime.events import EventFieldsInvalid, EventStreamsInvalid
from realtime.models import EventStream, RealtimeEvent
from realtime.services import event_emit
from realtime.streams import window_stream
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, WindowFactory, add_photo, place_items

pytestmark = pytest.mark.django_db

PLACEMENT_EVENTS = (e.WINDOW_PLACEMENT_ADDED, e.WINDOW_PLACEMENT_REMOVED)


@pytest.fixture
def window() -> Window:
    return WindowFactory()


@pytest.fixture
def manager(client: Client, window: Window) -> Client:
    client.force_login(MembershipFactory(organisation=window.organisation).user)
    return client


def placement_events() -> list[tuple[str, dict[str, Any], set[str]]]:
    return [
        (event.type, event.public, set(EventStream.objects.filter(event=event).values_list("stream", flat=True)))
        for event in RealtimeEvent.objects.filter(type__in=PLACEMENT_EVENTS).order_by("pk")
    ]


# --- The declarations -------------------------------------------------------------------------


def added(**changes: Any) -> dict[str, Any]:
    public = {
        "item": 4,
        "status": "listed",
        "title": "Buffet",
        "price_cents": 4500,
        "photo": "",
        "short_url": "https://tremma.example/q/ABCDEFG",
        "qr": "/q/ABCDEFG.svg",
        "position": 0,
    }
    return {**public, **changes}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("missing", list(added()))
def test_event_emit_refuses_a_placement_added_event_with_a_missing_field(missing: str) -> None:
    public = added()
    del public[missing]
    with mock.patch("realtime.services._send_all") as send, pytest.raises(EventFieldsInvalid, match=missing):
        event_emit(type=e.WINDOW_PLACEMENT_ADDED, public=public, windows=[1])
    assert not RealtimeEvent.objects.exists() and send.call_count == 0


@pytest.mark.django_db(transaction=True)
def test_event_emit_refuses_placement_events_with_missing_or_extra_fields_or_other_streams() -> None:
    with mock.patch("realtime.services._send_all") as send:
        with pytest.raises(EventFieldsInvalid, match="'item' missing"):
            event_emit(type=e.WINDOW_PLACEMENT_REMOVED, public={}, windows=[1])
        with pytest.raises(EventFieldsInvalid, match="'email' not declared"):  # no personal data
            event_emit(type=e.WINDOW_PLACEMENT_ADDED, public=added(email="a@example.org"), windows=[1])
        with pytest.raises(EventFieldsInvalid, match="'price_cents' is str"):
            event_emit(type=e.WINDOW_PLACEMENT_ADDED, public=added(price_cents="45,00"), windows=[1])
        with pytest.raises(EventStreamsInvalid):  # a window's screen, not an item's page
            event_emit(type=e.WINDOW_PLACEMENT_REMOVED, public={"item": 4}, items=[4])
    assert not RealtimeEvent.objects.exists() and send.call_count == 0


def test_the_placement_events_carry_public_fields_only_to_window_streams() -> None:
    for name in PLACEMENT_EVENTS:
        declaration = e.event_declaration(name)
        assert declaration.private == {} and declaration.streams == {"window"}
    assert "item" in e.event_declaration(e.WINDOW_PLACEMENT_REMOVED).public


# --- Emitted by the services, in the change's transaction -------------------------------------


def test_adding_an_object_sends_its_card_to_the_window_stream(window: Window) -> None:
    campaign = CampaignFactory(organisation=window.organisation)
    (first,) = place_items(window, 1, campaign=campaign)
    item = ItemFactory(campaign=campaign, title="Buffet en chêne", price_cents=4500)
    photo = add_photo(item)
    RealtimeEvent.objects.all().delete()

    placement = placement_add(window=window, item=item)

    ((kind, public, streams),) = placement_events()
    assert kind == e.WINDOW_PLACEMENT_ADDED
    assert streams == {window_stream(window.pk)}
    code = placement.short_code.code
    assert public == {
        "item": item.pk,
        "status": "listed",
        "title": "Buffet en chêne",
        "price_cents": 4500,
        "photo": photo.image.url,
        "short_url": short_url(code),
        "qr": f"/q/{code}.svg",
        "position": first.position + 1,
    }
    assert public["short_url"].endswith(f"/q/{code}")  # what the card's QR code encodes


def test_an_object_without_photo_is_sent_without_one(window: Window) -> None:
    item = ItemFactory(campaign=CampaignFactory(organisation=window.organisation))
    placement_add(window=window, item=item)
    ((_kind, public, _streams),) = placement_events()
    assert public["photo"] == "" and public["position"] == 0


def test_removing_an_object_tells_the_window_stream_once(window: Window) -> None:
    _kept, removed = place_items(window, 2)
    RealtimeEvent.objects.all().delete()

    placement_remove(placement=removed)
    placement_remove(placement=removed)  # already out: nothing happened, nothing announced

    assert placement_events() == [(e.WINDOW_PLACEMENT_REMOVED, {"item": removed.item_id}, {window_stream(window.pk)})]


def test_a_refused_addition_announces_nothing(manager: Client, window: Window) -> None:
    campaign = CampaignFactory(organisation=window.organisation)
    (placed,) = place_items(window, 1, campaign=campaign)
    in_review = ItemFactory(campaign=campaign, status=ItemStatus.IN_REVIEW)
    foreign = ItemFactory()
    RealtimeEvent.objects.all().delete()

    for refused in (placed.item, in_review, foreign):  # already in it, not on sale, another organisation's
        response = manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "add", "item": refused.pk})
        assert response.status_code == 400
    assert placement_events() == []


def test_an_addition_rolled_back_announces_nothing(window: Window) -> None:
    item = ItemFactory(campaign=CampaignFactory(organisation=window.organisation))

    def add_then_fail() -> None:
        with transaction.atomic():
            placement_add(window=window, item=item)
            raise RuntimeError("the manager's request failed after the addition")

    with mock.patch("realtime.services._publish") as publish, pytest.raises(RuntimeError):
        add_then_fail()
    assert placement_events() == [] and publish.call_count == 0


def test_the_managers_page_announces_each_addition_and_removal(manager: Client, window: Window) -> None:
    kept, sold = place_items(window, 2)
    item_transition(item=sold.item, to=ItemStatus.RESERVED)
    item_transition(item=sold.item, to=ItemStatus.SOLD)
    item = ItemFactory(campaign=kept.item.campaign)
    RealtimeEvent.objects.all().delete()

    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "add", "item": item.pk})
    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "remove_sold"})
    added_placement = window.placements.get(item=item, removed_at__isnull=True)
    manager.post(f"/gestion/vitrines/{window.pk}/", {"action": "remove", "placement": added_placement.pk})

    assert [(kind, public["item"]) for kind, public, _streams in placement_events()] == [
        (e.WINDOW_PLACEMENT_ADDED, item.pk),
        (e.WINDOW_PLACEMENT_REMOVED, sold.item_id),
        (e.WINDOW_PLACEMENT_REMOVED, item.pk),
    ]


def test_the_screen_holds_the_card_template_its_script_fills(client: Client, window: Window) -> None:
    place_items(window, 1)
    html = client.get(f"/windows/{window.pk}/screen/").content.decode()
    assert '<template id="placement-card">' in html and '<template id="placements-empty">' in html
    assert 'data-position="0"' in html
