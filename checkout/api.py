"""The JSON endpoints of the order lifecycle: checkout of an item, gift to a
campaign, hand-over of an organisation's part of an order, refunds (of a
payment, or of one line of an order). Thin: validate, call one
service, shape the answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.requests import signed_in
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from campaigns.serializers import OrganisationRefSerializer
from checkout.services import (
    MAX_REFUND_CENTS,
    claim_code_normalise,
    fulfilment_hand_over,
    gift_start,
    order_start,
    payment_refund,
    tip_max_cents,
    tip_refused_text,
)
from checkout.throttles import payment_attempt_check
from donations.models import Fulfilment
from kernel.api import SLUG_IN_URL
from kernel.countries import DEFAULT_COUNTRY, CountryCodeField
from kernel.errors import NotFound
from kernel.fields import CentsField
from kernel.money import CentsRange
from kernel.net import client_key
from kernel.schema import errors
from receipts.details import ReceiptDetails, receipt_details_clean


class CheckoutInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class CheckoutOutputSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    checkout_url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class GiftReceiptSerializer(serializers.Serializer):
    """``receipt``: the name and postal address the tax receipt is issued to (no account needed).
    The fields are declared for the schema; receipts.details validates them, as on the page."""

    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    address_line1 = serializers.CharField(max_length=200)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=12)
    city = serializers.CharField(max_length=100)
    country = CountryCodeField(required=False, default=DEFAULT_COUNTRY)

    def to_internal_value(self, data: Any) -> ReceiptDetails:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                [_("Indiquez les nom, prénoms et adresse du reçu fiscal, champ par champ.")]
            )
        details, errors = receipt_details_clean(data)
        if details is None:
            raise serializers.ValidationError(errors)
        return details


class GiftInputSerializer(serializers.Serializer):
    # The bounds in force at start-up, for the schema; validate_amount_cents reads them at each request.
    amount_cents = CentsField(
        limits=CentsRange(settings.GIFT_MIN_CENTS, settings.GIFT_MAX_CENTS),
        error_messages={
            "min_value": _("Le don minimum est de 1 €."),
            "max_value": _("Ce montant dépasse le maximum autorisé pour un don en ligne."),
        },
    )
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    anonymous = serializers.BooleanField(required=False, default=False)
    message = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    receipt = GiftReceiptSerializer(required=False, allow_null=True, default=None)
    tip_cents = CentsField(
        limits=CentsRange(0, settings.TIP_MAX_CENTS),
        required=False,
        default=0,
        error_messages={
            "min_value": _("La contribution aux frais de Trëmma ne peut pas être négative."),
            "max_value": _(
                "La contribution aux frais de Trëmma ne peut pas dépasser le montant du don, ni le maximum autorisé."
            ),
        },
        help_text=(
            "a voluntary contribution to Trëmma's costs (0 by default), paid in the same payment, never the "
            "campaign's and never receipted; at most the gift's amount and TIP_MAX_CENTS"
        ),
    )

    def validate_amount_cents(self, value: int) -> int:
        if value < settings.GIFT_MIN_CENTS:
            raise serializers.ValidationError(_("Le don minimum est de 1 €."))
        if value > settings.GIFT_MAX_CENTS:
            raise serializers.ValidationError(_("Ce montant dépasse le maximum autorisé pour un don en ligne."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Read at each request (the setting may change); the gift's own amount bounds it too.
        tip = attrs.get("tip_cents", 0)
        if not 0 <= tip <= tip_max_cents(attrs["amount_cents"]):
            raise serializers.ValidationError({"tip_cents": [tip_refused_text()]})
        return attrs


class GiftOutputSerializer(serializers.Serializer):
    gift_id = serializers.IntegerField()
    checkout_url = serializers.URLField()


class RefundInputSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_REFUND_CENTS, allow_null=True, default=None
    )
    reason = serializers.CharField(max_length=300)


class RefundOutputSerializer(serializers.Serializer):
    refund_id = serializers.IntegerField(source="pk")
    amount_cents = serializers.IntegerField()
    status = serializers.CharField()


class OrderRefundInputSerializer(RefundInputSerializer):
    line = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        allow_null=True,
        default=None,
        help_text="one line of the order (its item's price, or part of it); absent: the order as a whole",
    )


class OrderRefundView(APIView):
    """``POST /api/orders/{id}/refund/``: treasurers and admins of the organisation. With ``line``,
    one line of the order; another organisation's line answers as a missing one (404)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=OrderRefundInputSerializer, responses={201: RefundOutputSerializer, **errors(409, 503)})
    def post(self, request: Request, pk: int) -> Response:
        data = OrderRefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = payment_refund(
            actor=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
            amount_cents=data.validated_data["amount_cents"],
            order_id=pk,
            line_id=data.validated_data["line"],
        )
        return Response(RefundOutputSerializer(refund).data, status=status.HTTP_201_CREATED)


class GiftRefundView(APIView):
    """``POST /api/gifts/{id}/refund/``: treasurers and admins of the organisation."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=RefundInputSerializer, responses={201: RefundOutputSerializer, **errors(409, 503)})
    def post(self, request: Request, pk: int) -> Response:
        data = RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = payment_refund(
            actor=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
            amount_cents=data.validated_data["amount_cents"],
            gift_id=pk,
        )
        return Response(RefundOutputSerializer(refund).data, status=status.HTTP_201_CREATED)


class ItemCheckoutView(APIView):
    """``POST /api/items/{id}/checkout/``: anyone, no account needed."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="items_checkout_create",
        request=CheckoutInputSerializer,
        responses={
            201: CheckoutOutputSerializer,
            **errors(409, 429, 503, e409="item_unavailable: the item is reserved or sold"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Reserve the item for the buyer and open the payment; 409 item_unavailable when taken."""
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment_attempt_check(client_key=client_key(request), email=data.validated_data["email"])
        order = order_start(
            item_id=pk,
            email=data.validated_data["email"],
            user=signed_in(request),
            client_key=client_key(request),
        )
        body = {"order_id": order.pk, "checkout_url": order.checkout_url, "expires_at": order.expires_at}
        return Response(CheckoutOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class CampaignGiftView(APIView):
    """``POST /api/campaigns/{slug}/gifts/``: anyone, no account needed."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="campaigns_gifts_create",
        parameters=[
            OpenApiParameter(
                "slug", {"type": "string", "maxLength": 80, "pattern": f"^{SLUG_IN_URL}$"}, OpenApiParameter.PATH
            )
        ],
        request=GiftInputSerializer,
        responses={201: GiftOutputSerializer, **errors(429, 503)},
    )
    def post(self, request: Request, slug: str) -> Response:
        """Give money to the campaign; the gift counts once the payment is confirmed."""
        data = GiftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payment_attempt_check(client_key=client_key(request), email=data.validated_data["email"])
        gift = gift_start(campaign_slug=slug, user=signed_in(request), **data.validated_data)
        body = {"gift_id": gift.pk, "checkout_url": gift.checkout_url}
        return Response(GiftOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class HandOverInputSerializer(serializers.Serializer):
    claim_code = serializers.CharField(max_length=20)


class HandOverOutputSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    fulfilment_id = serializers.IntegerField(source="pk")
    organisation = OrganisationRefSerializer()
    items = serializers.ListField(child=serializers.IntegerField(), help_text="the ids of the objects handed over")
    handed_over_at = serializers.DateTimeField()


class OrderHandOverView(APIView):
    """``POST /api/orders/{id}/hand-over/`` with the buyer's ``claim_code``: members of the organisation
    (any role) hand over their organisation's part of the order (its fulfilment); another
    organisation's part of the same basket stays as it is."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=HandOverInputSerializer, responses={200: HandOverOutputSerializer, **errors(409)})
    def post(self, request: Request, pk: int) -> Response:
        data = HandOverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        fulfilment = _fulfilment_to_hand_over(order_id=pk, user=user, claim_code=data.validated_data["claim_code"])
        fulfilment = fulfilment_hand_over(
            fulfilment=fulfilment, claim_code=data.validated_data["claim_code"], actor=user
        )
        body = {
            "order_id": fulfilment.order_id,
            "pk": fulfilment.pk,
            "organisation": fulfilment.organisation,
            "items": sorted(fulfilment.lines.values_list("item_id", flat=True)),
            "handed_over_at": fulfilment.handed_over_at,
        }
        return Response(HandOverOutputSerializer(body).data)


def _fulfilment_to_hand_over(*, order_id: int, user: User, claim_code: str) -> Fulfilment:
    """The caller's organisation's part of the order. Someone at two organisations of the same
    basket hands over the part whose code they typed (else the first, which the service refuses
    for its code). Not a member of any: the answer of a missing order, so ids are no hint."""
    fulfilments = Fulfilment.objects.select_related("organisation").filter(order_id=order_id).order_by("id")
    if not user.is_superuser:
        fulfilments = fulfilments.filter(organisation__in=organisations_user_may(user, Permission.HAND_OVER))
    found = list(fulfilments)
    if not found:
        raise NotFound(f"order {order_id}")
    code = claim_code_normalise(claim_code)
    return next((fulfilment for fulfilment in found if code and fulfilment.claim_code == code), found[0])
