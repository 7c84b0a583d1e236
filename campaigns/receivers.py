"""Campaigns' answers to the signals of the rooms below it (accounts.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.selectors import memberships_of
from accounts.signals import account_deleting, account_exporting


@receiver(account_deleting, dispatch_uid="campaigns.account_deleting")
def _account_deleting(sender: Any, *, user: User, **kwargs: Any) -> None:
    """A deleted person manages no organisation any more."""
    user.memberships.all().delete()


@receiver(account_exporting, dispatch_uid="campaigns.account_exporting")
def _account_exporting(sender: Any, *, user: User, **kwargs: Any) -> dict[str, Any]:
    """The organisations the person belongs to, and their role."""
    return {
        "organisations": [
            {"slug": m.organisation.slug, "name": m.organisation.name, "role": m.role} for m in memberships_of(user)
        ]
    }
