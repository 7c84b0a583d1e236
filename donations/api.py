from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api import absolute
from campaigns.models import Campaign
from donations.models import Item, ItemPhoto, ItemStatus
from donations.selectors import item_search, item_visible_queryset
from donations.services import order_start
from payments.api import CheckoutInputSerializer, CheckoutOutputSerializer, signed_in
from payments.throttles import payment_attempt_check
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
        return None


class ItemFilterSerializer(serializers.Serializer):
    campaign = serializers.SlugField(required=False)
    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False)
    q = serializers.CharField(required=False, max_length=100, trim_whitespace=True)

    default_error_messages = {"invalid": _("Filtre invalide.")}


@extend_schema_view(list=extend_schema(parameters=[ItemFilterSerializer]))
class ItemViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ItemSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        user = self.request.user
        queryset = item_visible_queryset(user=user if user.is_authenticated else None)  # type: ignore[arg-type]
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
        payment_attempt_check(client_key=client_key(request), email=data.validated_data["email"])
        order = order_start(
            item_id=int(pk or 0),
            email=data.validated_data["email"],
            user=signed_in(request),
            client_key=client_key(request),
        )
        body = {"order_id": order.pk, "checkout_url": order.checkout_url, "expires_at": order.expires_at}
        return Response(CheckoutOutputSerializer(body).data, status=status.HTTP_201_CREATED)
