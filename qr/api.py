"""The public windows API: ``GET /api/windows/`` (on display now) and ``GET /api/windows/{id}/``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.serializers import OrganisationRefSerializer
from kernel.api import absolute
from kernel.money import CURRENCY
from qr import selectors
from qr.models import Placement, Window
from qr.selectors import FUNNEL_DAYS, Funnel, short_url, window_managed_queryset, window_public_queryset
from qr.services import short_codes_ensure


class PlacementSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id", read_only=True)
    short_url = serializers.SerializerMethodField()

    class Meta:
        model = Placement
        fields = ("item", "short_url", "position")

    def get_short_url(self, placement: Placement) -> str:
        return short_url(placement.short_code)


class WindowSerializer(serializers.ModelSerializer):
    organisation = OrganisationRefSerializer(read_only=True)
    placements = PlacementSerializer(source="current_placements", many=True, read_only=True)
    screen_url = serializers.SerializerMethodField()
    sheet_url = serializers.SerializerMethodField()

    class Meta:
        model = Window
        fields = ("id", "name", "place", "organisation", "placements", "screen_url", "sheet_url")

    def to_representation(self, window: Window) -> dict[str, Any]:
        # Placements added outside the services (admin) get their code here, in one batch.
        short_codes_ensure(targets=window.current_placements)  # type: ignore[attr-defined]
        return super().to_representation(window)

    def get_screen_url(self, window: Window) -> str:
        return absolute(self.context, reverse("qr:window-screen", kwargs={"pk": window.pk}))

    def get_sheet_url(self, window: Window) -> str:
        return absolute(self.context, reverse("qr:window-sheet", kwargs={"pk": window.pk}))


class WindowViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = WindowSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return window_public_queryset()


class FunnelRowSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id", allow_null=True)
    title = serializers.CharField()
    price_cents = serializers.IntegerField()
    scans = serializers.IntegerField()
    visitors = serializers.IntegerField()
    sold = serializers.BooleanField()
    sold_cents = serializers.IntegerField()


class FunnelHourSerializer(serializers.Serializer):
    hour = serializers.DateTimeField()
    scans = serializers.IntegerField()
    sales = serializers.IntegerField()


class FunnelSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    scans = serializers.IntegerField()
    sales = serializers.IntegerField()
    sold_cents = serializers.IntegerField()
    currency = serializers.SerializerMethodField()
    items = FunnelRowSerializer(source="rows", many=True)
    hours = FunnelHourSerializer(many=True)

    def get_currency(self, funnel: Funnel) -> str:
        return CURRENCY


class FunnelQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, default=7, min_value=FUNNEL_DAYS[0], max_value=FUNNEL_DAYS[1])


@extend_schema(parameters=[FunnelQuerySerializer], responses=FunnelSerializer)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def window_funnel(request: Request, pk: int) -> Response:
    """Scans and sales of a window of the caller's organisations, per item and per hour."""
    query = FunnelQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    window = window_managed_queryset(user=request.user).filter(pk=pk).first()  # type: ignore[arg-type]
    if window is None:
        raise NotFound
    until = timezone.now()
    funnel = selectors.window_funnel(
        window=window, since=until - timedelta(days=query.validated_data["days"]), until=until
    )
    return Response(FunnelSerializer(funnel).data)
