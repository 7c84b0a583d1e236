"""Saved searches over the API: ``POST /api/alerts/`` with the catalogue's own filters
(those of ``GET /api/items/``), ``GET /api/alerts/`` and ``DELETE /api/alerts/{id}/``,
the caller's own only. It lives here because it validates with the catalogue's filter
serializer; the rules and the emails are the alerts room's (alerts.services)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.permissions import EmailVerified
from alerts import services
from alerts.models import Alert
from alerts.selectors import alerts_of
from kernel.api import ID_IN_URL
from kernel.schema import errors
from pages.api.items import ItemFilterSerializer


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = ("id", "filters", "label", "created_at")


@extend_schema_view(
    list=extend_schema(responses=AlertSerializer(many=True)),
    create=extend_schema(
        request=ItemFilterSerializer,
        responses={
            201: AlertSerializer,
            200: OpenApiResponse(AlertSerializer, description="The same search was saved already: that alert."),
            **errors(403),
        },
    ),
    destroy=extend_schema(responses={204: OpenApiResponse(description="Deleted"), **errors(404)}),
)
class AlertViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The signed-in person's saved searches; saving one needs a verified address."""

    serializer_class = AlertSerializer
    lookup_value_regex = ID_IN_URL
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_permissions(self) -> list[Any]:
        if self.action == "create":
            return [IsAuthenticated(), EmailVerified()]
        return [IsAuthenticated()]

    def get_queryset(self) -> QuerySet[Alert]:
        return alerts_of(user=self.request.user)  # type: ignore[arg-type]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = ItemFilterSerializer(data=request.data)
        filters.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        alert, created = services.alert_create(
            user=user, filters=dict(filters.validated_data), language=translation.get_language()
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(AlertSerializer(alert).data, status=code)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user: User = request.user  # type: ignore[assignment]
        services.alert_delete(user=user, alert_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
