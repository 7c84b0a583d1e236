from __future__ import annotations

import io

import pytest
from django.test import Client
from pypdf import PdfReader

from donations.models import ItemStatus
from donations.services import item_transition
from tests.factories import WindowFactory, place_items
from tests.support.decoding import decode, rasterise_pdf

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_every_placement_appears_on_the_sheet_with_title_price_and_short_url(client: Client) -> None:
    window = WindowFactory()
    placements = place_items(window, 6, price_cents=18050)

    response = client.get(f"/windows/{window.pk}/sheet.pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages, text = pdf_text(response.content)
    assert pages == 2  # four A6-like cards to an A4 page
    squeezed = "".join(text.split())  # the short URL may wrap in its narrow column
    for placement in placements:
        assert placement.item.title in text
        assert f"testserver/q/{placement.short_code.code}" in squeezed
    assert text.count("180,50") == 6  # French first: 180,50 €
    assert placements[0].item.campaign.title in text
    assert "0,00€collectéssur1000,00€" in squeezed.replace("\u202f", "")


def test_the_pages_are_a4(client: Client) -> None:
    window = WindowFactory()
    place_items(window, 1)
    page = PdfReader(io.BytesIO(client.get(f"/windows/{window.pk}/sheet.pdf").content)).pages[0]
    width_mm, height_mm = (float(value) * 25.4 / 72 for value in (page.mediabox.width, page.mediabox.height))
    assert round(width_mm) == 210 and round(height_mm) == 297


def test_the_qr_codes_of_a_printed_sheet_decode_to_each_placements_short_url(client: Client) -> None:
    window = WindowFactory()
    placements = place_items(window, 4)

    (page,) = rasterise_pdf(client.get(f"/windows/{window.pk}/sheet.pdf").content, dpi=150)

    found = sorted(barcode.text for barcode in decode(page))
    assert found == sorted(f"http://testserver/q/{placement.short_code.code}" for placement in placements)


def test_the_qr_code_is_printed_at_least_5_cm_wide(client: Client) -> None:
    window = WindowFactory()
    place_items(window, 1)
    (page,) = rasterise_pdf(client.get(f"/windows/{window.pk}/sheet.pdf").content, dpi=100)

    (barcode,) = decode(page)
    position = barcode.position
    width_px = abs(position.top_right.x - position.top_left.x)
    # zxing reports the symbol without its quiet zone; 100 dpi is 3.94 px per mm.
    assert width_px / (100 / 25.4) >= 40


def test_a_single_card_pdf_for_one_placement(client: Client) -> None:
    window = WindowFactory()
    first, second = place_items(window, 2)

    response = client.get(f"/windows/{window.pk}/placements/{second.pk}/card.pdf")

    pages, text = pdf_text(response.content)
    assert pages == 1 and second.item.title in text and first.item.title not in text
    (barcode,) = decode(rasterise_pdf(response.content)[0])
    assert barcode.text == f"http://testserver/q/{second.short_code.code}"


def test_sold_items_are_still_printed_but_withdrawn_ones_are_not(client: Client) -> None:
    window = WindowFactory()
    sold, withdrawn = place_items(window, 2)
    item_transition(item=withdrawn.item, to=ItemStatus.WITHDRAWN)

    _pages, text = pdf_text(client.get(f"/windows/{window.pk}/sheet.pdf").content)

    assert sold.item.title in text and withdrawn.item.title not in text


def test_the_sheet_of_a_window_not_on_display_is_for_its_managers_only(client: Client) -> None:
    from tests.factories import MembershipFactory

    window = WindowFactory(is_active=False)
    assert client.get(f"/windows/{window.pk}/sheet.pdf").status_code == 404
    client.force_login(MembershipFactory(organisation=window.organisation).user)
    assert client.get(f"/windows/{window.pk}/sheet.pdf").status_code == 200


def test_a_sheet_is_drawn_once_until_one_of_its_cards_changes(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from qr import sheets

    drawn = []
    real = sheets.html_to_pdf

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        drawn.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sheets, "html_to_pdf", counting)
    window = WindowFactory()
    (placement,) = place_items(window, 1, price_cents=1000)

    first = client.get(f"/windows/{window.pk}/sheet.pdf").content
    again = client.get(f"/windows/{window.pk}/sheet.pdf").content
    assert len(drawn) == 1 and again == first

    type(placement.item).objects.filter(pk=placement.item_id).update(price_cents=1200)
    _pages, text = pdf_text(client.get(f"/windows/{window.pk}/sheet.pdf").content)
    assert len(drawn) == 2 and "12,00" in text


def test_an_item_without_photo_and_an_empty_window_still_print(client: Client) -> None:
    from qr.services import placement_add
    from tests.factories import CampaignFactory, ItemFactory

    window = WindowFactory()
    empty = WindowFactory()
    item = ItemFactory(campaign=CampaignFactory(organisation=window.organisation), title="Objet sans photo")
    placement = placement_add(window=window, item=item)

    pages, text = pdf_text(client.get(f"/windows/{window.pk}/sheet.pdf").content)
    assert pages == 1 and "Objet sans photo" in text
    (barcode,) = decode(rasterise_pdf(client.get(f"/windows/{window.pk}/sheet.pdf").content)[0])
    assert barcode.text == f"http://testserver/q/{placement.short_code.code}"

    pages, text = pdf_text(client.get(f"/windows/{empty.pk}/sheet.pdf").content)
    assert pages == 1 and "pas encore d'objet" in text
