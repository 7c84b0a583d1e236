from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets

from campaigns.models import Campaign, Organisation
from campaigns.selectors import campaign_public_queryset
from qr.fields import ShortCodeListSerializer, short_url_of


class OrganisationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ("slug", "name")


class CampaignSerializer(serializers.ModelSerializer):
    organisation = OrganisationRefSerializer(read_only=True)
    raised_cents = serializers.IntegerField(read_only=True)
    backers_count = serializers.IntegerField(read_only=True)
    cover_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    short_url = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        list_serializer_class = ShortCodeListSerializer
        fields = (
            "slug",
            "title",
            "summary",
            "organisation",
            "goal_cents",
            "raised_cents",
            "currency",
            "backers_count",
            "status",
            "starts_at",
            "ends_at",
            "cover_url",
            "url",
            "short_url",
        )

    def get_cover_url(self, campaign: Campaign) -> str | None:
        if not campaign.cover:
            return None
        return absolute(self.context, campaign.cover.url)

    def get_url(self, campaign: Campaign) -> str:
        return absolute(self.context, campaign.get_absolute_url())

    def get_short_url(self, campaign: Campaign) -> str | None:
        return short_url_of(campaign)


def absolute(context: dict[str, Any], url: str) -> str:
    """An absolute URL: storage URLs on S3 already are; local ones get the request's host."""
    if url.startswith(("http://", "https://")):
        return url
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CampaignSerializer
    lookup_field = "slug"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return campaign_public_queryset().select_related("short_code")
