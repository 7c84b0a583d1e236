"""Reads of the order lifecycle: the buyer's claim page, the hand-over a
manager scans, and the live streams an item's events go to."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import User
from campaigns.selectors import organisations_managed_by
from donations.models import Item, ItemStatus, Order, PaymentStatus
from qr.selectors import windows_showing


def _claimed(token: str) -> QuerySet[Order]:
    return Order.objects.select_related("item", "campaign__organisation").filter(claim_token=token)


def order_for_claim(*, token: str) -> Order | None:
    """The order behind a claim page. The random token is the only key: the
    buyer has no account, and the page is theirs as long as they keep the link."""
    return _claimed(token).first()


def order_claim_url(order: Order) -> str:
    """The absolute address of the buyer's claim page (sent by email, shown after paying)."""
    return settings.SITE_URL + reverse("checkout:claim", kwargs={"token": order.claim_token})


def order_hand_over_url(order: Order) -> str:
    """The absolute address the claim QR encodes: the organisation scans it to hand the object over."""
    return settings.SITE_URL + reverse("checkout:hand-over", kwargs={"token": order.claim_token})


def order_for_hand_over(*, token: str, user: User) -> Order | None:
    """The order behind a scanned claim QR, for a manager of its campaign's
    organisation only: anybody else gets nothing, as if the token did not exist."""
    orders = _claimed(token)
    if not user.is_superuser:
        orders = orders.filter(campaign__organisation__in=organisations_managed_by(user))
    return orders.first()


def item_streams(item: Item) -> dict[str, Any]:
    """The live streams an item's events go to: the item, its campaign, its
    organisation (managers) and every window it stands in now."""
    return {
        "items": [item.pk],
        "campaigns": [item.campaign_id],
        "organisations": [item.campaign.organisation_id],
        "windows": windows_showing(item_id=item.pk),
    }


# --- Objects waiting to be collected (/gestion/retraits/) ---------------------------------------


def pickup_deadline(order: Order) -> datetime | None:
    """When a paid object not collected is refunded and put back on sale (PICKUP_DEADLINE_DAYS after payment)."""
    return order.paid_at + timedelta(days=settings.PICKUP_DEADLINE_DAYS) if order.paid_at else None


def pickups_waiting() -> QuerySet[Order]:
    """Every object paid and waiting for its buyer: not handed over, not refunded by the never-collected rule."""
    return Order.objects.filter(
        status=PaymentStatus.PAID,
        item__status=ItemStatus.SOLD,
        handed_over_at__isnull=True,
        pickup_expired_at__isnull=True,
        paid_at__isnull=False,
    )


def pickups_managed(*, user: User) -> QuerySet[Order]:
    """The objects waiting to be collected at the organisations ``user`` manages, oldest payment first."""
    return (
        pickups_waiting()
        .filter(campaign__organisation__in=organisations_managed_by(user))
        .select_related("item", "campaign__organisation")
        .order_by("paid_at", "id")
    )


def order_for_claim_code(*, code: str, user: User) -> Order | None:
    """The order whose claim code is ``code`` (already normalised), at an organisation ``user``
    manages; another organisation's code finds nothing, as a code that does not exist."""
    return (
        Order.objects.select_related("item", "campaign__organisation")
        .filter(claim_code=code, campaign__organisation__in=organisations_managed_by(user))
        .first()
    )
