from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import Campaign, Organisation
from campaigns.selectors import campaign_public_queryset
from payments.api import GiftInputSerializer, GiftOutputSerializer


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
        return None


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
        return campaign_public_queryset()

    @extend_schema(request=GiftInputSerializer, responses={201: GiftOutputSerializer})
    @action(detail=True, methods=["post"])
    def gifts(self, request: Request, slug: str | None = None) -> Response:
        """Give money to the campaign; the gift counts once the payment is confirmed."""
        from donations.services import gift_start
        from payments.api import signed_in
        from payments.throttles import payment_attempt_check
        from tremma.net import client_key

        data = GiftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment_attempt_check(client_key=client_key(request), email=data.validated_data["email"])
        gift = gift_start(campaign_slug=slug or "", user=signed_in(request), **data.validated_data)
        body = {"gift_id": gift.pk, "checkout_url": gift.checkout_url}
        return Response(GiftOutputSerializer(body).data, status=status.HTTP_201_CREATED)
