"""Reads of the order lifecycle: the buyer's claim page, the hand-over a
manager scans, and the live streams an item's events go to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import Item, Order
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
    """The order behind a scanned claim QR, for a member of its campaign's
    organisation who may hand over (every role): anybody else gets nothing, as if
    the token did not exist."""
    orders = _claimed(token)
    if not user.is_superuser:
        orders = orders.filter(campaign__organisation__in=organisations_user_may(user, Permission.HAND_OVER))
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
