from __future__ import annotations

import pytest

from donations.models import TRANSITIONS, Item, ItemStatus, ItemTransition
from donations.services import item_transition
from kernel.states import TransitionRefused
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_status_has_a_row_in_the_state_map() -> None:
    assert set(TRANSITIONS) == set(ItemStatus)
    for targets in TRANSITIONS.values():
        assert targets <= set(ItemStatus)


def test_a_transition_moves_the_item_and_logs_who_did_it() -> None:
    manager = UserFactory()
    item = ItemFactory(status=ItemStatus.IN_REVIEW)

    item_transition(item=item, to=ItemStatus.LISTED, actor=manager, note="approved")

    item.refresh_from_db()
    assert item.status == ItemStatus.LISTED
    last = ItemTransition.objects.filter(item=item).last()
    assert last is not None
    assert (last.from_status, last.to_status, last.actor, last.note) == ("in_review", "listed", manager, "approved")


def test_a_move_outside_the_map_is_refused_and_changes_nothing() -> None:
    item = ItemFactory(status=ItemStatus.DRAFT)
    with pytest.raises(TransitionRefused):
        item_transition(item=item, to=ItemStatus.SOLD)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.DRAFT
    assert not ItemTransition.objects.filter(item=item).exists()


def test_a_stale_copy_cannot_win_the_same_move_twice() -> None:
    item = ItemFactory(status=ItemStatus.LISTED)
    stale = Item.objects.get(pk=item.pk)
    item_transition(item=item, to=ItemStatus.RESERVED)
    with pytest.raises(TransitionRefused):
        item_transition(item=stale, to=ItemStatus.RESERVED)
    assert ItemTransition.objects.filter(item=item, to_status="reserved").count() == 1
