"""Guessing defence for sign-ins and for the emails anyone can make us send.

Counters live in the shared cache (Redis in production, so every worker
counts together) and are keyed by a keyed hash of the email and of the client
address as ``kernel.net.client_address`` computes it (never a raw
X-Forwarded-For). A counter starts with its first attempt and lasts
``SIGN_IN_WINDOW_MINUTES``; once it reaches its limit, a lock of the same
length starts from that moment, so no window of that length ever sees more
than about the limit.

Scopes: ``sign_in`` counts failed sign-ins (pages, admin and API alike,
through ``accounts.backends.ThrottledModelBackend``); ``reset`` counts
password-reset emails asked for; ``verify`` counts verification emails sent
again. Each has its own counters with the same limits.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext

from kernel.counters import count_in_window
from kernel.errors import DomainError
from kernel.net import client_key

SIGN_IN = "sign_in"
RESET = "reset"
VERIFY = "verify"


def too_many_attempts_message() -> str:
    """What a refused person reads: how long to wait, from the configured window."""
    minutes = settings.SIGN_IN_WINDOW_MINUTES
    return ngettext(
        "Trop de tentatives. Réessayez dans %(minutes)d minute.",
        "Trop de tentatives. Réessayez dans %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, internal: str = "", *, detail: str | None = None) -> None:
        super().__init__(internal, detail=detail if detail is not None else too_many_attempts_message())
        # A counter lasts the window from its first failure: at most this long.
        self.retry_after = _window_seconds()


def _window_seconds() -> int:
    return settings.SIGN_IN_WINDOW_MINUTES * 60


def _keys(scope: str, request: HttpRequest, email: str) -> list[tuple[str, int]]:
    email_key = salted_hmac("tremma.attempts-email", email.strip().lower()).hexdigest()[:32]
    keys = [(f"tremma:{scope}:email:{email_key}", settings.SIGN_IN_FAILURES_PER_EMAIL)]
    client = client_key(request)
    if client:
        keys.append((f"tremma:{scope}:client:{client}", settings.SIGN_IN_FAILURES_PER_CLIENT))
    return keys


def attempts_locked(*, scope: str, request: HttpRequest, email: str) -> bool:
    """Whether the email or the client has used up its attempts in ``scope``."""
    for key, limit in _keys(scope, request, email):
        if cache.get(f"{key}:locked") or int(cache.get(key) or 0) >= limit:
            return True
    return False


def attempt_count(*, scope: str, request: HttpRequest, email: str) -> None:
    """Count one attempt (a failure for ``sign_in``, an email for the others)."""
    window = _window_seconds()
    for key, limit in _keys(scope, request, email):
        if count_in_window(key, seconds=window) >= limit:
            cache.set(f"{key}:locked", True, timeout=window)


def attempt_check_and_count(*, scope: str, request: HttpRequest, email: str) -> None:
    """For emails we send on request: refuse past the limit, else count this one."""
    if attempts_locked(scope=scope, request=request, email=email):
        raise TooManyAttempts(f"{scope} attempts over the limit")
    attempt_count(scope=scope, request=request, email=email)
