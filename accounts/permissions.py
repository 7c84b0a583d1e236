"""API permissions about the person themselves."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class EmailVerified(BasePermission):
    """The signed-in person has verified their address (``403 {"code": "email_unverified"}``
    otherwise). Put after ``IsAuthenticated``, which answers anonymous callers first."""

    message = _("Confirmez d'abord votre adresse e-mail avec le lien que nous vous avons envoyé.")
    code = "email_unverified"

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "email_verified", False))
