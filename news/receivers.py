"""News' answers to a person's deletion and data export (accounts.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_deleting, account_exporting
from news.models import Subscription
from news.selectors import email_normalise


@receiver(account_deleting, dispatch_uid="news.account_deleting")
def _account_deleting(sender: Any, *, user: User, **kwargs: Any) -> None:
    """The person's news subscriptions go (their emails with them): a deleted account
    hears from no campaign any more."""
    Subscription.objects.filter(email=email_normalise(user.email)).delete()


@receiver(account_exporting, dispatch_uid="news.account_exporting")
def _account_exporting(sender: Any, *, user: User, **kwargs: Any) -> dict[str, Any]:
    subscriptions = Subscription.objects.filter(email=email_normalise(user.email)).select_related("campaign")
    return {
        "news_subscriptions": [
            {
                "campaign": subscription.campaign.slug,
                "email": subscription.email,
                "consented_at": subscription.consented_at.isoformat(),
                "unsubscribed_at": subscription.unsubscribed_at.isoformat() if subscription.unsubscribed_at else None,
            }
            for subscription in subscriptions.order_by("pk")
        ]
    }
