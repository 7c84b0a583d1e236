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


def test_the_checkouts_read_finds_the_windows_windows_showing_finds() -> None:
    """The checkout reads an item's windows in its items' read (qr.selectors.windows_showing_annotation):
    the same windows as windows_showing — shown now in two, not in one ended, one not started yet,
    one switched off, nor one the item was taken out of — and a window stream for each of the two."""
    from datetime import timedelta

    from django.utils import timezone

    from donations.models import Item
    from kernel.sql import rows_select
    from qr.selectors import windows_from_annotation, windows_showing, windows_showing_annotation
    from qr.services import placement_add, placement_remove

    now = timezone.now()
    first = WindowFactory()
    (placement,) = place_items(first, 1)
    item = placement.item
    shop = {"organisation": first.organisation}
    shown = [first, WindowFactory(**shop)]
    hidden = [
        WindowFactory(**shop),  # the item taken out of it
        WindowFactory(**shop),  # placed while on, then switched off, ended, not started yet
        WindowFactory(**shop),
        WindowFactory(**shop),
    ]
    for window in [shown[1], *hidden]:
        placement_add(window=window, item=item)
    placement_remove(placement=item.placements.get(window=hidden[0]))
    type(first).objects.filter(pk=hidden[1].pk).update(is_active=False)
    type(first).objects.filter(pk=hidden[2].pk).update(ends_at=now - timedelta(minutes=1))
    type(first).objects.filter(pk=hidden[3].pk).update(starts_at=now + timedelta(hours=1))
    alone = place_items(WindowFactory(**shop), 1)[0].item  # another item's window: not this one's
    annotation = {"windows": windows_showing_annotation(item_column="t0.id", now=now)}
    read = rows_select(Item, where="t0.id IN (%s, %s, %s)", params=[item.pk, alone.pk, 0], annotations=annotation)
    found = {row.pk: windows_from_annotation(row.windows) for row in read}  # type: ignore[attr-defined]
    assert found[item.pk] == windows_showing(item_id=item.pk) == sorted(window.pk for window in shown)
    assert found[alone.pk] == windows_showing(item_id=alone.pk) and len(found[alone.pk]) == 1
    assert windows_from_annotation(None) == []

    order_start(item_id=item.pk, email="passant@example.org")
    streams = set(EventStream.objects.filter(event__type="item.reserved").values_list("stream", flat=True))
    assert {window_stream(window.pk) for window in shown} <= streams
    assert not {window_stream(window.pk) for window in hidden} & streams
