"""Card-testing defence: anonymous payment attempts (checkouts and gifts) are
counted per client address and per email, in hourly windows, in the shared
cache (Redis in production, so every worker counts together)."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from kernel.counters import count_in_window, counts_in_window, seconds_left_in_window
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


# Delivery quotes one client address may ask in an hour: each may call the carrier's API.
QUOTES_PER_CLIENT_HOUR = 300


class TooManyQuotes(DomainError):
    status_code = 429
    code = "too_many_attempts"
    default_detail = _("Trop de demandes de frais de port. Réessayez dans une heure.")


def quote_attempt_check(*, client_key: str) -> None:
    """Count one delivery quote of ``client_key``; raise ``TooManyQuotes`` past the hourly limit."""
    if not client_key:
        return
    window = int(time.time()) // WINDOW_SECONDS
    if count_in_window(f"tremma:quote:client:{client_key}:{window}", seconds=WINDOW_SECONDS) > QUOTES_PER_CLIENT_HOUR:
        refused = TooManyQuotes(f"quotes over {QUOTES_PER_CLIENT_HOUR}/h")
        refused.retry_after = seconds_left_in_window(WINDOW_SECONDS)
        raise refused
