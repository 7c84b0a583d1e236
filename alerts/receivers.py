"""Alerts' answers to a person's deletion and data export (accounts.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_deleting, account_exporting
from alerts.models import Alert


@receiver(account_deleting, dispatch_uid="alerts.account_deleting")
def _account_deleting(sender: Any, *, user: User, **kwargs: Any) -> None:
    """A deleted account keeps its (anonymised) row: its saved searches go, so nothing is sent."""
    Alert.objects.filter(user=user).delete()


@receiver(account_exporting, dispatch_uid="alerts.account_exporting")
def _account_exporting(sender: Any, *, user: User, **kwargs: Any) -> dict[str, Any]:
    return {
        "search_alerts": [
            {
                "label": alert.label,
                "filters": alert.filters,
                "language": alert.language,
                "created_at": alert.created_at.isoformat(),
                "last_sent_at": alert.last_sent_at.isoformat() if alert.last_sent_at else None,
                "unsubscribed_at": alert.unsubscribed_at.isoformat() if alert.unsubscribed_at else None,
            }
            for alert in Alert.objects.filter(user=user).order_by("pk")
        ]
    }
