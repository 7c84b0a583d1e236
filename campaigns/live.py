"""Who may watch the campaigns' live streams: a public campaign's, and the
managers' dashboard (the streams of the organisations they belong to)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from campaigns.models import Campaign
from campaigns.permissions import Permission
from campaigns.selectors import PUBLIC_CAMPAIGN_STATUSES, organisations_user_may
from realtime import streams as s
from realtime.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHORISED, StreamConsumer


class CampaignStreamConsumer(StreamConsumer):
    async def resolve_streams(self) -> list[str] | int:
        pk = await _public_campaign_id(self.scope["url_route"]["kwargs"]["slug"])
        return [s.campaign_stream(pk)] if pk is not None else CLOSE_NOT_FOUND


class DashboardConsumer(StreamConsumer):
    """Members only (every role may watch it), and only the streams of their own organisations."""

    async def resolve_streams(self) -> list[str] | int:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHORISED
        organisation_ids = await _managed_organisation_ids(user)
        if not organisation_ids:
            return CLOSE_FORBIDDEN
        return [s.organisation_stream(pk) for pk in organisation_ids]


@database_sync_to_async
def _public_campaign_id(slug: str) -> int | None:
    campaigns = Campaign.objects.filter(slug=slug, status__in=PUBLIC_CAMPAIGN_STATUSES)
    return campaigns.values_list("id", flat=True).first()


@database_sync_to_async
def _managed_organisation_ids(user: Any) -> list[int]:
    return sorted(organisations_user_may(user, Permission.DASHBOARD).values_list("id", flat=True))
