"""Card-testing defence: anonymous payment attempts (checkouts and gifts) are
counted per client address and per email, in hourly windows, in the shared
cache (Redis in production, so every worker counts together)."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from kernel.counters import counts_in_window, seconds_left_in_window
from kernel.errors import DomainError

WINDOW_SECONDS = 3600


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"
    default_detail = _("Trop de tentatives de paiement. Réessayez dans une heure.")


def payment_attempt_check(*, client_key: str, email: str) -> None:
    """Count one attempt; raise ``TooManyAttempts`` past the configured limits."""
    window = int(time.time()) // WINDOW_SECONDS
    email_key = salted_hmac("tremma.payment-email", email.strip().lower()).hexdigest()[:32]
    limits = [(f"tremma:pay:email:{email_key}:{window}", settings.PAYMENT_ATTEMPTS_PER_EMAIL)]
    if client_key:
        limits.append((f"tremma:pay:client:{client_key}:{window}", settings.PAYMENT_ATTEMPTS_PER_CLIENT))
    counts = counts_in_window([key for key, _limit in limits], seconds=WINDOW_SECONDS)
    for (key, limit), count in zip(limits, counts, strict=True):
        if count > limit:
            refused = TooManyAttempts(f"payment attempts over {limit}/h ({key.split(':')[2]})")
            refused.retry_after = seconds_left_in_window(WINDOW_SECONDS)
            raise refused
