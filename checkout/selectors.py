"""Reads of the order lifecycle: the buyer's claim page, the hand-over a
manager scans, the live streams an item's events go to, and a person's own
gifts and purchases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus
from qr.selectors import windows_showing

PaymentT = TypeVar("PaymentT", Gift, Order)


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


# --- The person's own payments (their account's space, their data export) ------------------------

# What a person's lists show: payments that went through (refunded ones too, with what came back).
SETTLED_STATUSES = (PaymentStatus.PAID, PaymentStatus.REFUNDED)


def payments_of(model: type[PaymentT], *, user: User) -> QuerySet[PaymentT]:
    """``user``'s gifts or orders, any status: made while signed in to their account, or as
    a guest with its address, but the latter only once the address is verified: anyone can
    sign up with a donor's address, and nothing is attached to an account by an unproved
    address (accounts.services)."""
    own = Q(user=user)
    if user.email_verified:
        own |= Q(user__isnull=True, email__iexact=user.email)
    return model.objects.filter(own)


def _own_payments(model: type[PaymentT], user: User) -> QuerySet[PaymentT]:
    return payments_of(model, user=user).filter(status__in=SETTLED_STATUSES)


def gifts_of(*, user: User) -> QuerySet[Gift]:
    """The person's gifts (paid or refunded), newest first, with their campaign and organisation."""
    return _own_payments(Gift, user).select_related("campaign__organisation").order_by("-paid_at", "-created_at", "-id")


def orders_of(*, user: User) -> QuerySet[Order]:
    """The person's purchases (paid or refunded), newest first, with their item and organisation."""
    return (
        _own_payments(Order, user)
        .select_related("item", "campaign__organisation")
        .order_by("-paid_at", "-created_at", "-id")
    )


def order_awaiting_collection(order: Order) -> bool:
    """Paid and not handed over yet: the buyer still needs the claim code and page."""
    return order.status == PaymentStatus.PAID and order.handed_over_at is None


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
        .filter(campaign__organisation__in=organisations_user_may(user, Permission.HAND_OVER))
        .select_related("item", "campaign__organisation")
        .order_by("paid_at", "id")
    )


def order_for_claim_code(*, code: str, user: User) -> Order | None:
    """The order whose claim code is ``code`` (already normalised), at an organisation ``user``
    manages; another organisation's code finds nothing, as a code that does not exist."""
    return (
        Order.objects.select_related("item", "campaign__organisation")
        .filter(claim_code=code, campaign__organisation__in=organisations_user_may(user, Permission.HAND_OVER))
        .first()
    )
