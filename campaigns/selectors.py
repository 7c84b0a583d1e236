"""Reads on organisations and campaigns, in a fixed number of queries."""

from __future__ import annotations

from django.db.models import IntegerField, QuerySet, Value

from campaigns.models import Campaign

PUBLIC_CAMPAIGN_STATUSES = (Campaign.Status.LIVE, Campaign.Status.CLOSED)


def campaign_public_queryset() -> QuerySet[Campaign]:
    """Campaigns anyone may see, each annotated with ``raised_cents`` and ``backers_count``.

    Both are 0 until the ledger exists (payments); they are annotations so the
    list stays one query whatever its length.
    """
    return (
        Campaign.objects.filter(status__in=PUBLIC_CAMPAIGN_STATUSES)
        .select_related("organisation")
        .annotate(
            raised_cents=Value(0, output_field=IntegerField()),
            backers_count=Value(0, output_field=IntegerField()),
        )
        .order_by("status", "-starts_at", "id")
    )
