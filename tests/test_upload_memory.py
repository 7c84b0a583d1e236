"""The web process (the Procfile's ``web`` line) against big uploads.

Its memory stays bounded through a maximal upload: eight
40-megapixel PNGs posted to the real server (the Procfile's ``web`` line), its
resident memory read from /proc before and after. Before the fix the same
upload took a web process from about 143 to 647 MiB, and kept it.

A memory bound, not a timing: it holds on a busy machine as on an idle one.
And a body declared over its cap is answered at once, with the connection closed."""

from __future__ import annotations

import io
import socket
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image
from rest_framework.authtoken.models import Token

from donations.models import ItemPhoto
from kernel import photos
from tests.components import free_port
from tests.factories import CampaignFactory, UserFactory, image_bytes, item_post_data
from tests.support.servers import start_server, stop_server

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status"),
]

MIB = 1024 * 1024
# What the process may keep after the upload (Python's own caches, modules a first
# upload imports are loaded by a warm-up before the first reading).
KEPT_MARGIN = 48 * MIB
# What it may use while decoding: one 40-megapixel RGBA image (160 MB) and its reduction,
# never eight of them.
PEAK_MARGIN = 300 * MIB


def maximal_png() -> bytes:
    """A 40-megapixel RGBA PNG (the most pixels a photo may have) under the 12 MB file cap."""
    width = 7_740
    height = photos.MAX_PIXELS // width
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGBA", (gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), gradient, gradient))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    assert width * height <= photos.MAX_PIXELS and buffer.tell() <= photos.MAX_UPLOAD_BYTES
    return buffer.getvalue()


def memory_of(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak), in bytes, of process ``pid``."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _sep, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0]) * 1024
    return figures


def test_eight_maximal_pngs_leave_the_web_process_memory_bounded() -> None:
    campaign = CampaignFactory()
    token = Token.objects.create(user=UserFactory()).key
    png = maximal_png()
    # The Procfile's web line with one worker: uvicorn serves in the process it starts as.
    port = free_port()
    process = start_server(port, redis=False)
    server = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=server, headers={"Authorization": f"Token {token}"}, timeout=300) as api:

            def post(files: list[tuple[str, bytes]]) -> httpx.Response:
                data = item_post_data(campaign)
                data.pop("photos")
                return api.post(
                    "/api/items/", data=data, files=[("photos", (name, body, "image/png")) for name, body in files]
                )

            # A warm-up: the modules a first upload imports are not what this measures.
            assert post([("small.png", image_bytes((800, 600), "PNG"))]).status_code == 201
            before = memory_of(process.pid)
            response = post([(f"big{n}.png", png) for n in range(photos.MAX_PHOTOS)])
            after = memory_of(process.pid)
    finally:
        stop_server(process)

    assert response.status_code == 201, response.text
    assert ItemPhoto.objects.count() == 1 + photos.MAX_PHOTOS
    figures = ", ".join(
        f"{label} {value / MIB:.0f} MiB"
        for label, value in (("before", before["VmRSS"]), ("after", after["VmRSS"]), ("peak", after["VmHWM"]))
    )
    assert after["VmRSS"] <= before["VmRSS"] + KEPT_MARGIN, figures
    assert after["VmHWM"] <= before["VmRSS"] + PEAK_MARGIN, figures


def test_the_web_process_answers_413_to_a_huge_declared_body_without_waiting_for_it() -> None:
    port = free_port()
    process = start_server(port, redis=False)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                b"POST /api/items/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: multipart/form-data; boundary=xyz\r\n"
                + f"Content-Length: {200 * MIB}\r\n\r\n".encode()
                + b"--xyz\r\n"  # and nothing more: a 413 must not wait for the rest
            )
            answer = b""
            while chunk := client.recv(65536):  # the server closes the connection after its answer
                answer += chunk
    finally:
        stop_server(process)
    head, _sep, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"connection: close" in head.lower()
    assert b'"code": "request_too_large"' in body  # within the chunked encoding of the answer
