"""qr's answers to the signals of the rooms below it (donations.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from donations.models import Item
from donations.signals import item_listed
from qr.services import short_code_for


@receiver(item_listed, dispatch_uid="qr.item_listed")
def _item_listed(sender: Any, *, item: Item, **kwargs: Any) -> None:
    """A newly listed item gets its printed code now, so catalogue reads never write."""
    short_code_for(target=item)
