"""The photo pipeline, from an upload test corpus the tests make themselves,
on local media and on S3 (moto's server) alike."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.storage import default_storage
from PIL import Image, ImageFile
from rest_framework.test import APIClient

from donations.models import Item, ItemPhoto
from kernel import photos
from tests.factories import (
    SVG_WITH_SCRIPT,
    CampaignFactory,
    UserFactory,
    decompression_bomb,
    image_bytes,
    item_post_data,
    photo_with_gps,
    upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["local", "s3"])
def media(request: pytest.FixtureRequest) -> str:
    """Runs a test once on local media and once on S3."""
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return str(request.param)


def stored_files(folder: str = "") -> list[str]:
    """Every file in the default storage, whatever the backend."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    prefix = f"{folder}/" if folder else ""
    names = [prefix + name for name in files]
    for child in folders:
        names += stored_files(prefix + child)
    return names


def post_item(client: APIClient, **overrides: Any) -> Any:
    campaign = overrides.pop("campaign", None) or CampaignFactory()
    client.force_authenticate(UserFactory())
    return client.post("/api/items/", item_post_data(campaign, **overrides), format="multipart")


CORPUS = {
    "a non-image named like a photo": ("photo.jpg", b"%PDF-1.4 this is no photo\n" * 50, "image/jpeg"),
    "an svg with a script": ("photo.svg", SVG_WITH_SCRIPT, "image/svg+xml"),
    "an svg renamed to png": ("photo.png", SVG_WITH_SCRIPT, "image/png"),
    "a gif, which we do not accept": ("anim.gif", image_bytes((100, 100), "GIF"), "image/gif"),
}


@pytest.mark.parametrize("name", [*CORPUS, "a truncated jpeg", "a decompression bomb", "an oversized file"])
def test_a_bad_upload_is_refused_on_photos_and_leaves_nothing_behind(api: APIClient, media: str, name: str) -> None:
    if name == "a truncated jpeg":
        whole = image_bytes((800, 600), "JPEG")
        bad = upload("photo.jpg", whole[: len(whole) // 2])
    elif name == "a decompression bomb":
        bad = upload("bomb.png", decompression_bomb(), "image/png")
    elif name == "an oversized file":
        bad = upload("huge.jpg", b"\xff\xd8\xff" + b"\0" * photos.MAX_UPLOAD_BYTES)
    else:
        bad = upload(*CORPUS[name])
    good = upload("ok.jpg", image_bytes((640, 480), "JPEG"))

    response = post_item(api, photos=[good, bad])

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["photos"]
    assert body["fields"]["photos"][0].startswith("Photo 2 (")
    assert not Item.objects.exists()
    assert not ItemPhoto.objects.exists()
    assert stored_files() == []


def test_the_bomb_is_refused_before_any_pixel_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = decompression_bomb()
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(photos.PhotoRefused, match="trop de pixels"):
        photos.prepare_photo(io.BytesIO(bomb))
    assert decoded == []


def test_a_photo_is_stored_rotated_and_without_its_exif_or_gps(api: APIClient, media: str) -> None:
    response = post_item(api, photos=[upload("IMG_0001.jpg", photo_with_gps((300, 200), orientation=6))])

    assert response.status_code == 201, response.content
    photo = ItemPhoto.objects.get()
    # Orientation 6 means the camera was turned: the stored photo is upright, 200 × 300.
    assert (photo.width, photo.height) == (200, 300)
    names = stored_files()
    assert sorted(names) == sorted(r["name"] for r in photo.renditions)
    assert photo.image.name in names and photo.fallback.name in names
    for name in names:
        with default_storage.open(name) as file:
            data = file.read()
        image = Image.open(io.BytesIO(data))
        assert image.format in {"WEBP", "JPEG"}
        assert "exif" not in image.info
        assert len(image.getexif()) == 0
        assert b"Tremma Test Camera" not in data and b"GPS" not in data
        # The yellow marker was top-left in the sensor's frame; upright it is top-right.
        rgb = image.convert("RGB")
        red, green, blue = rgb.getpixel((rgb.width - 2, 2))  # type: ignore[misc]
        assert red > 200 and green > 200 and blue < 80


def test_photos_are_stored_in_several_webp_widths_and_a_jpeg_under_random_keys(api: APIClient, media: str) -> None:
    response = post_item(api, photos=[upload("a.png", image_bytes((1000, 750), "PNG"), "image/png")] * 1)

    assert response.status_code == 201
    photo = ItemPhoto.objects.get()
    formats = sorted((r["format"], r["width"]) for r in photo.renditions)
    assert formats == [("jpeg", 1000), ("webp", 400), ("webp", 800)]
    assert photo.image.name.endswith("/800.webp") and photo.fallback.name.endswith("/1000.jpeg")
    assert "a.png" not in photo.image.name
    api_photo = response.json()["photos"][0]
    assert api_photo["width"] == 1000 and api_photo["height"] == 750
    assert api_photo["url"].split("?")[0].endswith(".webp")
    assert api_photo["fallback_url"].split("?")[0].endswith(".jpeg")


def test_two_uploads_of_the_same_photo_get_different_keys(api: APIClient) -> None:
    same = image_bytes((640, 480), "JPEG")
    response = post_item(api, photos=[upload("x.jpg", same), upload("x.jpg", same)])
    assert response.status_code == 201
    first, second = ItemPhoto.objects.order_by("position")
    assert first.image.name != second.image.name
    assert [first.position, second.position] == [0, 1]


def test_webp_and_png_with_transparency_are_accepted(api: APIClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (200, 200), (0, 0, 0, 0)).save(buffer, format="PNG")
    response = post_item(
        api,
        photos=[
            upload("clear.png", buffer.getvalue(), "image/png"),
            upload("w.webp", image_bytes((300, 300), "WEBP"), "image/webp"),
        ],
    )
    assert response.status_code == 201, response.content
    assert ItemPhoto.objects.count() == 2


def test_a_failure_after_the_files_are_written_removes_them_and_the_item(
    api: APIClient, media: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_bulk_create(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(ItemPhoto.objects, "bulk_create", broken_bulk_create)
    api.raise_request_exception = False

    response = post_item(api)

    assert response.status_code == 500
    assert not Item.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (8, True), (9, False)])
def test_an_item_has_one_to_eight_photos(api: APIClient, count: int, ok: bool) -> None:
    files = [upload(f"{n}.jpg", image_bytes((100, 100), "JPEG")) for n in range(count)]
    response = post_item(api, photos=files)
    assert (response.status_code == 201) is ok, response.content
    if not ok:
        assert "photos" in response.json()["fields"]
