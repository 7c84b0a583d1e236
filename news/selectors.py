"""Reads of news: a campaign's updates for its page, and who receives an update's email."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from campaigns.models import Campaign
from donations.models import Gift, OrderLine, PaymentStatus
from news.models import Subscription, Update

# The campaign page shows the latest updates only; older ones stay in the managers' list.
PAGE_UPDATES = 20


def campaign_updates(campaign: Campaign, *, limit: int = PAGE_UPDATES) -> QuerySet[Update]:
    """The campaign's updates, newest first (one query)."""
    return Update.objects.filter(campaign=campaign).order_by("-created_at", "-id")[:limit]


def email_normalise(email: str) -> str:
    """The form a subscription keeps: one row per person, however they typed their address."""
    return email.strip().lower()


def news_recipients(*, campaign_id: int, subscription_ids: Iterable[int] | None = None) -> QuerySet[Subscription]:
    """Subscriptions of the campaign that receive its news now: consent given and not
    withdrawn, and still a backer — a gift to the campaign or an object of it bought,
    paid and not refunded in full (a partial refund keeps the person a backer). One row
    per email, so one email per person whatever the number of their gifts."""
    gifts = Gift.objects.annotate(lower_email=Lower("email")).filter(
        campaign_id=campaign_id,
        status=PaymentStatus.PAID,
        refunded_cents__lt=F("amount_cents"),
        lower_email=OuterRef("email"),
    )
    lines = OrderLine.objects.annotate(lower_email=Lower("order__email")).filter(
        campaign_id=campaign_id,
        order__status=PaymentStatus.PAID,
        refunded_cents__lt=F("amount_cents"),
        lower_email=OuterRef("email"),
    )
    subscriptions = Subscription.objects.filter(campaign_id=campaign_id, unsubscribed_at__isnull=True)
    if subscription_ids is not None:
        subscriptions = subscriptions.filter(pk__in=list(subscription_ids))
    return subscriptions.filter(Q(Exists(gifts)) | Q(Exists(lines))).order_by("pk")
