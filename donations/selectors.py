"""Reads on items, in a fixed number of queries whatever the page size."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
from donations.models import PUBLIC_STATUSES, Item, ItemPhoto


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
    queryset: QuerySet[Item], *, campaign: str | None = None, status: str | None = None, q: str | None = None
) -> QuerySet[Item]:
    if campaign:
        queryset = queryset.filter(campaign__slug=campaign)
    if status:
        queryset = queryset.filter(status=status)
    if q:
        for word in q.split()[:8]:
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return queryset
