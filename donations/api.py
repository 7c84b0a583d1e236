from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from campaigns.api import OrganisationRefSerializer, absolute
from campaigns.models import Campaign
from donations.models import Item, ItemPhoto, ItemStatus, Order, ReceiptPreference, TaxReceipt
from donations.receipt_delivery import receipt_pdf_link
from donations.receipts import receipt_cancel, receipt_preference_set
from donations.selectors import item_search, item_visible_queryset, receipts_of, receipts_waiting_for
from donations.services import order_hand_over, order_start
from payments.api import CheckoutInputSerializer, CheckoutOutputSerializer, signed_in
from qr.fields import ShortCodeListSerializer, short_url_of
from tremma.errors import NotFound
from tremma.net import client_key


class CampaignRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ("slug", "title")


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ItemPhoto
        fields = ("url", "width", "height")

    def get_url(self, photo: ItemPhoto) -> str:
        return absolute(self.context, photo.image.url)


class ItemSerializer(serializers.ModelSerializer):
    campaign = CampaignRefSerializer(read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()
    short_url = serializers.SerializerMethodField()

    class Meta:
        model = Item
        list_serializer_class = ShortCodeListSerializer
        fields = (
            "id",
            "title",
            "description",
            "price_cents",
            "currency",
            "status",
            "condition",
            "category",
            "kind",
            "campaign",
            "photos",
            "url",
            "short_url",
        )

    def get_url(self, item: Item) -> str:
        return absolute(self.context, item.get_absolute_url())

    def get_short_url(self, item: Item) -> str | None:
        return short_url_of(item)


class ItemFilterSerializer(serializers.Serializer):
    campaign = serializers.SlugField(required=False)
    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False)
    q = serializers.CharField(required=False, max_length=100, trim_whitespace=True)
    window = serializers.IntegerField(required=False, min_value=1)

    default_error_messages = {"invalid": _("Filtre invalide.")}


@extend_schema_view(list=extend_schema(parameters=[ItemFilterSerializer]))
class ItemViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ItemSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        user = self.request.user
        queryset = item_visible_queryset(user=user if user.is_authenticated else None)  # type: ignore[arg-type]
        queryset = queryset.select_related("short_code")
        if self.action == "list":
            filters = ItemFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            queryset = item_search(queryset, **filters.validated_data)
        return queryset

    @extend_schema(request=CheckoutInputSerializer, responses={201: CheckoutOutputSerializer})
    @action(detail=True, methods=["post"])
    def checkout(self, request: Request, pk: str | None = None) -> Response:
        """Reserve the item for the buyer and open the payment; 409 item_unavailable when taken."""
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_start(
            item_id=int(pk or 0),
            email=data.validated_data["email"],
            user=signed_in(request),
            client_key=client_key(request),
        )
        body = {"order_id": order.pk, "checkout_url": order.checkout_url, "expires_at": order.expires_at}
        return Response(CheckoutOutputSerializer(body).data, status=status.HTTP_201_CREATED)


# --- Tax receipts of the signed-in person, and the hand-over of a sold object ------------------


class MyReceiptSerializer(serializers.ModelSerializer):
    organisation = OrganisationRefSerializer(read_only=True)
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = TaxReceipt
        fields = ("number", "issued_at", "amount_cents", "organisation", "status", "pdf_url")

    def get_pdf_url(self, receipt: TaxReceipt) -> str:
        """A signed, time-limited link: it works without a session (e.g. opened in a PDF viewer)."""
        return receipt_pdf_link(receipt=receipt)


class MyReceiptsView(generics.ListAPIView):
    """``GET /api/me/receipts/``: the person's tax receipts, issued and cancelled."""

    permission_classes = [IsAuthenticated]
    serializer_class = MyReceiptSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return receipts_of(user=self.request.user)  # type: ignore[arg-type]


class ReceiptsWaitingSerializer(serializers.Serializer):
    waiting = serializers.IntegerField(help_text="payments whose receipt waits for the person's details")
    missing = serializers.ListField(child=serializers.CharField(), help_text="profile fields (or 'account') to fill in")
    consolidated = serializers.BooleanField(help_text="one yearly receipt per organisation instead of one per gift")


class ReceiptPreferenceSerializer(serializers.Serializer):
    consolidated = serializers.BooleanField()


class MyReceiptsStatusView(APIView):
    """``GET /api/me/receipts/status/``: what the person's pending receipts wait
    for; ``PATCH`` with ``{consolidated}`` chooses yearly receipts."""

    permission_classes = [IsAuthenticated]

    def _body(self, user: User) -> dict[str, Any]:
        preference = ReceiptPreference.objects.filter(user=user).first()
        return {**receipts_waiting_for(user=user), "consolidated": bool(preference and preference.consolidated)}

    @extend_schema(responses=ReceiptsWaitingSerializer)
    def get(self, request: Request) -> Response:
        return Response(ReceiptsWaitingSerializer(self._body(request.user)).data)  # type: ignore[arg-type]

    @extend_schema(request=ReceiptPreferenceSerializer, responses=ReceiptsWaitingSerializer)
    def patch(self, request: Request) -> Response:
        data = ReceiptPreferenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt_preference_set(user=request.user, consolidated=data.validated_data["consolidated"])  # type: ignore[arg-type]
        return Response(ReceiptsWaitingSerializer(self._body(request.user)).data)  # type: ignore[arg-type]


class HandOverInputSerializer(serializers.Serializer):
    claim_code = serializers.CharField(max_length=20)


class HandOverOutputSerializer(serializers.Serializer):
    order_id = serializers.IntegerField(source="pk")
    item = serializers.IntegerField(source="item_id")
    handed_over_at = serializers.DateTimeField()


class OrderHandOverView(APIView):
    """``POST /api/orders/{id}/hand-over/`` with the buyer's ``claim_code``: managers of the organisation."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=HandOverInputSerializer, responses=HandOverOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = HandOverInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = Order.objects.filter(pk=pk).first()
        if order is None:
            raise NotFound(f"order {pk}")
        order = order_hand_over(order=order, claim_code=data.validated_data["claim_code"], actor=request.user)  # type: ignore[arg-type]
        return Response(HandOverOutputSerializer(order).data)


class ReceiptCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ReceiptCancelOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    cancelled_at = serializers.DateTimeField()
    cancellation_reason = serializers.CharField()


class ReceiptCancelView(APIView):
    """``POST /api/receipts/{id}/cancel/`` with a ``reason``: admins of the organisation only."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReceiptCancelInputSerializer, responses=ReceiptCancelOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = ReceiptCancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = receipt_cancel(receipt_id=pk, actor=request.user, reason=data.validated_data["reason"])  # type: ignore[arg-type]
        return Response(ReceiptCancelOutputSerializer(receipt).data)
