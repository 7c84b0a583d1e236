"""The windows of API.md: ``GET /api/windows/`` (on display now) and ``GET /api/windows/{id}/``."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers, viewsets

from campaigns.api import OrganisationRefSerializer, absolute
from qr.models import Placement, Window
from qr.selectors import short_url, window_public_queryset
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
