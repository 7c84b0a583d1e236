"""Printable QR cards of a window: an HTML + CSS template rendered to PDF by WeasyPrint.

A4 sheets of 2 × 2 cards of 95 × 135 mm (cut along the crop marks), each with
the item's photo, title, price, the campaign it funds and its progress, the QR
code and the short URL in text. The QR code is printed 55 mm wide (quiet zone
included): about 1.5 mm per module for the short URLs we encode, which phone
cameras read from about 1.5 m through a shop window.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation

from donations.models import Item, ItemPhoto
from kernel.money import format_money, percent
from kernel.pdf import html_to_pdf
from qr import selectors
from qr.models import Placement, Window
from qr.rendering import render_qr
from qr.services import short_codes_ensure

logger = logging.getLogger(__name__)

QR_PRINTED_MM = 55
CARDS_PER_PAGE = 4
SHEET_VERSION = "1"  # bump when the template changes, so cached sheets are drawn again
SHEET_CACHE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Card:
    title: str
    price: str
    campaign: str
    organisation: str
    raised: str
    goal: str
    percent: int
    short_url: str  # without the scheme, as people type it
    url: str  # what the QR code encodes
    photo_name: str  # the stored photo, or "" without one
    photo: str = ""  # data URI, filled only when the sheet is drawn
    qr: str = ""  # data URI of the SVG, likewise


def _data_uri(content: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(content).decode()}"


def _first_photo(item: Item) -> ItemPhoto | None:
    photos = list(item.photos.all())  # prefetched
    return photos[0] if photos else None


def _photo(item: Item) -> str:
    photo = _first_photo(item)
    if photo is None:
        return ""
    try:
        with photo.image.open("rb") as handle:
            content = handle.read()
    except OSError:
        logger.warning("photo %s of item %s is missing from storage", photo.pk, item.pk)
        return ""
    kind = {b"RIFF": "image/webp", b"\x89PNG": "image/png"}.get(content[:4], "image/jpeg")
    return _data_uri(content, kind)


def _cards(placements: Sequence[Placement]) -> list[Card]:
    codes = short_codes_ensure(targets=list(placements))
    campaigns = selectors.campaigns_progress(campaign_ids={placement.item.campaign_id for placement in placements})
    language = translation.get_language() or "fr"
    cards = []
    for placement in placements:
        item = placement.item
        campaign = campaigns.get(item.campaign_id)
        raised = getattr(campaign, "raised_cents", 0) if campaign else 0
        goal = item.campaign.goal_cents
        url = selectors.short_url(codes[placement.pk])
        cards.append(
            Card(
                title=item.title,
                price=format_money(item.price_cents or 0, item.currency, language),
                campaign=item.campaign.title,
                organisation=campaign.organisation.name if campaign else "",
                raised=format_money(raised, item.campaign.currency, language),
                goal=format_money(goal, item.campaign.currency, language),
                percent=percent(raised, goal),
                short_url=url.split("://", 1)[-1],
                url=url,
                photo_name=photo.image.name if (photo := _first_photo(item)) else "",
            )
        )
    return cards


def _render(window: Window, placements: Sequence[Placement]) -> bytes:
    # French first: sheets are printed in the site's language, whoever asks.
    with translation.override(settings.LANGUAGE_CODE):
        cards = _cards(placements)
        # Drawing a sheet costs seconds of CPU and anyone may ask for a window's
        # sheet: the same cards (same texts, figures, photos and codes) are drawn once.
        fingerprint = json.dumps(
            [SHEET_VERSION, settings.SITE_URL, settings.LANGUAGE_CODE, window.name, [asdict(card) for card in cards]]
        )
        key = "qr:sheet:" + hashlib.sha256(fingerprint.encode()).hexdigest()
        cached = cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        cards = [
            replace(card, photo=_photo(placement.item), qr=_svg_uri(card.url))
            for card, placement in zip(cards, placements, strict=True)
        ]
        pages = [cards[start : start + CARDS_PER_PAGE] for start in range(0, len(cards), CARDS_PER_PAGE)]
        html = render_to_string(
            "qr/sheet.html", {"window": window, "pages": pages, "qr_mm": QR_PRINTED_MM, "empty": not cards}
        )
    pdf = html_to_pdf(html)
    cache.set(key, pdf, timeout=SHEET_CACHE_SECONDS)
    return pdf


def _svg_uri(url: str) -> str:
    return _data_uri(render_qr(url, fmt="svg").content, "image/svg+xml")


def window_sheet_pdf(*, window: Window) -> bytes:
    """Every current placement of ``window`` as cards, four to an A4 page."""
    return _render(window, window.current_placements)  # type: ignore[attr-defined]


def placement_card_pdf(*, window: Window, placement: Placement) -> bytes:
    """One placement's card alone (to replace a lost or damaged card)."""
    return _render(window, [placement])
