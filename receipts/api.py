"""The API of tax receipts: the signed-in person's receipts and preference,
and the cancellation of a receipt by an organisation's admins."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import EmailVerified
from campaigns.serializers import OrganisationRefSerializer
from kernel.schema import errors
from receipts.changes import receipt_cancel, receipt_preference_set
from receipts.delivery import receipt_pdf_link
from receipts.models import ReceiptPreference, TaxReceipt
from receipts.selectors import receipts_of, receipts_waiting_for


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
    """``GET /api/me/receipts/``: the person's tax receipts, issued and cancelled
    (``403 {"code": "email_unverified"}`` until the person's address is verified)."""

    permission_classes = [IsAuthenticated, EmailVerified]
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

    @extend_schema(request=ReceiptCancelInputSerializer, responses={200: ReceiptCancelOutputSerializer, **errors(409)})
    def post(self, request: Request, pk: int) -> Response:
        data = ReceiptCancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = receipt_cancel(receipt_id=pk, actor=request.user, reason=data.validated_data["reason"])  # type: ignore[arg-type]
        return Response(ReceiptCancelOutputSerializer(receipt).data)
