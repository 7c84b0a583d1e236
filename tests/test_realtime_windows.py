from __future__ import annotations

import pytest

from checkout.services import order_start
from realtime.models import EventStream
from realtime.streams import window_stream
from tests.factories import WindowFactory, place_items

pytestmark = pytest.mark.django_db


def test_an_item_reserved_in_a_window_reaches_that_window_screen_stream() -> None:
    window = WindowFactory()
    (placement,) = place_items(window, 1)

    order_start(item_id=placement.item_id, email="passant@example.org")

    streams = set(EventStream.objects.filter(event__type="item.reserved").values_list("stream", flat=True))
    assert window_stream(window.pk) in streams
    assert f"item.{placement.item_id}" in streams


def test_an_item_removed_from_a_window_no_longer_reaches_it() -> None:
    from qr.services import placement_remove

    window = WindowFactory()
    (placement,) = place_items(window, 1)
    placement_remove(placement=placement)

    order_start(item_id=placement.item_id, email="passant@example.org")

    streams = set(EventStream.objects.filter(event__type="item.reserved").values_list("stream", flat=True))
    assert window_stream(window.pk) not in streams
