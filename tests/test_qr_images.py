from __future__ import annotations

import pytest
from django.test import Client

from qr.services import short_code_for
from tests.factories import ItemFactory
from tests.support.decoding import decode, decode_png, svg_to_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def code() -> str:
    return short_code_for(target=ItemFactory()).code


def test_the_png_decodes_to_the_absolute_short_url_with_error_correction_m(client: Client, code: str) -> None:
    response = client.get(f"/q/{code}.png?size=300")

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    (barcode,) = decode_png(response.content)
    assert barcode.text == f"http://testserver/q/{code}"
    assert barcode.ec_level in {"M", "Q", "H"}


def test_the_png_is_exactly_the_size_asked_with_a_four_module_quiet_zone(client: Client, code: str) -> None:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(client.get(f"/q/{code}.png?size=400").content)).convert("L")
    assert image.size == (400, 400)
    # The symbol (at most 33 modules here, 41 with the quiet zone) leaves 4 white modules on every side.
    box = 400 // 41
    border = image.crop((0, 0, 400, 4 * box))
    assert border.getextrema() == (255, 255)
    assert image.crop((0, 0, 4 * box, 400)).getextrema() == (255, 255)


def test_the_svg_read_by_another_renderer_decodes_to_the_absolute_short_url(client: Client, code: str) -> None:
    response = client.get(f"/q/{code}.svg")

    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    (barcode,) = decode(svg_to_image(response.content))
    assert barcode.text == f"http://testserver/q/{code}"


def test_the_url_follows_site_url(client: Client, code: str, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://tremma.example"
    (barcode,) = decode_png(client.get(f"/q/{code}.png").content)
    assert barcode.text == f"https://tremma.example/q/{code}"


@pytest.mark.parametrize("size", ["0", "63", "2049", "abc", "-5", "12.5", ""])
def test_a_bad_size_is_a_400_that_names_the_size(client: Client, code: str, size: str) -> None:
    response = client.get(f"/q/{code}.png?size={size}")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == ["size"]
    assert "64" in body["fields"]["size"][0] and "2048" in body["fields"]["size"][0]


def test_images_are_immutable_with_an_etag_and_revalidate_to_304(client: Client, code: str) -> None:
    first = client.get(f"/q/{code}.png?size=200")
    assert "immutable" in first["Cache-Control"] and "max-age=31536000" in first["Cache-Control"]
    etag = first["ETag"]
    assert etag.startswith('"')

    again = client.get(f"/q/{code}.png?size=200", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(f"/q/{code}.png?size=201")["ETag"] != etag
    assert client.get(f"/q/{code}.svg")["ETag"] != etag


def test_an_image_is_rendered_once_then_reused(client: Client, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from qr import rendering

    calls = []
    real = rendering._png
    monkeypatch.setattr(rendering, "_png", lambda data, size: calls.append(size) or real(data, size))

    bodies = {client.get(f"/q/{code}.png?size=256").content for _ in range(3)}

    assert calls == [256] and len(bodies) == 1


def test_an_unknown_code_has_no_image(client: Client) -> None:
    assert client.get("/q/ZZZZZZZ.png").status_code == 404
    assert client.get("/q/ZZZZZZZ.svg").status_code == 404
