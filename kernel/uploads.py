"""Uploads per account: every image sent (item photos, campaign covers, the
signature of tax receipts) is decoded by the web process, so each account may
send ``UPLOAD_IMAGES_PER_HOUR`` of them per hour, counted before any is
decoded, refused ones included. Counters live in the shared cache (Redis in
production, so every worker counts together; kernel/cache.py falls back to the
process's own cache when Redis is down, so the limit then holds per process)."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kernel.counters import count_in_window, seconds_left_in_window
from kernel.errors import DomainError

WINDOW_SECONDS = 3600


class TooManyUploads(DomainError):
    status_code = 429
    code = "too_many_uploads"
    default_detail = _("Trop d'images envoyées en une heure. Réessayez un peu plus tard.")


def upload_count(*, user_id: int | None, images: int) -> None:
    """Count ``images`` about to be decoded for ``user_id``; raise ``TooManyUploads``
    when this hour's count goes past the limit (nothing is decoded then). Every
    upload needs a signed-in account: ``None`` (never expected) shares one count."""
    if images <= 0:
        return
    key = f"tremma:uploads:{user_id}:{int(time.time()) // WINDOW_SECONDS}"
    count = count_in_window(key, seconds=WINDOW_SECONDS, by=images)
    limit = settings.UPLOAD_IMAGES_PER_HOUR
    if count > limit:
        refused = TooManyUploads(f"user {user_id}: {count} images this hour, over {limit}")
        refused.retry_after = seconds_left_in_window(WINDOW_SECONDS)
        raise refused
