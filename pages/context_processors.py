"""What base.html needs on every page about the person signed in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may


def manager_links(request: HttpRequest) -> dict[str, Any]:
    """``manages``: the header shows "Gestion" (the managers' home). Asked only when a page
    shows the header to a signed-in person: one query, none for a visitor."""
    user = getattr(request, "user", None)
    return {"manages": SimpleLazyObject(lambda: organisations_user_may(user, Permission.DASHBOARD).exists())}
