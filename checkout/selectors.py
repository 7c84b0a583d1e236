"""Reads of the order lifecycle: the buyer's claim page, the hand-over a
manager scans, the live streams an item's events go to, and a person's own
gifts and purchases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import F, Prefetch, Q, QuerySet
from django.urls import reverse

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import (
    COLLECTION,
    CounterEntry,
    Fulfilment,
    Gift,
    Item,
    ItemStatus,
    Order,
    OrderLine,
    PaymentStatus,
    RecurringGift,
)
from qr.selectors import short_code_resolve, windows_showing

PaymentT = TypeVar("PaymentT", Gift, Order)


def _claimed(token: str) -> QuerySet[Fulfilment]:
    return Fulfilment.objects.select_related("order", "organisation").filter(claim_token=token)


def fulfilment_for_claim(*, token: str) -> Fulfilment | None:
    """The organisation's part of an order behind a claim page. The random token is the only
    key: the buyer has no account, and the page is theirs as long as they keep the link."""
    return _claimed(token).first()


def fulfilment_claim_url(fulfilment: Fulfilment) -> str:
    """The absolute address of the buyer's claim page (sent by email, shown after paying)."""
    return settings.SITE_URL + reverse("checkout:claim", kwargs={"token": fulfilment.claim_token})


def fulfilment_hand_over_url(fulfilment: Fulfilment) -> str:
    """The absolute address the claim QR encodes: the organisation scans it to hand the objects over."""
    return settings.SITE_URL + reverse("checkout:hand-over", kwargs={"token": fulfilment.claim_token})


def fulfilment_for_hand_over(*, token: str, user: User) -> Fulfilment | None:
    """The part of an order behind a scanned claim QR, for a member of its organisation who
    may hand over (every role): anybody else gets nothing, as if the token did not exist."""
    fulfilments = _claimed(token)
    if not user.is_superuser:
        fulfilments = fulfilments.filter(organisation__in=organisations_user_may(user, Permission.HAND_OVER))
    return fulfilments.first()


def fulfilment_lines(fulfilment: Fulfilment) -> QuerySet[OrderLine]:
    """The lines of one organisation's part of an order, with their items and campaigns."""
    return fulfilment.lines.select_related("item", "campaign").order_by("pk")


def item_streams(item: Item, *, windows: list[int] | None = None) -> dict[str, Any]:
    """The live streams an item's events go to: the item, its campaign, its
    organisation (managers) and every window it stands in now (``windows``: as the
    caller read them just before, else read now)."""
    return {
        "items": [item.pk],
        "campaigns": [item.campaign_id],
        "organisations": [item.campaign.organisation_id],
        "windows": windows_showing(item_id=item.pk) if windows is None else windows,
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


def recurring_gifts_of(*, user: User) -> QuerySet[RecurringGift]:
    """The person's monthly gifts that started (active or stopped), as ``payments_of`` attaches
    them: made signed in, or as a guest with their address once it is verified."""
    own = Q(user=user)
    if user.email_verified:
        own |= Q(user__isnull=True, email__iexact=user.email)
    return (
        RecurringGift.objects.filter(own, started_at__isnull=False)
        .select_related("campaign__organisation")
        .order_by("-started_at", "-id")
    )


def recurring_failing_managed(*, user: User) -> QuerySet[RecurringGift]:
    """The monthly gifts of the organisations ``user`` may see the orders of whose last charge
    failed (none succeeded since): "prélèvement échoué" on the managers' orders page."""
    return (
        RecurringGift.objects.filter(
            campaign__organisation__in=organisations_user_may(user, Permission.ORDERS), last_failed_at__isnull=False
        )
        .filter(Q(last_paid_at__isnull=True) | Q(last_paid_at__lt=F("last_failed_at")))
        .select_related("campaign__organisation")
        .order_by("-last_failed_at", "-id")
    )


def orders_of(*, user: User) -> QuerySet[Order]:
    """The person's purchases (paid or refunded), newest first, with their lines (items,
    campaigns) and their fulfilments (organisations)."""
    return (
        _own_payments(Order, user)
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("item", "campaign").order_by("pk")),
            Prefetch("fulfilments", queryset=Fulfilment.objects.select_related("organisation", "giver").order_by("pk")),
        )
        .order_by("-paid_at", "-created_at", "-id")
    )


def fulfilment_awaiting_collection(fulfilment: Fulfilment) -> bool:
    """Paid, not handed over, not taken by the never-collected rule: the buyer still needs its claim code."""
    return (
        fulfilment.order.status == PaymentStatus.PAID
        and fulfilment.handed_over_at is None
        and fulfilment.pickup_expired_at is None
    )


# --- Objects waiting to be collected (/gestion/retraits/) ---------------------------------------


def pickup_deadline(fulfilment: Fulfilment) -> datetime | None:
    """When paid objects not collected are refunded and put back on sale (PICKUP_DEADLINE_DAYS after payment)."""
    paid_at = fulfilment.order.paid_at
    return paid_at + timedelta(days=settings.PICKUP_DEADLINE_DAYS) if paid_at else None


def pickups_waiting() -> QuerySet[Fulfilment]:
    """Every part of an order paid and waiting for its buyer: collected (a parcel travels on its
    own clock, checkout.services.parcels), not handed over, not refunded by the never-collected
    rule, with at least one item still sold (not refunded)."""
    return Fulfilment.objects.filter(
        method=COLLECTION,
        order__status=PaymentStatus.PAID,
        order__paid_at__isnull=False,
        handed_over_at__isnull=True,
        pickup_expired_at__isnull=True,
        pk__in=OrderLine.objects.filter(item__status=ItemStatus.SOLD).values("fulfilment_id"),
    )


def pickups_managed(*, user: User) -> QuerySet[Fulfilment]:
    """The parts of orders waiting to be collected at the organisations ``user`` manages, oldest payment first."""
    return (
        pickups_waiting()
        .filter(organisation__in=organisations_user_may(user, Permission.HAND_OVER))
        .select_related("order", "organisation", "giver")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("item", "campaign").order_by("pk"))
        )
        .order_by("order__paid_at", "id")
    )


def fulfilment_for_claim_code(*, code: str, user: User) -> Fulfilment | None:
    """The part of an order whose claim code is ``code`` (already normalised), at an organisation
    ``user`` manages; another organisation's code finds nothing, as a code that does not exist."""
    return (
        Fulfilment.objects.select_related("order", "organisation")
        .filter(claim_code=code, organisation__in=organisations_user_may(user, Permission.HAND_OVER))
        .first()
    )


def pickups_kept_by(*, giver: User) -> QuerySet[Fulfilment]:
    """The parts of orders a private giver hands over in person (the objects they keep at home),
    paid and waiting for their buyers, oldest payment first: their space's "Remettre un objet"."""
    return (
        pickups_waiting()
        .filter(giver=giver, method=COLLECTION)
        .select_related("order", "organisation")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("item", "campaign").order_by("pk"))
        )
        .order_by("order__paid_at", "id")
    )


def fulfilment_for_giver_claim_code(*, code: str, giver: User) -> Fulfilment | None:
    """The part of an order whose claim code is ``code`` (already normalised) that ``giver`` hands
    over themselves; anyone else's code finds nothing, as a code that does not exist."""
    return Fulfilment.objects.select_related("order", "organisation").filter(claim_code=code, giver=giver).first()


# --- The donor wall ------------------------------------------------------------------------------


def wall_candidates() -> QuerySet[Gift]:
    """Gifts that may stand on a donor wall, approved or not: paid (not refunded), not anonymous,
    with a name. An anonymous gift never does, whatever its message."""
    return Gift.objects.filter(status=PaymentStatus.PAID, anonymous=False).exclude(name="")


def donor_wall(*, campaign_id: int) -> QuerySet[Gift]:
    """A campaign's donor wall, newest first: the gifts whose name and message a manager approved.
    Only what the wall prints is read (never an email or an amount)."""
    return (
        wall_candidates()
        .filter(campaign_id=campaign_id, wall_status=Gift.WallStatus.APPROVED)
        .only("pk", "name", "message", "paid_at")
        .order_by("-paid_at", "-pk")
    )


def wall_gifts_managed(*, user: User, status: str) -> QuerySet[Gift]:
    """The wall's candidates of the campaigns of the organisations where ``user`` may edit campaigns
    (``Permission.CAMPAIGNS``: the wall is part of the campaign page), in one wall status; the
    waiting ones oldest first (a queue), the decided ones newest first."""
    gifts = wall_candidates().filter(
        wall_status=status, campaign__organisation__in=organisations_user_may(user, Permission.CAMPAIGNS)
    )
    order = ("paid_at", "pk") if status == Gift.WallStatus.PENDING else ("-wall_decided_at", "-pk")
    return gifts.select_related("campaign__organisation").order_by(*order)


# --- The shop counter -----------------------------------------------------------------------------

# The address a printed label's QR code holds ends with /q/<code> (qr.selectors.short_url).
_SHORT_URL_TAIL = re.compile(r"/q/([A-Za-z0-9]+)/?$")


def counter_item_find(*, organisation_id: int, text: str) -> Item | None:
    """The organisation's object a manager names at the counter: its number ("123", "n° 123"),
    the code of its label, or the address its QR code holds. None for anything else,
    another organisation's object included."""
    typed = text.strip()
    tail = _SHORT_URL_TAIL.search(typed)
    digits = typed.removeprefix("n°").removeprefix("N°").strip()
    items = Item.objects.select_related("campaign").filter(campaign__organisation_id=organisation_id)
    if tail is None and digits.isascii() and digits.isdigit() and len(digits) <= 12:
        return items.filter(pk=int(digits)).first()
    short_code = short_code_resolve(code=tail.group(1) if tail else typed)
    if short_code is None:
        return None
    placement = short_code.placement
    item_id = short_code.item_id or (placement.item_id if placement is not None else None)
    return items.filter(pk=item_id).first() if item_id else None


@dataclass(frozen=True)
class CounterDay:
    """One organisation's day at the counter: every entry (cancelled ones too, marked), and the
    totals of what stands, by means of payment and by kind."""

    organisation_id: int
    day: date
    entries: list[CounterEntry]
    by_means: dict[str, int]
    by_kind: dict[str, int]
    total_cents: int
    count: int
    cancelled_count: int


def counter_entry_amount(entry: CounterEntry) -> int:
    return entry.gift.amount_cents if entry.gift is not None else entry.order.amount_cents  # type: ignore[union-attr]


def counter_day(*, organisation_id: int, day: date) -> CounterDay:
    """The day's entries in the order they were recorded, in a fixed number of queries."""
    entries = list(
        CounterEntry.objects.filter(organisation_id=organisation_id, day=day)
        .select_related("order", "gift__campaign", "recorded_by", "cancelled_by")
        .prefetch_related(Prefetch("order__lines", OrderLine.objects.select_related("item", "campaign")))
        .order_by("recorded_at", "id")
    )
    by_means = dict.fromkeys(CounterEntry.Means.values, 0)
    by_kind = dict.fromkeys(CounterEntry.Kind.values, 0)
    standing = [entry for entry in entries if entry.cancelled_at is None]
    for entry in standing:
        by_means[entry.means] += counter_entry_amount(entry)
        by_kind[entry.kind] += counter_entry_amount(entry)
    return CounterDay(
        organisation_id=organisation_id,
        day=day,
        entries=entries,
        by_means=by_means,
        by_kind=by_kind,
        total_cents=sum(by_means.values()),
        count=len(standing),
        cancelled_count=len(entries) - len(standing),
    )
