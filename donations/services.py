"""Writes on items. ``item_transition`` is the only code that changes an item's status."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from donations.models import TRANSITIONS, Item, ItemStatus, ItemTransition
from tremma.errors import Conflict


class TransitionRefused(Conflict):
    code = "transition_refused"


@transaction.atomic
def item_transition(
    *,
    item: Item,
    to: ItemStatus,
    actor: User | None = None,
    note: str = "",
    expected: ItemStatus | None = None,
    **fields: Any,
) -> Item:
    """Move ``item`` to ``to`` if the state map allows it, and log the move.

    The move is one conditional UPDATE on the row's current status, so two
    concurrent callers cannot both win: the loser gets ``TransitionRefused``.
    ``fields`` are written in the same UPDATE (e.g. ``rejection_reason``).
    """
    current = ItemStatus(expected or item.status)
    if to not in TRANSITIONS[current]:
        raise TransitionRefused(f"{current} → {to}")
    updated = Item.objects.filter(pk=item.pk, status=current).update(status=to, updated_at=timezone.now(), **fields)
    if updated != 1:
        raise TransitionRefused(f"{current} → {to}")
    ItemTransition.objects.create(item=item, from_status=current, to_status=to, actor=actor, note=note[:300])
    item.status = to
    for name, value in fields.items():
        setattr(item, name, value)
    return item
