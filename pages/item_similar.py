"""What a sold or held item's page offers instead: the campaign's newest objects still on sale,
those of the item's category first, as cards.

A crowd at a shop window reads mostly pages of objects sold seconds before, each offering the
same few cards: they are read and rendered once per (campaign, category, language) and kept in
the shared cache under the catalogue's generation token (kernel.generations), which every
committed change of an item, its photos, its campaign or organisation changes. One more card than
shown is kept, so that the page of an object among them (a page read just before its object's
sale was committed) leaves itself out and still shows as many. Without the shared cache, or with
``ITEM_PAGE_CACHE_SECONDS`` 0, the cards are read and rendered at every page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from donations.models import Item
from donations.selectors import items_on_sale_like
from kernel.generations import CATALOGUE, generation_cached

# How many cards a page shows.
SIMILAR_SHOWN = 4
# The shape of what is kept: change it with the card's template or its data.
SIMILAR_CACHE_VERSION = 1


def similar_key(*, campaign_id: int, category: str, language: str) -> str:
    return f"item-similar:v{SIMILAR_CACHE_VERSION}:{campaign_id}:{category}:{language}"


def _cards(kept: Any) -> bool:
    """A kept entry is untrusted: a list of (item id, HTML) pairs, or nothing is served."""
    return isinstance(kept, list) and all(
        isinstance(card, tuple) and len(card) == 2 and type(card[0]) is int and isinstance(card[1], str)
        for card in kept
    )


def similar_cards(*, item: Item) -> list[SafeString]:
    """The cards a page of ``item`` (not on sale) shows: at most SIMILAR_SHOWN, never its own."""

    def read() -> list[tuple[int, str]]:
        others = items_on_sale_like(campaign_id=item.campaign_id, category=item.category, limit=SIMILAR_SHOWN + 1)
        return [(other.pk, render_to_string("pages/_similar_card.html", {"other": other})) for other in others]

    cards = generation_cached(
        CATALOGUE,
        similar_key(campaign_id=item.campaign_id, category=item.category, language=get_language() or ""),
        seconds=settings.ITEM_PAGE_CACHE_SECONDS,
        token_seconds=None,
        servable=_cards,
        read=read,
    )
    # The rendered cards are our own template's output (their text escaped when rendered).
    return [mark_safe(html) for pk, html in cards or [] if pk != item.pk][:SIMILAR_SHOWN]  # noqa: S308
