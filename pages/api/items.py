from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.requests import signed_in
from campaigns.models import Campaign
from campaigns.serializers import OrganisationRefSerializer
from donations import services
from donations.models import DELIVERY_METHODS, ITEM_WEIGHT_GRAMS, Item, ItemPhoto, ItemStatus, ItemTransition
from donations.selectors import (
    item_search,
    item_visible_queryset,
    item_with_history,
    items_managed_by,
    items_owned_by,
    items_to_review,
)
from kernel.api import ID_IN_URL, MAX_ID, absolute
from kernel.fields import CentsField
from kernel.money import ITEM_PRICE
from kernel.parsers import FormParser, JSONParser, MultiPartParser
from kernel.photos import MAX_PHOTOS, PreparedPhoto, prepare_photos
from kernel.places import DEPARTMENTS, is_french_postal_code, normalise_postal_code
from kernel.schema import errors
from kernel.uploads import upload_count
from pages.api.catalogue import cached_before_drf, catalogue_list
from qr.fields import ShortCodeListSerializer, short_url_of


class CampaignRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ("slug", "title")


class PhotoSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    fallback_url = serializers.SerializerMethodField()

    class Meta:
        model = ItemPhoto
        fields = ("url", "width", "height", "fallback_url")

    def get_url(self, photo: ItemPhoto) -> str:
        return absolute(self.context, photo.image.url)

    def get_fallback_url(self, photo: ItemPhoto) -> str | None:
        return absolute(self.context, photo.fallback.url) if photo.fallback else None


class ItemSerializer(serializers.ModelSerializer):
    campaign = CampaignRefSerializer(read_only=True)
    # Read through the campaign (select_related by every item selector): no query per item.
    organisation = OrganisationRefSerializer(source="campaign.organisation", read_only=True)
    delivery_methods = serializers.ListField(child=serializers.ChoiceField(choices=DELIVERY_METHODS), read_only=True)
    photos = PhotoSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()
    short_url = serializers.SerializerMethodField()

    class Meta:
        model = Item
        list_serializer_class = ShortCodeListSerializer
        fields: tuple[str, ...] = (
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
            "organisation",
            "department",
            "weight_grams",
            "delivery_methods",
            "photos",
            "url",
            "short_url",
        )

    def get_url(self, item: Item) -> str:
        return absolute(self.context, item.get_absolute_url())

    def get_short_url(self, item: Item) -> str | None:
        return short_url_of(item)


class TransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ItemTransition
        fields = ("from_status", "to_status", "note", "at")


class OwnItemSerializer(ItemSerializer):
    """What the owner (or a reviewer) sees: the public fields plus the review outcome and the history."""

    history = TransitionSerializer(source="transitions", many=True, read_only=True)
    editable = serializers.SerializerMethodField()
    withdrawable = serializers.SerializerMethodField()

    class Meta(ItemSerializer.Meta):
        fields = (
            *ItemSerializer.Meta.fields,
            "postal_code",
            "rejection_reason",
            "ships",
            "handover",
            "handover_note",
            "received_at",
            "editable",
            "withdrawable",
            "history",
        )

    def get_editable(self, item: Item) -> bool:
        return item.status in services.OWNER_EDITABLE_STATUSES

    def get_withdrawable(self, item: Item) -> bool:
        return item.status in services.OWNER_WITHDRAWABLE_STATUSES


class DonorContactSerializer(serializers.Serializer):
    name = serializers.CharField(source="get_full_name")
    email = serializers.EmailField()
    address_line1 = serializers.CharField()
    address_line2 = serializers.CharField()
    postal_code = serializers.CharField()
    city = serializers.CharField()


class ManagedItemSerializer(OwnItemSerializer):
    """What a manager of the campaign's organisation sees: for a gift in kind
    to pick up, who gave it and where to fetch it."""

    donor_contact = serializers.SerializerMethodField()

    class Meta(OwnItemSerializer.Meta):
        fields = (*OwnItemSerializer.Meta.fields, "donor_contact")

    @extend_schema_field(DonorContactSerializer(allow_null=True))
    def get_donor_contact(self, item: Item) -> dict[str, Any] | None:
        if item.kind != Item.Kind.GIFT_IN_KIND or item.status != ItemStatus.ACCEPTED or item.donor is None:
            return None
        return DonorContactSerializer(item.donor).data  # type: ignore[return-value]


class ItemFilterSerializer(serializers.Serializer):
    """The catalogue's filters (``GET /api/items/``, the ``/objets/`` page, saved alerts)."""

    campaign = serializers.SlugField(required=False, max_length=80)
    status = serializers.ChoiceField(choices=ItemStatus.choices, required=False)
    q = serializers.CharField(required=False, max_length=100, trim_whitespace=True)
    window = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    category = serializers.ChoiceField(choices=Item.Category.choices, required=False)
    organisation = serializers.SlugField(required=False, max_length=80)
    department = serializers.ChoiceField(choices=DEPARTMENTS, required=False)
    delivery = serializers.ChoiceField(choices=DELIVERY_METHODS, required=False)
    min_price_cents = serializers.IntegerField(required=False, min_value=0, max_value=ITEM_PRICE.max_cents)
    max_price_cents = serializers.IntegerField(required=False, min_value=0, max_value=ITEM_PRICE.max_cents)
    ordering = serializers.ChoiceField(choices=["newest", "price", "-price"], required=False)

    default_error_messages = {"invalid": gettext_lazy("Filtre invalide.")}

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        low, high = data.get("min_price_cents"), data.get("max_price_cents")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"max_price_cents": [_("Le prix maximum doit être au moins égal au prix minimum.")]}
            )
        return data


class PostalCodeField(serializers.CharField):
    """A French postal code ("75004"; spaces ignored), cleaned to its five digits."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=10, allow_blank=True, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = normalise_postal_code(super().to_internal_value(data))
        if value and not is_french_postal_code(value):
            raise serializers.ValidationError(_("Saisissez un code postal français à 5 chiffres, par exemple 75004."))
        return value


def weight_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=ITEM_WEIGHT_GRAMS[0], max_value=ITEM_WEIGHT_GRAMS[1], allow_null=True, **kwargs
    )


def validate_photo_files(files: list[Any]) -> list[PreparedPhoto]:
    """Run every file through the photo pipeline; one message per refused file."""
    prepared, errors = prepare_photos(files)
    if errors:
        raise serializers.ValidationError(errors)
    return prepared


class ItemEditSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000)
    condition = serializers.ChoiceField(choices=Item.Condition.choices)
    category = serializers.ChoiceField(choices=Item.Category.choices, default=Item.Category.OTHER)
    price_cents = CentsField(limits=ITEM_PRICE)
    # Where the object is (a private giver's): empty, their account's postal code.
    postal_code = PostalCodeField(required=False)
    weight_grams = weight_field(required=False)
    # The giver agrees to send it as a parcel (relay points; home only from the organisation).
    # Kept only with a weight, within the parcel limit, outside the bulky categories.
    ships = serializers.BooleanField(required=False)


def ships_validate(data: dict[str, Any]) -> None:
    """A field error on ``ships`` when parcels are asked for an object that cannot travel so
    (the service refuses it too, for the fields a partial update leaves out)."""
    if data.get("ships"):
        refusal = services.ships_refusal(
            category=data.get("category", Item.Category.OTHER), weight_grams=data.get("weight_grams")
        )
        if refusal:
            raise serializers.ValidationError({"ships": [refusal]})


class ItemCreateSerializer(ItemEditSerializer):
    kind = serializers.ChoiceField(choices=Item.Kind.choices, default=Item.Kind.SALE)
    price_cents = CentsField(limits=ITEM_PRICE, required=False)
    handover = serializers.ChoiceField(choices=Item.Handover.choices, required=False)
    handover_note = serializers.CharField(max_length=300, required=False, allow_blank=True)
    campaign = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Campaign.objects.filter(status=Campaign.Status.LIVE),
        error_messages={"does_not_exist": gettext_lazy("Cette campagne n'existe pas ou ne reçoit plus d'objets.")},
    )
    photos = serializers.ListField(
        child=serializers.FileField(allow_empty_file=False),
        min_length=1,
        max_length=MAX_PHOTOS,
        error_messages={
            "min_length": gettext_lazy("Ajoutez au moins une photo."),
            "max_length": gettext_lazy("%(max)d photos au plus.") % {"max": MAX_PHOTOS},
            "required": gettext_lazy("Ajoutez au moins une photo."),
        },
    )

    def validate_photos(self, files: list[Any]) -> list[PreparedPhoto]:
        return validate_photo_files(files)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["kind"] == Item.Kind.SALE and not data.get("price_cents"):
            raise serializers.ValidationError({"price_cents": [_("Fixez un prix.")]})
        if data["kind"] == Item.Kind.GIFT_IN_KIND and not data.get("handover"):
            raise serializers.ValidationError({"handover": [_("Choisissez comment remettre l'objet.")]})
        if data["kind"] == Item.Kind.SALE and data.get("handover", "") not in ("", Item.Handover.DROP_OFF):
            # An object for sale stays at its giver's (no handover) or is dropped at the organisation.
            raise serializers.ValidationError({"handover": [str(services.SaleHandoverRefused.default_detail)]})
        ships_validate(data)
        data.setdefault("price_cents", None)
        return data


class ItemReviewSerializer(serializers.Serializer):
    """Approve, optionally with the reviewer's last edits."""

    title = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(max_length=5000, required=False)
    price_cents = CentsField(limits=ITEM_PRICE, required=False)
    category = serializers.ChoiceField(choices=Item.Category.choices, required=False)
    weight_grams = weight_field(required=False)
    # Turn parcels off, or on for an object that stands (or will stand) at the organisation.
    ships = serializers.BooleanField(required=False)


class ItemListForSaleSerializer(ItemReviewSerializer):
    price_cents = CentsField(limits=ITEM_PRICE)


class ItemRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, min_length=3)


@extend_schema_view(
    list=extend_schema(parameters=[ItemFilterSerializer]),
    create=extend_schema(
        request={"multipart/form-data": ItemCreateSerializer},
        responses={
            201: OwnItemSerializer,
            413: OpenApiResponse(description="request_too_large: the body is over UPLOAD_MAX_BODY_BYTES"),
            429: OpenApiResponse(description="too_many_uploads: over UPLOAD_IMAGES_PER_HOUR images this hour"),
        },
    ),
    partial_update=extend_schema(request=ItemEditSerializer, responses={200: OwnItemSerializer, **errors(409)}),
    destroy=extend_schema(responses={204: OpenApiResponse(description="Withdrawn"), **errors(409)}),
)
class ItemViewSet(viewsets.ModelViewSet):
    """Public catalogue, donors' own objects and managers' review."""

    serializer_class = ItemSerializer
    # An id is digits (at most 18, inside PostgreSQL's bigint): "/api/items/false/…" is a 404, not a crash.
    lookup_value_regex = ID_IN_URL
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_permissions(self) -> list[Any]:
        # Passers-by read and buy without an account.
        if self.action in {"list", "retrieve"}:
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    def get_queryset(self) -> QuerySet[Item]:
        user = self.request.user
        # Writes look the item up among those the caller may act on, so an
        # item of someone else is a 404, not a hint that it exists.
        if self.action in {"partial_update", "destroy", "withdraw", "mine"}:
            return items_owned_by(user)
        if self.action in {"approve", "reject", "accept", "receive", "list_for_sale", "managed"}:
            return items_managed_by(user)
        if self.action == "review":
            return items_to_review(user)
        queryset = item_visible_queryset(user=signed_in(self.request))
        if self.action == "list":
            filters = ItemFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            queryset = item_search(queryset, **filters.validated_data)
        return queryset

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # A visitor's cached catalogue page, before DRF builds its request (pages/api/catalogue.py).
        if self.action_map.get(request.method.lower() if request.method else "") == "list":
            cached = cached_before_drf(request)
            if cached is not None:
                # The headers DRF's finalize_response gives every answer of this view.
                headers = dict(self.default_response_headers)
                vary = headers.pop("Vary", None)
                # Through DRF the session is read (SessionMiddleware then adds Cookie): the answer
                # does depend on it (a signed-in person may see more), so say so here too.
                patch_vary_headers(cached, ["Cookie", *([vary] if vary else [])])
                for name, value in headers.items():
                    cached[name] = value
                return cached
        return super().dispatch(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        # The catalogue at scale: capped counts, cursor pages, cached JSON, rows as values.
        return catalogue_list(self, request, ItemSerializer)

    def _own(self, item: Item, code: int = status.HTTP_200_OK) -> Response:
        # The caller reached ``item`` through a scoped selector: re-read it with its history.
        fresh = item_with_history(pk=item.pk)
        return Response(OwnItemSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def _managed(self, item: Item) -> Response:
        fresh = item_with_history(pk=item.pk)
        return Response(ManagedItemSerializer(fresh, context=self.get_serializer_context()).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload_count(user_id=request.user.pk, images=len(request.FILES.getlist("photos")))
        data = ItemCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.item_create(owner=request.user, **data.validated_data)  # type: ignore[arg-type]
        return self._own(item, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        data = ItemEditSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.item_update(item=item, actor=request.user, changes=dict(data.validated_data))  # type: ignore[arg-type]
        return self._own(item)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.item_withdraw(item=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: OwnItemSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        item = services.item_withdraw(item=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return self._own(item)

    @extend_schema(request=ItemReviewSerializer, responses={200: ManagedItemSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        data = ItemReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.item_approve(
            item=self.get_object(),
            actor=request.user,  # type: ignore[arg-type]
            changes=dict(data.validated_data),
        )
        return self._managed(item)

    @extend_schema(request=ItemRejectSerializer, responses={200: ManagedItemSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        data = ItemRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = services.item_reject(
            item=self.get_object(),
            actor=request.user,  # type: ignore[arg-type]
            reason=data.validated_data["reason"],
        )
        return self._managed(item)

    @extend_schema(responses=OwnItemSerializer(many=True))
    @action(detail=False, methods=["get"])
    def mine(self, request: Request) -> Response:
        """The signed-in donor's own objects, any status, with their history."""
        return self._page(OwnItemSerializer)

    @extend_schema(request=None, responses={200: ManagedItemSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """Accept a gift in kind (the organisation will receive it)."""
        item = services.item_accept(item=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return self._managed(item)

    @extend_schema(request=None, responses={200: ManagedItemSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def receive(self, request: Request, pk: str | None = None) -> Response:
        """Record the hand-over of an accepted gift in kind; the organisation now owns it."""
        item = services.item_receive(item=self.get_object(), actor=request.user)  # type: ignore[arg-type]
        return self._managed(item)

    @extend_schema(request=ItemListForSaleSerializer, responses={200: ManagedItemSerializer, **errors(409)})
    @action(detail=True, methods=["post"], url_path="list")
    def list_for_sale(self, request: Request, pk: str | None = None) -> Response:
        """List a received gift in kind for sale, at the organisation's price."""
        data = ItemListForSaleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        price = changes.pop("price_cents")
        item = services.item_list_for_sale(
            item=self.get_object(),
            actor=request.user,  # type: ignore[arg-type]
            price_cents=price,
            changes=changes,
        )
        return self._managed(item)

    @extend_schema(responses=ManagedItemSerializer(many=True))
    @action(detail=False, methods=["get"])
    def review(self, request: Request) -> Response:
        """The review queue of the organisations the caller manages."""
        return self._page(ManagedItemSerializer)

    @extend_schema(parameters=[ItemFilterSerializer], responses=ManagedItemSerializer(many=True))
    @action(detail=False, methods=["get"])
    def managed(self, request: Request) -> Response:
        """Every item of the organisations the caller manages, any status (e.g. ``?status=accepted``)."""
        return self._page(ManagedItemSerializer)

    def _page(self, serializer_class: type[serializers.Serializer]) -> Response:
        queryset = self.get_queryset()
        if self.action == "managed":
            filters = ItemFilterSerializer(data=self.request.query_params)
            filters.is_valid(raise_exception=True)
            queryset = (
                item_search(queryset, **filters.validated_data).select_related("donor").prefetch_related("transitions")
            )
        page = self.paginate_queryset(queryset)
        serializer = serializer_class(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)


# --- The hand-over of a sold object ----------------------------------------------------------
