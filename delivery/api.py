"""The delivery room's JSON endpoint: relay points near a postal code, for the
basket's picker. Thin: validate the postal code, ask the carrier (cached
briefly), shape the answer."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.carriers import CarrierError
from delivery.services import relay_points_near
from kernel.counters import count_in_window, seconds_left_in_window
from kernel.errors import DomainError
from kernel.net import client_key
from kernel.places import is_french_postal_code, normalise_postal_code
from kernel.schema import errors

logger = logging.getLogger(__name__)


class CarrierUnavailable(DomainError):
    status_code = 503
    code = "carrier_unavailable"
    default_detail = _("Le transporteur ne répond pas pour le moment. Réessayez dans un instant.")
    retry_after = 30


class TooManySearches(DomainError):
    status_code = 429
    code = "too_many_searches"
    default_detail = _("Trop de recherches de points relais. Réessayez dans une heure.")


SEARCH_WINDOW_SECONDS = 3600


def relay_search_count(request: Request) -> None:
    """Count one search per client address and hour: each uncached postal code is a call to the
    carrier (whose service has its own quotas), so a stranger walking every postal code is stopped."""
    key = client_key(request)
    if not key:
        return
    window = int(time.time()) // SEARCH_WINDOW_SECONDS
    if (
        count_in_window(f"tremma:relay:{key}:{window}", seconds=SEARCH_WINDOW_SECONDS)
        > settings.RELAY_SEARCHES_PER_CLIENT
    ):
        refused = TooManySearches(f"relay point searches over {settings.RELAY_SEARCHES_PER_CLIENT}/h")
        refused.retry_after = seconds_left_in_window(SEARCH_WINDOW_SECONDS)
        raise refused


class RelayPointsQuerySerializer(serializers.Serializer):
    postal_code = serializers.CharField(max_length=10, trim_whitespace=True, help_text="A French postal code: 75004")

    def validate_postal_code(self, value: str) -> str:
        code = normalise_postal_code(value)
        if not is_french_postal_code(code):
            raise serializers.ValidationError(
                _("Indiquez un code postal français à cinq chiffres (par exemple 75004).")
            )
        return code


class RelayPointSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    address_line1 = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()
    carrier = serializers.CharField()


class RelayPointsView(APIView):
    """The 20 relay points nearest a French postal code, nearest first (a plain list)."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []  # public and read-only: no session needed

    @extend_schema(
        parameters=[RelayPointsQuerySerializer],
        responses={200: RelayPointSerializer(many=True), **errors(429, 503)},
    )
    def get(self, request: Request) -> Response:
        query = RelayPointsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        relay_search_count(request)
        try:
            points = relay_points_near(postal_code=query.validated_data["postal_code"])
        except CarrierError as error:
            logger.warning("relay points near %s: %s", query.validated_data["postal_code"], error)
            raise CarrierUnavailable(str(error)) from None
        return Response(RelayPointSerializer(points, many=True).data)
