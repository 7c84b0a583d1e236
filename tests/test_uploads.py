"""Uploads that cannot hurt the server: body caps answered before a body is
read (with or without Content-Length), Django's caps on files and fields in our
error shape, a limit per account, the signature of tax receipts through the
image pipeline, and decoding one image at a time within bounded memory."""

from __future__ import annotations

import asyncio
import io
import threading
import time
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, ImageFile
from rest_framework.test import APIClient

from campaigns.models import Membership, Organisation
from donations.models import Item
from kernel import photos
from kernel.body import ChunkedBodyLimit
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
from tests.receipts_support import manager, ready_organisation
from tests.test_settings import _load_settings

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")

    def readline(self, size: int | None = -1) -> bytes:
        raise AssertionError("the body was read")


def decoded_nothing(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records every image the pipeline starts to decode."""
    decoded: list[object] = []
    real = photos._decode
    monkeypatch.setattr(photos, "_decode", lambda upload, limits: decoded.append(upload) or real(upload, limits))
    return decoded


# --- Body caps ------------------------------------------------------------


def test_an_api_body_over_the_multipart_cap_gets_413_before_any_of_it_is_read(api: APIClient, settings: Any) -> None:
    api.force_authenticate(UserFactory())
    response = api.generic(
        "POST",
        "/api/items/",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(settings.UPLOAD_MAX_BODY_BYTES + 1),
        **{"wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "request_too_large"
    assert "97" in body["detail"]  # the cap, in megabytes, in the user's language
    assert not Item.objects.exists()


def test_a_page_post_over_the_cap_gets_a_413_page_in_the_readers_language(client: Client, settings: Any) -> None:
    client.force_login(UserFactory())
    response = client.generic(
        "POST",
        "/mes-objets/nouveau/",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(settings.UPLOAD_MAX_BODY_BYTES + 1),
        HTTP_ACCEPT_LANGUAGE="en",
        **{"wsgi.input": UnreadableBody()},
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert '<html lang="en">' in page
    assert "too large" in page


def test_a_json_body_over_data_upload_max_memory_size_gets_413(api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/auth/token/", {"email": "a@example.org", "password": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    # A multipart body of the same size, its bytes in a file, is under its own, larger cap.
    upload = SimpleUploadedFile("photo.jpg", b"x" * 2000, content_type="image/jpeg")
    response = api.post("/api/auth/token/", {"email": "a@example.org", "photo": upload}, format="multipart")
    assert response.status_code != 413


class Recorder:
    """An ASGI app that reads the whole body it is given, and answers 200."""

    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.body = b""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.headers = dict(scope["headers"])
        more = True
        while more:
            message = await receive()
            self.body += message.get("body", b"")
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run_asgi(app: Any, path: str, chunks: Any, content_type: bytes) -> tuple[dict[str, Any], bytes, int]:
    """POSTs ``chunks`` to ``app`` without Content-Length; returns the response start, its body and
    how many times the app asked for more of the request."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"transfer-encoding", b"chunked"), (b"content-type", content_type)],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    calls = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0], body, calls


def test_a_chunked_body_within_its_cap_reaches_the_app_with_its_length() -> None:
    recorder = Recorder()
    pieces = [b"a" * 50_000, b"b" * 70_000, b"c" * 10]
    start, _body, _calls = run_asgi(ChunkedBodyLimit(recorder), "/api/items/", iter(pieces), b"multipart/form-data")
    assert start["status"] == 200
    assert recorder.body == b"".join(pieces)
    assert recorder.headers[b"content-length"] == str(120_010).encode()
    assert b"transfer-encoding" not in recorder.headers


@pytest.mark.django_db(transaction=True)
def test_a_huge_body_without_content_length_is_cut_at_the_cap_and_refused_with_413(settings: Any) -> None:
    from tremma.asgi import application

    settings.UPLOAD_MAX_BODY_BYTES = 1 * MIB
    endless = iter(lambda: b"x" * 65536, None)  # a body that never ends
    start, body, calls = run_asgi(application, "/api/items/", endless, b"multipart/form-data; boundary=xyz")

    assert start["status"] == 413
    assert (b"connection", b"close") in start["headers"]
    assert b'"code":"request_too_large"' in body.replace(b" ", b"")
    assert calls <= MIB // 65536 + 2  # it stopped reading at the cap


# --- Files and fields -------------------------------------------------------


def test_nine_photos_get_a_field_error_and_none_is_decoded(api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = decoded_nothing(monkeypatch)
    api.force_authenticate(UserFactory())
    files = [upload(f"{n}.jpg", image_bytes((100, 100), "JPEG")) for n in range(photos.MAX_PHOTOS + 1)]
    response = api.post("/api/items/", item_post_data(CampaignFactory(), photos=files), format="multipart")
    assert response.status_code == 400
    assert response.json()["fields"]["photos"] == ["8 photos au plus."]
    assert decoded == []


def test_more_files_than_django_accepts_get_our_error_shape(api: APIClient, settings: Any) -> None:
    api.force_authenticate(UserFactory())
    count = settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1
    files = [upload(f"{n}.jpg", image_bytes((100, 100), "JPEG")) for n in range(count)]
    response = api.post("/api/items/", item_post_data(CampaignFactory(), photos=files), format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["fields"]["non_field_errors"] == ["Trop de fichiers envoyés (10 au plus)."]
    assert not Item.objects.exists()


# --- Per account --------------------------------------------------------------


def test_uploads_past_the_hourly_limit_get_429_before_any_decoding(
    api: APIClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.UPLOAD_IMAGES_PER_HOUR = 3
    campaign = CampaignFactory()
    donor = UserFactory()
    api.force_authenticate(donor)

    def two_photos() -> list[Any]:
        return [upload(f"{n}.jpg", image_bytes((100, 100), "JPEG")) for n in range(2)]

    first = api.post("/api/items/", item_post_data(campaign, photos=two_photos()), format="multipart")
    assert first.status_code == 201
    decoded = decoded_nothing(monkeypatch)
    second = api.post("/api/items/", item_post_data(campaign, photos=two_photos()), format="multipart")
    assert second.status_code == 429
    assert second.json()["code"] == "too_many_uploads"
    assert decoded == []
    assert Item.objects.count() == 1

    api.force_authenticate(UserFactory())  # another account has its own count
    assert api.post("/api/items/", item_post_data(campaign, photos=two_photos()), format="multipart").status_code == 201


def test_the_item_page_says_so_past_the_hourly_limit(client: Client, settings: Any) -> None:
    settings.UPLOAD_IMAGES_PER_HOUR = 1
    campaign = CampaignFactory()
    client.force_login(UserFactory())
    data = item_post_data(campaign, photos=[upload("a.jpg", image_bytes((100, 100), "JPEG"))])
    assert client.post("/mes-objets/nouveau/", data).status_code == 302
    data = item_post_data(campaign, photos=[upload("b.jpg", image_bytes((100, 100), "JPEG"))])
    response = client.post("/mes-objets/nouveau/", data)
    assert response.status_code == 429
    assert "Trop d&#x27;images envoyées en une heure" in response.content.decode()
    assert Item.objects.count() == 1


def test_covers_and_signatures_count_against_the_same_hourly_limit(
    api: APIClient, client: Client, settings: Any
) -> None:
    settings.UPLOAD_IMAGES_PER_HOUR = 2
    organisation = ready_organisation()
    admin = manager(organisation, Membership.Role.ADMIN)
    campaign = CampaignFactory(organisation=organisation)
    api.force_authenticate(admin)
    client.force_login(admin)

    def cover() -> Any:
        return upload("cover.png", image_bytes((600, 400)), "image/png")

    api_url = f"/api/manage/campaigns/{campaign.slug}/"
    assert api.patch(api_url, {"cover": cover()}, format="multipart").status_code == 200
    assert api.patch(api_url, {"title": "Sans image"}, format="multipart").status_code == 200  # no image, no count
    page = client.post(f"/gestion/campagnes/{campaign.slug}/", {"title": "Atelier", "cover": cover()})
    assert page.status_code != 429
    refused = api.patch(api_url, {"cover": cover()}, format="multipart")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_uploads"
    url = f"/gestion/organisations/{organisation.slug}/mentions-legales/"
    signature = upload("signature.png", image_bytes((300, 100)), "image/png")
    assert client.post(url, legal_details(organisation, signature)).status_code == 429
    organisation.refresh_from_db()
    assert not organisation.signature


# --- The signature of tax receipts ------------------------------------------------


def legal_details(organisation: Organisation, signature: Any) -> dict[str, Any]:
    return {
        "purpose": "Réemploi et insertion",
        "tax_regime": Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY,
        "qualifying_status": "Association reconnue d'utilité publique",
        "signatory_name": "Jeanne Petit",
        "signatory_title": "Trésorière",
        "signature": signature,
    }


def post_signature(client: Client, signature: Any) -> tuple[Any, Organisation]:
    organisation = ready_organisation()
    client.force_login(manager(organisation, Membership.Role.ADMIN))
    url = f"/gestion/organisations/{organisation.slug}/mentions-legales/"
    response = client.post(url, legal_details(organisation, signature))
    organisation.refresh_from_db()
    return response, organisation


def test_a_signature_is_stored_as_a_png_without_its_exif_or_gps(client: Client) -> None:
    response, organisation = post_signature(client, upload("signature.jpg", photo_with_gps((300, 200))))

    assert response.status_code == 302
    name = organisation.signature.name
    assert name.startswith("signatures/") and name.endswith(".png") and "signature.jpg" not in name
    with default_storage.open(name) as file:
        data = file.read()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert "exif" not in image.info and len(image.getexif()) == 0
    assert b"Tremma Test Camera" not in data and b"GPS" not in data
    assert image.size == (200, 300)  # turned upright, as its orientation said


def test_a_signature_keeps_its_transparency_and_fits_the_receipts_box(client: Client) -> None:
    drawing = Image.new("RGBA", (3000, 1000), (0, 0, 0, 0))
    drawing.paste(Image.new("RGBA", (1000, 100), (0, 0, 80, 255)), (1000, 450))
    buffer = io.BytesIO()
    drawing.save(buffer, format="PNG")

    response, organisation = post_signature(client, upload("signature.png", buffer.getvalue(), "image/png"))

    assert response.status_code == 302
    with default_storage.open(organisation.signature.name) as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
    assert image.mode == "RGBA"
    assert image.size == (1200, 400)
    assert image.getpixel((0, 0))[3] == 0 and image.getpixel((600, 200))[3] == 255  # type: ignore[index]


@pytest.mark.parametrize(
    "signature",
    [
        ("signature.svg", SVG_WITH_SCRIPT, "image/svg+xml"),
        ("signature.png", SVG_WITH_SCRIPT, "image/png"),
        ("signature.png", image_bytes((300, 100), "GIF"), "image/png"),  # Django's ImageField takes a GIF
        ("signature.png", None, "image/png"),  # a decompression bomb
    ],
    ids=["svg", "svg-named-png", "gif-named-png", "bomb"],
)
def test_a_signature_that_is_no_photo_is_refused_and_nothing_is_stored(
    client: Client, signature: tuple[str, bytes | None, str]
) -> None:
    name, data, content_type = signature
    response, organisation = post_signature(client, upload(name, data or decompression_bomb(), content_type))

    assert response.status_code == 400
    assert response.context["form"].errors["signature"]
    assert not organisation.signature
    assert not default_storage.exists("signatures") or default_storage.listdir("signatures")[1] == []


# --- Decoding ------------------------------------------------------------------


def test_one_image_is_decoded_at_a_time_whatever_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    real_load = ImageFile.ImageFile.load
    inside, most = 0, 0
    guard = threading.Lock()

    def slow_load(self: ImageFile.ImageFile) -> Any:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        try:
            return real_load(self)
        finally:
            with guard:
                inside -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", slow_load)
    data = image_bytes((400, 300), "PNG")
    threads = [threading.Thread(target=photos.prepare_photo, args=(io.BytesIO(data),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


@pytest.mark.parametrize(("fmt", "mode"), [("JPEG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "1")])
def test_a_large_image_is_decoded_or_reduced_to_what_its_renditions_need(fmt: str, mode: str) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (7000, 5000)).save(buffer, format=fmt)
    with photos._decoding():
        image, size = photos._decode(io.BytesIO(buffer.getvalue()), photos.PHOTO_LIMITS)
    assert size == (7000, 5000)
    assert photos.LARGEST_WIDTH <= image.width <= 7000 // 2

    prepared = photos.prepare_photo(io.BytesIO(buffer.getvalue()))
    assert (prepared.width, prepared.height) == (7000, 5000)
    assert max(r.width for r in prepared.renditions) == photos.LARGEST_WIDTH


def test_memory_is_handed_back_only_where_glibc_has_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    photos._malloc_trim.cache_clear()
    monkeypatch.setattr(photos.ctypes, "CDLL", lambda name: object())  # a C library without malloc_trim
    try:
        assert photos._malloc_trim() is None
        photos.release_memory()  # nothing to call, nothing raised
    finally:
        photos._malloc_trim.cache_clear()


# --- Settings --------------------------------------------------------------------


def test_the_body_caps_are_read_from_the_environment_within_bounds(settings: Any) -> None:
    assert settings.UPLOAD_MAX_BODY_BYTES >= photos.MAX_PHOTOS * photos.MAX_UPLOAD_BYTES
    refused = _load_settings(SECRET_KEY="x" * 60, UPLOAD_MAX_BODY_BYTES="1000")
    assert refused.returncode != 0
    assert "UPLOAD_MAX_BODY_BYTES must be at least" in refused.stderr
    refused = _load_settings(SECRET_KEY="x" * 60, UPLOAD_IMAGES_PER_HOUR="many")
    assert "UPLOAD_IMAGES_PER_HOUR must be an integer" in refused.stderr
