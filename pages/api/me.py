"""The signed-in person's gifts and purchases: ``GET /api/me/gifts/`` and
``GET /api/me/orders/`` (the lists of their space, ``/mon-compte/``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.serializers import OrganisationRefSerializer
from checkout.purchases import AWAITING_COLLECTION, HANDED_OVER, REFUNDED, purchase_lines, purchase_parts
from checkout.selectors import gifts_of, orders_of
from donations.models import Gift, Order
from pages.api.items import CampaignRefSerializer
from receipts.delivery import receipt_pdf_link
from receipts.models import TaxReceipt
from receipts.selectors import gift_receipts


class GiftReceiptSerializer(serializers.ModelSerializer):
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = TaxReceipt
        fields = ("number", "issued_at", "pdf_url")
        ref_name = "MyGiftReceipt"  # checkout.api has its own GiftReceipt (the receipt details a giver sends)

    def get_pdf_url(self, receipt: TaxReceipt) -> str:
        """A signed, time-limited link that works without a session."""
        return receipt_pdf_link(receipt=receipt)


class MyGiftSerializer(serializers.ModelSerializer):
    campaign = CampaignRefSerializer(read_only=True)
    organisation = OrganisationRefSerializer(source="campaign.organisation", read_only=True)
    receipt = serializers.SerializerMethodField(help_text="the issued tax receipt covering the gift, or null")

    class Meta:
        model = Gift
        fields = (
            "id",
            "amount_cents",
            "refunded_cents",
            "currency",
            "status",
            "campaign",
            "organisation",
            "paid_at",
            "receipt",
        )

    @extend_schema_field(GiftReceiptSerializer(allow_null=True))
    def get_receipt(self, gift: Gift) -> dict[str, Any] | None:
        receipt = self.context.get("receipts", {}).get(gift.pk)
        return GiftReceiptSerializer(receipt).data if receipt is not None else None  # type: ignore[return-value]


class MyOrderLineSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    title = serializers.CharField(source="item.title")
    campaign = CampaignRefSerializer()
    amount_cents = serializers.IntegerField()
    refunded_cents = serializers.IntegerField()


class MyFulfilmentSerializer(serializers.Serializer):
    organisation = OrganisationRefSerializer(source="fulfilment.organisation")
    status = serializers.ChoiceField(
        choices=[AWAITING_COLLECTION, HANDED_OVER, REFUNDED],
        help_text="awaiting_collection (paid, its objects wait at the organisation), handed_over or refunded",
    )
    claim_code = serializers.CharField(allow_null=True, help_text="while its objects wait to be collected, else null")
    claim_url = serializers.CharField(allow_null=True, help_text="its claim page, while its objects wait, else null")
    handed_over_at = serializers.DateTimeField(source="fulfilment.handed_over_at", allow_null=True)


class MyOrderSerializer(serializers.ModelSerializer):
    lines = serializers.SerializerMethodField(help_text="one per object bought")
    fulfilments = serializers.SerializerMethodField(help_text="one per organisation of the basket")

    class Meta:
        model = Order
        fields = (
            "id",
            "amount_cents",
            "refunded_cents",
            "currency",
            "status",
            "paid_at",
            "lines",
            "fulfilments",
        )

    @extend_schema_field(MyOrderLineSerializer(many=True))
    def get_lines(self, order: Order) -> list[dict[str, Any]]:
        return MyOrderLineSerializer(purchase_lines(order), many=True).data  # type: ignore[return-value]

    @extend_schema_field(MyFulfilmentSerializer(many=True))
    def get_fulfilments(self, order: Order) -> list[dict[str, Any]]:
        return MyFulfilmentSerializer(purchase_parts(order), many=True).data  # type: ignore[return-value]


class MyGiftsView(generics.ListAPIView):
    """``GET /api/me/gifts/``: the person's gifts, paid or refunded, newest first (guest gifts
    made with their address only once it is verified)."""

    permission_classes = [IsAuthenticated]
    serializer_class = MyGiftSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return gifts_of(user=self.request.user)  # type: ignore[arg-type]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = list(page or [])
        context = {**self.get_serializer_context(), "receipts": gift_receipts(gift_ids=[g.pk for g in rows])}
        return self.get_paginated_response(MyGiftSerializer(rows, many=True, context=context).data)


class MyOrdersView(generics.ListAPIView):
    """``GET /api/me/orders/``: the person's purchases, paid or refunded, newest first: each
    with its lines (the objects bought) and its fulfilments (one per organisation, with the
    claim code while its objects wait to be collected)."""

    permission_classes = [IsAuthenticated]
    serializer_class = MyOrderSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return orders_of(user=self.request.user)  # type: ignore[arg-type]
