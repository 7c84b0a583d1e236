"""QR images of short URLs, rendered once and kept in the cache.

Choosing the mask pattern is most of the cost of a code (`make bench`, qr), so an
image is rendered once per (URL, format, size) and reused by every process
that shares the cache; HTTP caches keep it too (it never changes: the code is
stable and the URL is part of the key and of the ETag).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import qrcode
import qrcode.constants
from django.core.cache import cache
from PIL import Image
from qrcode.image.svg import SvgPathImage

# Error correction M (15 % of the symbol may be dirty or hidden by a reflection)
# and the 4-module quiet zone the standard asks for.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QUIET_ZONE = 4
PNG_SIZES = (64, 2048)  # bounds of ?size=, in pixels
PNG_DEFAULT_SIZE = 512
CACHE_SECONDS = 30 * 24 * 3600
RENDER_VERSION = "1"  # bump when the drawing changes, so caches and ETags follow


@dataclass(frozen=True)
class QrImage:
    content: bytes
    content_type: str
    etag: str


def _matrix(data: str) -> qrcode.QRCode:  # type: ignore[type-arg]
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE, box_size=10)
    code.add_data(data)
    code.make(fit=True)
    return code


def _svg(data: str) -> bytes:
    image = _matrix(data).make_image(image_factory=SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def _png(data: str, size: int) -> bytes:
    """A PNG exactly ``size`` pixels wide: whole pixels per module, the rest added to the quiet zone."""
    code = _matrix(data)
    modules = code.modules_count + 2 * QUIET_ZONE
    code.box_size = max(1, size // modules)
    drawn = code.make_image().get_image().convert("1")
    canvas = Image.new("1", (size, size), 1)
    offset = (size - drawn.size[0]) // 2
    canvas.paste(drawn, (offset, offset))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_qr(data: str, *, fmt: str, size: int = PNG_DEFAULT_SIZE) -> QrImage:
    """The QR image encoding ``data`` as ``svg`` or ``png`` (``size`` pixels), from the cache when there."""
    if fmt not in {"svg", "png"}:
        raise ValueError(f"unknown QR format {fmt!r}")
    if fmt == "svg":
        size = 0
    elif not PNG_SIZES[0] <= size <= PNG_SIZES[1]:
        raise ValueError(f"QR size {size} out of bounds")
    digest = hashlib.sha256(f"{RENDER_VERSION}|{fmt}|{size}|{data}".encode()).hexdigest()[:32]
    key = f"qr:image:{digest}"
    content = cache.get(key)
    if content is None:
        content = _svg(data) if fmt == "svg" else _png(data, size)
        cache.set(key, content, timeout=CACHE_SECONDS)
    content_type = "image/svg+xml" if fmt == "svg" else "image/png"
    return QrImage(content=content, content_type=content_type, etag=f'"{digest}"')
