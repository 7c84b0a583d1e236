"""The one authentication backend: Django's, behind the sign-in limits.

Sign-in pages, the admin and ``POST /api/auth/token/`` all call
``django.contrib.auth.authenticate``, so counting here covers every way in.
Past the limit the backend raises ``SignInLocked`` (a ``PermissionDenied``:
``authenticate`` then stops and answers ``None`` without trying the
password) and marks the request, so the caller can answer 429 instead of
"wrong password" (the same way django-axes does it).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.models import User
from accounts.throttles import SIGN_IN, attempt_count, attempts_locked

LOCKED_FLAG = "tremma_sign_in_locked"


class SignInLocked(PermissionDenied):
    pass


def sign_in_locked(request: HttpRequest | None) -> bool:
    """Whether the last ``authenticate`` of this request was refused by the limits."""
    return bool(getattr(request, LOCKED_FLAG, False))


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:  # type: ignore[override]
        email = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if request is None or email is None or password is None:
            # No request (a shell, a management command): nothing to count against.
            return super().authenticate(request, username=email, password=password)  # type: ignore[return-value]
        email = str(email)
        if attempts_locked(scope=SIGN_IN, request=request, email=email):
            setattr(request, LOCKED_FLAG, True)
            raise SignInLocked
        user = super().authenticate(request, username=email, password=password)
        if user is None:
            attempt_count(scope=SIGN_IN, request=request, email=email)
        return user  # type: ignore[return-value]
