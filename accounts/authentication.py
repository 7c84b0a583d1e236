"""Session authentication that checks CSRF for every browser request.

DRF's ``SessionAuthentication`` checks CSRF only once a session user is
found, so an anonymous cross-site POST (sign-up, sign-in, checkout…) would
pass. A request carrying any cookie or an ``Origin`` / ``Sec-Fetch-Site``
header comes from a browser and gets the full CSRF check; a client that
sends neither (a phone app or a script with ``Authorization: Token``) has
no ambient credentials to abuse and is left to token authentication.

API tokens expire (``ExpiringTokenAuthentication``, below).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.request import Request


def looks_like_a_browser(request: Request) -> bool:
    meta = request._request.META
    return bool(meta.get("HTTP_COOKIE") or meta.get("HTTP_ORIGIN") or meta.get("HTTP_SEC_FETCH_SITE"))


class CsrfSessionAuthentication(SessionAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
        if unsafe and not request.META.get("HTTP_AUTHORIZATION") and looks_like_a_browser(request):
            self.enforce_csrf(request)
        return super().authenticate(request)

    def authenticate_header(self, request: Request) -> str | None:
        # DRF asks the first authentication class how to refuse: a caller who sent
        # a token that failed (unknown, revoked, expired) gets 401 with
        # ``WWW-Authenticate: Token`` and knows to sign in again; browsers keep 403.
        if str(request.META.get("HTTP_AUTHORIZATION", "")).split(" ", 1)[0].lower() == "token":
            return "Token"
        return None

    def enforce_csrf(self, request: Request) -> None:
        # Once per request: super().authenticate() checks again for a signed-in user.
        if getattr(request._request, "_tremma_csrf_checked", False):
            return
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as refused:
            raise exceptions.PermissionDenied(
                _("Vérification anti-falsification (CSRF) échouée : rechargez la page et réessayez."),
                code="csrf_failed",
            ) from refused
        request._request._tremma_csrf_checked = True  # type: ignore[attr-defined]


def token_expires_at(token: Token) -> datetime:
    """When ``token`` stops working: API_TOKEN_TTL_DAYS after it was made."""
    return token.created + timedelta(days=settings.API_TOKEN_TTL_DAYS)


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, refused (401) once the token is
    older than API_TOKEN_TTL_DAYS; signing in again gives a fresh one."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expires_at(token) <= timezone.now():
            raise exceptions.AuthenticationFailed(
                _("Votre jeton a expiré : connectez-vous à nouveau."), code="token_expired"
            )
        return user, token
