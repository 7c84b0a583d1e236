"""The photo pipeline: every uploaded image (item photos, campaign covers,
signatures) is checked by its content, decoded once within fixed limits,
re-encoded (which drops EXIF, GPS included, after applying its orientation)
and stored under random keys: photos in a few widths, a signature as one PNG.

Memory stays bounded whatever arrives: one image is decoded at a time per
process (uploads run in ``WEB_THREADS`` threads, and a 40-megapixel image
takes up to 160 MB once decoded), a JPEG is decoded at the reduced scale the
largest rendition needs (``draft``), anything else is reduced right after
decoding and its full-size pixels freed at once, and the freed memory is
handed back to the operating system after each image (glibc keeps it
otherwise: eight 40-megapixel PNGs left a web process at about 580 MB).

Two steps, so that nothing is written before everything is known to be good:
``prepare_photo`` (pure, raises ``PhotoRefused`` with a message for the
user) runs during input validation; ``store_photos`` writes through the
``default`` storage (local media or S3 alike) and removes what it wrote if
anything fails.
"""

from __future__ import annotations

import ctypes
import functools
import io
import logging
import secrets
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageFile, UnidentifiedImageError

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
# The widest rendition made from a photo: decoding needs no more than that.
LARGEST_WIDTH = max(*WEBP_WIDTHS, FALLBACK_WIDTH)

# A signature printed on tax receipts (about 22 mm high): a scan or a phone photo of
# it is accepted, and kept as one PNG (transparency kept) within this box.
SIGNATURE_MAX_UPLOAD_BYTES = 5 * 1024 * 1024
SIGNATURE_MAX_PIXELS = 25_000_000
SIGNATURE_MIN_SIDE = 20
SIGNATURE_BOX = (1200, 600)

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


# One decode at a time per process, whatever the number of threads serving uploads:
# the memory an upload may take is that of one image, not WEB_THREADS of them.
_one_decode = threading.Lock()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None elsewhere (musl, macOS): nothing to call there."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it, and only glibc has malloc_trim)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]  # type: ignore[attr-defined]
    trim.restype = ctypes.c_int  # type: ignore[attr-defined]
    return trim


def release_memory() -> None:
    """Hand freed memory back to the operating system.

    glibc keeps what a big image freed in its heaps (Pillow allocates images in
    large blocks, which glibc stops mapping separately once one has been freed),
    so without this a web process stays at its peak for good."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@contextmanager
def _decoding() -> Iterator[None]:
    with _one_decode:
        try:
            yield
        finally:
            release_memory()


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    max_pixels: int
    max_side: int
    min_side: int
    # The upright width and height the result needs at most: decoding to a smaller scale
    # than that loses nothing (a photo's renditions are sized by their width alone).
    target: tuple[int, int]


PHOTO_LIMITS = _Limits(MAX_UPLOAD_BYTES, MAX_PIXELS, MAX_SIDE, MIN_SIDE, (LARGEST_WIDTH, 1))
SIGNATURE_LIMITS = _Limits(
    SIGNATURE_MAX_UPLOAD_BYTES, SIGNATURE_MAX_PIXELS, MAX_SIDE, SIGNATURE_MIN_SIDE, SIGNATURE_BOX
)

# EXIF orientation → the transposition that shows the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # a broken EXIF block is no reason to refuse the pixels: show them as they are
        return 1


def _sensor_frame(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """``size`` (upright) as the stored pixels have it: turned for orientations 5 to 8."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _too_many_pixels(limits: _Limits) -> PhotoRefused:
    if limits is PHOTO_LIMITS:
        return PhotoRefused(_("Cette image a trop de pixels (40 mégapixels au plus)."))
    return PhotoRefused(
        _("Cette image a trop de pixels (%(max)d mégapixels au plus).") % {"max": limits.max_pixels // 1_000_000}
    )


def _decode(upload: IO[bytes], limits: _Limits) -> tuple[Image.Image, tuple[int, int]]:
    """The upright pixels of ``upload``, reduced to no less than ``limits.target``
    (at least twice it when reduced, for the final resampling's quality), and the
    upright size of the original; raises ``PhotoRefused``. Call it inside ``_decoding()``."""
    if _size_of(upload) > limits.max_bytes:
        raise PhotoRefused(
            _("Ce fichier est trop lourd (%(max)d Mo au plus).") % {"max": limits.max_bytes // (1024 * 1024)}
        )
    upload.seek(0)
    try:
        with _bomb_guard():
            # ``open`` reads the header only: the size is known before any pixel is decoded.
            image: Image.Image = Image.open(upload, formats=ACCEPTED_FORMATS)
            width, height = image.size
            if width * height > limits.max_pixels or max(width, height) > limits.max_side:
                raise _too_many_pixels(limits)
            if min(width, height) < limits.min_side:
                if limits is PHOTO_LIMITS:
                    raise PhotoRefused(_("Cette image est trop petite (50 pixels de côté au moins)."))
                raise PhotoRefused(
                    _("Cette image est trop petite (%(min)d pixels de côté au moins).") % {"min": limits.min_side}
                )
            # WeasyPrint (sheets, receipts) sets this process-wide flag to True when it is
            # imported; a truncated upload must still be refused here, not half-decoded.
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            if image.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale while each side stays at least what the
                # target needs of it (a JPEG's EXIF, hence its orientation, is in its header).
                target = _sensor_frame(limits.target, _orientation(image))
                image.draft(None, target)
            image.load()
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(limits) from error
    except UnidentifiedImageError as error:
        if limits is PHOTO_LIMITS:
            raise PhotoRefused(_("Ce fichier n'est pas une photo JPEG, PNG ou WebP.")) from error
        raise PhotoRefused(_("Ce fichier n'est pas une image PNG, JPEG ou WebP.")) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        # Truncated or corrupt data: Pillow raises one of these while decoding.
        raise PhotoRefused(_("Cette image est endommagée ou incomplète.")) from error
    orientation = _orientation(image)
    target_width, target_height = _sensor_frame(limits.target, orientation)
    factor = min(image.width // (2 * target_width), image.height // (2 * target_height))
    if factor >= 2:
        reduced = _reduced(image, factor)
        # The full-size pixels go at once: they are most of the memory an upload takes.
        image.close()
        image = reduced
    if orientation in _UPRIGHT:
        upright = image.transpose(_UPRIGHT[orientation])
        image.close()
        image = upright
    return image, _sensor_frame((width, height), orientation)


def _working_mode(image: Image.Image) -> str:
    """RGBA for an image with any transparency, RGB otherwise."""
    has_alpha = image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info
    return "RGBA" if has_alpha else "RGB"


# Rows of the original converted at a time by ``_reduced``: a few megabytes whatever its width.
_STRIP_ROWS = 256


def _reduced(image: Image.Image, factor: int) -> Image.Image:
    """``image`` in its working mode, box-reduced by ``factor`` (as Image.thumbnail's
    reducing_gap does), one strip of rows at a time.

    Strips, because Pillow converts the whole image before reducing it when it has
    transparency (to premultiplied alpha) or a mode it cannot reduce (palette, 1-bit,
    16-bit): one more full-size copy, as big as the decoded image itself. Strips whose
    height is a multiple of ``factor`` give the same pixels as one reduction of the whole."""
    mode = _working_mode(image)
    width, height = image.size
    result = Image.new(mode, (-(-width // factor), -(-height // factor)))
    step = _STRIP_ROWS * factor
    for top in range(0, height, step):
        strip = image.crop((0, top, width, min(height, top + step)))
        converted = strip.convert(mode)
        strip.close()
        reduced = converted.reduce(factor)
        converted.close()
        result.paste(reduced, (0, top // factor))
        reduced.close()
    return result


def prepare_photo(upload: IO[bytes]) -> PreparedPhoto:
    """Check one uploaded file and re-encode it; raises ``PhotoRefused``."""
    with _decoding():
        image, (width, height) = _decode(upload, PHOTO_LIMITS)
        try:
            return _render(image, width=width, height=height)
        finally:
            image.close()


def prepare_photos(files: Sequence[IO[bytes]]) -> tuple[list[PreparedPhoto], list[str]]:
    """Run every file through the pipeline: what passed, and one message per refused
    file ("Photo 2 (name) : reason"), the same on the pages and in the API."""
    prepared, errors = [], []
    for number, upload in enumerate(files, start=1):
        try:
            prepared.append(prepare_photo(upload))
        except PhotoRefused as refused:
            name = getattr(upload, "name", None) or "?"
            errors.append(
                _("Photo %(number)d (%(name)s) : %(reason)s")
                % {"number": number, "name": name, "reason": refused.message}
            )
    return prepared, errors


def _render(image: Image.Image, *, width: int, height: int) -> PreparedPhoto:
    """Renditions of ``image``, a photo ``width`` × ``height`` pixels (upright) before any reduction."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        # Transparency is flattened on white: a photo of an object needs no alpha.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        rgba.close()
        image = flat
    else:
        image = image.convert("RGB")
    # A fresh canvas with no metadata at all: EXIF, GPS, XMP and comments stay behind.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    image.close()
    prepared = PreparedPhoto(width=width, height=height)
    widths = sorted({w for w in WEBP_WIDTHS if w <= width} or {width})
    for target in widths:
        prepared.renditions.append(_encode(clean, target, "webp"))
    prepared.renditions.append(_encode(clean, min(FALLBACK_WIDTH, width), "jpeg"))
    clean.close()
    return prepared


def _encode(image: Image.Image, width: int, fmt: str) -> Rendition:
    if width < image.width:
        height = max(1, round(image.height * width / image.width))
        # Box-reduce first, then Lanczos from no less than three times the width: the same picture, faster.
        image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    if fmt == "webp":
        image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    else:
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return Rendition(width=image.width, height=image.height, format=fmt, data=buffer.getvalue())


def prepare_signature(upload: IO[bytes]) -> bytes:
    """A signature image, checked and re-encoded as a PNG without any metadata,
    transparency kept, within ``SIGNATURE_BOX``; raises ``PhotoRefused``."""
    with _decoding():
        image, _size = _decode(upload, SIGNATURE_LIMITS)
        try:
            converted = image.convert(_working_mode(image))
            converted.thumbnail(SIGNATURE_BOX, Image.Resampling.LANCZOS)
            clean = Image.new(converted.mode, converted.size)
            clean.paste(converted)  # without a mask, alpha is copied as it is
            buffer = io.BytesIO()
            clean.save(buffer, format="PNG", optimize=True)
            return buffer.getvalue()
        finally:
            image.close()


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
