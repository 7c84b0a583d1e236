"""Reads on short codes and windows, in a fixed number of queries."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign, Organisation
from campaigns.selectors import campaign_public_queryset
from donations.models import PUBLIC_STATUSES, Item, ItemPhoto, ItemStatus
from qr.models import CODE_ALPHABET, Placement, ShortCode, Window


def normalise_code(raw: str) -> str | None:
    """The stored form of a code typed or scanned (case-insensitive), or None if it cannot be one."""
    code = raw.strip().upper()
    if not 4 <= len(code) <= 16 or any(char not in CODE_ALPHABET for char in code):
        return None
    return code


def short_code_resolve(*, code: str) -> ShortCode | None:
    """The code with its target (and a placement's item and window) in one query."""
    normalised = normalise_code(code)
    if normalised is None:
        return None
    return (
        ShortCode.objects.select_related(
            "item__campaign", "campaign", "window", "placement__item__campaign", "placement__window"
        )
        .filter(code=normalised)
        .first()
    )


def short_code_destination(*, short_code: ShortCode) -> str:
    """The page a scan of ``short_code`` lands on."""
    target = short_code.target
    if isinstance(target, Campaign | Window):
        return target.get_absolute_url()
    item = target.item if isinstance(target, Placement) else target
    if item.status not in PUBLIC_STATUSES:
        # Handed over, withdrawn…: the item has no public page any more, its project still has one.
        return item.campaign.get_absolute_url()
    return item.get_absolute_url()


def short_url(code: ShortCode | str) -> str:
    """The absolute short URL of a code: what its QR image encodes."""
    text = code if isinstance(code, str) else code.code
    return f"{settings.SITE_URL}/q/{text}"


# --- windows ----------------------------------------------------------------


def _current() -> Q:
    now = timezone.now()
    return Q(is_active=True, starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def current_placements() -> Prefetch:
    """A window's placements still in it, items public, in order, each with its code and item."""
    return Prefetch(
        "placements",
        queryset=Placement.objects.filter(removed_at__isnull=True, item__status__in=PUBLIC_STATUSES)
        .select_related("short_code", "item", "item__campaign")
        .prefetch_related(Prefetch("item__photos", queryset=ItemPhoto.objects.order_by("position", "id")))
        .order_by("position", "id"),
        to_attr="current_placements",
    )


def window_public_queryset() -> QuerySet[Window]:
    """Windows on display now (active, between their dates), with their current placements."""
    return (
        Window.objects.filter(_current())
        .select_related("organisation", "short_code")
        .prefetch_related(current_placements())
        .order_by("-starts_at", "id")
    )


def managed_organisations(*, user: User) -> QuerySet[Organisation]:
    """The organisations ``user`` manages: the one rule that scopes every manager page."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(memberships__user=user).distinct()


def window_managed_queryset(*, user: User) -> QuerySet[Window]:
    """Windows of the organisations ``user`` manages, whatever their dates."""
    return (
        Window.objects.filter(organisation__in=managed_organisations(user=user))
        .select_related("organisation", "short_code")
        .prefetch_related(current_placements())
        .order_by("-starts_at", "id")
    )


def window_visible_to(*, user: User | None, pk: int) -> Window | None:
    """A window on display now, or any window of an organisation ``user`` manages."""
    window = window_public_queryset().filter(pk=pk).first()
    if window is None and user is not None and user.is_authenticated:
        window = window_managed_queryset(user=user).filter(pk=pk).first()
    return window


def window_placeable_items(*, window: Window) -> QuerySet[Item]:
    """Listed items of the window's organisation that are not in the window yet."""
    return (
        Item.objects.filter(status=ItemStatus.LISTED, campaign__organisation_id=window.organisation_id)
        .exclude(placements__window=window, placements__removed_at__isnull=True)
        .select_related("campaign")
        .order_by("title", "id")
    )


def campaigns_progress(*, campaign_ids: set[int]) -> dict[int, Campaign]:
    """Campaigns with ``raised_cents`` (from the campaigns selector, so from the ledger when it lands)."""
    return {campaign.pk: campaign for campaign in campaign_public_queryset().filter(pk__in=campaign_ids)}
