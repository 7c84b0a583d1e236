"""Who is asking: the one reading of ``request.user`` that the other apps share."""

from __future__ import annotations

from typing import Any

from accounts.models import User


def signed_in(request: Any) -> User | None:
    """The signed-in person making ``request`` (a Django or DRF request), or None for a visitor."""
    user = request.user
    return user if user.is_authenticated else None  # type: ignore[no-any-return]
