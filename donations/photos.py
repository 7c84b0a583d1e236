"""The photo pipeline: every uploaded photo is checked by its content, decoded
once within fixed limits, re-encoded (which drops EXIF, GPS included, after
applying its orientation) and stored in a few widths under random keys.

Two steps, so that nothing is written before everything is known to be good:
``prepare_photo`` (pure, raises ``PhotoRefused`` with a message for the
user) runs during input validation; ``store_photos`` writes through the
``default`` storage (local media or S3 alike) and removes what it wrote if
anything fails.
"""

from __future__ import annotations

import io
import logging
import secrets
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
# 40 megapixels is more than any phone camera; a bigger canvas is a bomb, not a photo.
MAX_PIXELS = 40_000_000
MAX_SIDE = 12_000
MIN_SIDE = 50
MAX_PHOTOS = 8
# Widths stored in WebP (each only when the original is at least that wide);
# one JPEG for the rare client without WebP.
WEBP_WIDTHS = (400, 800, 1600)
FALLBACK_WIDTH = 1200
WEBP_QUALITY = 80
JPEG_QUALITY = 82

# Identification is restricted to these decoders: a file is judged by its
# bytes, never by its name or the Content-Type the client claims.
ACCEPTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP")

# Pillow's own guard, in case anything else opens an image: refuse (not warn)
# beyond our cap. Our explicit check below runs before any pixel is decoded.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class PhotoRefused(Exception):
    """A photo we will not store; ``message`` is for the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    format: str  # "webp" or "jpeg"
    data: bytes


@dataclass
class PreparedPhoto:
    """A checked photo, re-encoded in memory, not yet stored."""

    width: int
    height: int
    renditions: list[Rendition] = field(default_factory=list)

    @property
    def largest(self) -> Rendition:
        return max((r for r in self.renditions if r.format == "webp"), key=lambda r: r.width)

    @property
    def fallback(self) -> Rendition:
        return next(r for r in self.renditions if r.format == "jpeg")


@dataclass(frozen=True)
class StoredRendition:
    name: str
    width: int
    height: int
    format: str


@dataclass(frozen=True)
class StoredPhoto:
    width: int
    height: int
    image: str  # the largest WebP
    fallback: str  # the JPEG
    renditions: list[StoredRendition]


@contextmanager
def _bomb_guard() -> Iterator[None]:
    # Pillow warns between MAX_IMAGE_PIXELS and twice that; make it an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _size_of(upload: IO[bytes]) -> int:
    size = getattr(upload, "size", None)
    if isinstance(size, int):
        return size
    position = upload.tell()
    upload.seek(0, io.SEEK_END)
    end = upload.tell()
    upload.seek(position)
    return end


def prepare_photo(upload: IO[bytes]) -> PreparedPhoto:
    """Check one uploaded file and re-encode it; raises ``PhotoRefused``."""
    if _size_of(upload) > MAX_UPLOAD_BYTES:
        raise PhotoRefused(
            _("Ce fichier est trop lourd (%(max)d Mo au plus).") % {"max": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    upload.seek(0)
    try:
        with _bomb_guard():
            # ``open`` reads the header only: the size is known before any pixel is decoded.
            image = Image.open(upload, formats=ACCEPTED_FORMATS)
            width, height = image.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise PhotoRefused(_("Cette image a trop de pixels (40 mégapixels au plus)."))
            if min(width, height) < MIN_SIDE:
                raise PhotoRefused(_("Cette image est trop petite (50 pixels de côté au moins)."))
            # WeasyPrint (sheets, receipts) sets this process-wide flag to True when it is
            # imported; a truncated upload must still be refused here, not half-decoded.
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            image.load()
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoRefused(_("Cette image a trop de pixels (40 mégapixels au plus).")) from error
    except UnidentifiedImageError as error:
        raise PhotoRefused(_("Ce fichier n'est pas une photo JPEG, PNG ou WebP.")) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Truncated or corrupt data: Pillow raises one of these while decoding.
        raise PhotoRefused(_("Cette image est endommagée ou incomplète.")) from error
    return _render(image)


def _render(image: Image.Image) -> PreparedPhoto:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparency is flattened on white: a photo of an object needs no alpha.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    # A fresh canvas with no metadata at all: EXIF, GPS, XMP and comments stay behind.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    width, height = clean.size
    prepared = PreparedPhoto(width=width, height=height)
    widths = sorted({w for w in WEBP_WIDTHS if w <= width} or {width})
    for target in widths:
        prepared.renditions.append(_encode(clean, target, "webp"))
    prepared.renditions.append(_encode(clean, min(FALLBACK_WIDTH, width), "jpeg"))
    return prepared


def _encode(image: Image.Image, width: int, fmt: str) -> Rendition:
    if width < image.width:
        height = max(1, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if fmt == "webp":
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    else:
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return Rendition(width=image.width, height=image.height, format=fmt, data=buffer.getvalue())


def new_key(prefix: str) -> str:
    """A random folder per photo: names reveal nothing and cannot be guessed."""
    return f"{prefix}/{secrets.token_urlsafe(18)}"


def store_photos(photos: Sequence[PreparedPhoto], *, prefix: str, written: list[str]) -> list[StoredPhoto]:
    """Write every rendition of ``photos`` to the default storage.

    Each stored name is appended to ``written`` as soon as it exists, so the
    caller can remove them all (``delete_stored``) if anything later fails.
    """
    result = []
    for photo in photos:
        key = new_key(prefix)
        stored: list[StoredRendition] = []
        for rendition in photo.renditions:
            name = default_storage.save(f"{key}/{rendition.width}.{rendition.format}", ContentFile(rendition.data))
            written.append(name)
            stored.append(StoredRendition(name, rendition.width, rendition.height, rendition.format))
        webp = max((r for r in stored if r.format == "webp"), key=lambda r: r.width)
        jpeg = next(r for r in stored if r.format == "jpeg")
        result.append(StoredPhoto(photo.width, photo.height, webp.name, jpeg.name, stored))
    return result


def delete_stored(names: Sequence[str]) -> None:
    """Best-effort removal of files written by a write that did not complete."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # a failed clean-up must not hide the original error
            logger.exception("could not delete %s after a failed write", name)


def delete_renditions_of(name: str) -> None:
    """Remove a stored photo and its sibling renditions (they share one random folder)."""
    folder = name.rsplit("/", 1)[0]
    try:
        _folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    delete_stored([f"{folder}/{file}" for file in files])
