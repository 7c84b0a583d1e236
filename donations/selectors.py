"""Reads on items, in a fixed number of queries whatever the page size."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, When

from accounts.models import User
from donations.models import PUBLIC_STATUSES, Item, ItemPhoto, ItemStatus


def item_visible_queryset(*, user: User | None) -> QuerySet[Item]:
    """Items ``user`` may see: public ones for everybody, plus their own."""
    visible = Q(status__in=PUBLIC_STATUSES)
    if user is not None and user.is_authenticated:
        visible |= Q(owner=user)
    return (
        Item.objects.filter(visible)
        .select_related("campaign", "campaign__organisation")
        .prefetch_related(Prefetch("photos", queryset=ItemPhoto.objects.order_by("position", "id")))
    )


def item_search(
    queryset: QuerySet[Item],
    *,
    campaign: str | None = None,
    status: str | None = None,
    q: str | None = None,
    window: int | None = None,
) -> QuerySet[Item]:
    if window is not None:
        # Items currently placed in that shop window (qr.Placement; one current row per item and window).
        queryset = queryset.filter(placements__window_id=window, placements__removed_at__isnull=True)
    if campaign:
        queryset = queryset.filter(campaign__slug=campaign)
    if status:
        queryset = queryset.filter(status=status)
    if q:
        for word in q.split()[:8]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return queryset


def item_similar(*, item: Item, limit: int = 4) -> QuerySet[Item]:
    """Other items on sale for the same campaign, same category first: what a sold item's page offers."""
    return (
        Item.objects.filter(campaign_id=item.campaign_id, status=ItemStatus.LISTED)
        .exclude(pk=item.pk)
        .select_related("campaign")
        .prefetch_related(Prefetch("photos", queryset=ItemPhoto.objects.order_by("position", "id")))
        .annotate(same_category=Case(When(category=item.category, then=0), default=1, output_field=IntegerField()))
        .order_by("same_category", "-created_at", "-id")[:limit]
    )
