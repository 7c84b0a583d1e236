"""``GET /api/orders/{id}/``: an order and how each of its parts travels, for its buyer and for
those who ship it.

Who sees what:

- The buyer, with no account: the header ``X-Order-Token`` carrying the token of their order
  page — the secret of any of the order's claim pages (``/retrait/<token>/``), all sent in the
  confirmation email. A signed-in buyer (the order's account) needs no header. They see every
  part, never a label.
- A member of an organisation (any role, as for a hand-over) sees their organisation's parts
  only, with their labels; a private giver their own parcel, with its label.
- Anyone else, a forged token or another order's: 404, the answer of an order that does not
  exist, so that neither ids nor tokens can be probed."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from campaigns.serializers import OrganisationRefSerializer
from checkout.services.parcels import PARCEL_METHODS, user_may_ship
from donations.models import Fulfilment, Order, OrderLine
from kernel.errors import NotFound
from kernel.schema import errors

# A claim token as new_claim_token makes them (URL-safe base64); anything else is not looked up.
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class ShipmentLineSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    title = serializers.CharField(source="item.title")
    amount_cents = serializers.IntegerField()
    refunded_cents = serializers.IntegerField()


class ShipmentSerializer(serializers.Serializer):
    fulfilment_id = serializers.IntegerField(source="pk")
    organisation = OrganisationRefSerializer()
    method = serializers.CharField(help_text="collection, relay or home")
    status = serializers.CharField(
        help_text="a parcel's: to_ship, shipped, in_transit, delivered, returned, cancelled; "
        "a collection's: to_collect or handed_over"
    )
    tracking_number = serializers.CharField()
    relay_point = serializers.DictField(allow_null=True)
    shipping_cents = serializers.IntegerField()
    ship_by = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    returned_at = serializers.DateTimeField(allow_null=True)
    label_url = serializers.CharField(
        allow_null=True, help_text="the label's PDF, only to whoever ships the parcel, once made"
    )
    lines = ShipmentLineSerializer(many=True)


class OrderDetailSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    status = serializers.CharField()
    currency = serializers.CharField()
    items_cents = serializers.IntegerField(help_text="of the parts shown")
    shipping_cents = serializers.IntegerField(help_text="of the parts shown")
    total_cents = serializers.IntegerField(help_text="items_cents + shipping_cents")
    shipments = ShipmentSerializer(many=True)


def _visible_parts(order: Order, request: Request) -> tuple[list[Fulfilment], User | None]:
    """The parts of ``order`` the caller may see, and the person who may ship some of them."""
    parts = list(
        order.fulfilments.select_related("organisation")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("item").order_by("pk")))
        .order_by("pk")
    )
    token = request.headers.get("X-Order-Token", "")
    user: User | None = request.user if request.user.is_authenticated else None  # type: ignore[assignment]
    if token and TOKEN.fullmatch(token) and any(secrets.compare_digest(part.claim_token, token) for part in parts):
        return parts, None
    if user is not None and order.user_id == user.pk:
        return parts, None
    if user is None:
        return [], None
    members_of = set(organisations_user_may(user, Permission.HAND_OVER).values_list("pk", flat=True))
    mine = [
        part
        for part in parts
        if (part.giver_id == user.pk) or (part.giver_id is None and part.organisation_id in members_of)
    ]
    return mine, user


def _status(part: Fulfilment) -> str:
    if part.method in PARCEL_METHODS:
        return part.shipment_status
    return "handed_over" if part.handed_over_at else "to_collect"


class OrderDetailView(APIView):
    """``GET /api/orders/{id}/``: the order's parts and how each travels (module docstring: who sees what)."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "X-Order-Token",
                {"type": "string", "maxLength": 64},
                OpenApiParameter.HEADER,
                required=False,
                description="the buyer's order token (the secret of a claim page of the order)",
            )
        ],
        responses={200: OrderDetailSerializer, **errors(404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        order = Order.objects.filter(pk=pk).first()
        parts, shipper = _visible_parts(order, request) if order is not None else ([], None)
        if order is None or not parts:
            raise NotFound(f"order {pk}")
        shipments: list[dict[str, Any]] = []
        for part in parts:
            lines = list(part.lines.all())
            ships = shipper is not None and part.method in PARCEL_METHODS and user_may_ship(shipper, part)
            shipments.append(
                {
                    "pk": part.pk,
                    "organisation": part.organisation,
                    "method": part.method,
                    "status": _status(part),
                    "tracking_number": part.tracking_number,
                    "relay_point": part.relay_point or None,
                    "shipping_cents": part.shipping_cents,
                    "ship_by": part.ship_by,
                    "shipped_at": part.shipped_at,
                    "delivered_at": part.delivered_at,
                    "returned_at": part.returned_at,
                    "label_url": reverse("checkout:parcel-label", args=[part.pk]) if ships and part.label else None,
                    "lines": lines,
                    "items_cents": sum(line.amount_cents for line in lines),
                }
            )
        items = sum(shipment["items_cents"] for shipment in shipments)
        shipping = sum(part.shipping_cents for part in parts)
        body = {
            "order_id": order.pk,
            "status": order.status,
            "currency": order.currency,
            "items_cents": items,
            "shipping_cents": shipping,
            "total_cents": items + shipping,
            "shipments": shipments,
        }
        response = Response(OrderDetailSerializer(body).data)
        response["Cache-Control"] = "private, no-store"
        return response
