"""The JSON endpoints of the order lifecycle: checkout of an item or of a
basket, gift to a campaign, hand-over of an organisation's part of an order,
refunds (of a payment, or of one line of an order). Thin: validate, call one
service, shape the answer."""

from __future__ import annotations

from collections.abc import Iterable
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
from campaigns.models import Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from campaigns.serializers import OrganisationRefSerializer
from checkout.services import (
    MAX_REFUND_CENTS,
    BasketEmpty,
    BasketTooLarge,
    ItemUnavailable,
    claim_code_normalise,
    fulfilment_hand_over,
    gift_start,
    order_start,
    payment_refund,
    tip_max_cents,
    tip_refused_text,
)
from checkout.services.shipping import (
    RELAY_POINT_ID_MAX,
    DeliveryChoice,
    address_clean,
    delivery_plan,
    relay_point_id_clean,
)
from checkout.throttles import payment_attempt_check, quote_attempt_check
from donations.models import COLLECTION, HOME, PUBLIC_STATUSES, RELAY, Fulfilment, Item
from kernel.api import MAX_ID, SLUG_IN_URL, error_body
from kernel.countries import DEFAULT_COUNTRY, CountryCodeField
from kernel.errors import NotFound
from kernel.fields import CentsField
from kernel.money import CURRENCY, CentsRange
from kernel.net import client_key
from kernel.schema import errors
from receipts.details import ReceiptDetails, receipt_details_clean


class CheckoutInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


# CheckoutInputSerializer's one field, built once: a serializer deep-copies its fields at each use
# (an e-mail field's validators included), a twentieth of a checkout's time in the web process.
_CHECKOUT_EMAIL = CheckoutInputSerializer().fields["email"]


def _checkout_email(data: Any) -> str:
    """The e-mail of a one-item checkout's body, as CheckoutInputSerializer validates it. A body
    that is not a plain JSON object with a valid ``email`` goes through the serializer itself, so
    every refusal is the serializer's own, field by field."""
    if type(data) is dict:
        try:
            return str(_CHECKOUT_EMAIL.run_validation(data.get("email", serializers.empty)))
        except serializers.ValidationError:
            pass
    serializer = CheckoutInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return str(serializer.validated_data["email"])


class CheckoutOutputSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    checkout_url = serializers.URLField()
    expires_at = serializers.DateTimeField()


# CheckoutOutputSerializer's expires_at, read by the one-item checkout (its format and time zone
# are read at each call, from the settings and the request's active zone).
_EXPIRES_AT = serializers.DateTimeField()


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
    interval = serializers.ChoiceField(
        choices=["month"],
        required=False,
        allow_null=True,
        default=None,
        help_text='"month": a monthly gift (absent or null: once)',
        error_messages={
            "invalid_choice": _("La fréquence d'un don est « month » (tous les mois), ou absente (une fois).")
        },
    )
    # Optional, false unless sent: the giver agrees to receive the campaign's news by email.
    news = serializers.BooleanField(required=False, default=False)
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
        email = _checkout_email(request.data)
        client = client_key(request)
        payment_attempt_check(client_key=client, email=email)
        order = order_start(item_ids=[pk], email=email, user=signed_in(request), client_key=client)
        # CheckoutOutputSerializer's body (its fields' own representations), without building a
        # serializer at each checkout of a crowd.
        body = {
            "order_id": order.pk,
            "checkout_url": order.checkout_url,
            "expires_at": _EXPIRES_AT.to_representation(order.expires_at),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class BasketItemsField(serializers.ListField):
    """``items``: the ids of the basket's objects, each once. The size is checked before
    anything else, so ten thousand ids cost one ``len()``; the bound is read at each
    request (``BASKET_MAX_ITEMS``), ``max_length`` only states the one in force at
    start-up for the schema. An empty or too large basket answers the service's own
    codes (``basket_empty``, ``basket_too_large``), whichever of the two refuses it."""

    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    default_error_messages = {
        "not_a_list": _("Indiquez la liste des identifiants des objets du panier."),
        "not_an_id": _("Chaque objet est désigné par son identifiant, un nombre entier positif."),
        "duplicate": _("Un même objet ne peut figurer qu'une fois dans le panier."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=settings.BASKET_MAX_ITEMS, allow_empty=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        if not isinstance(data, list):
            self.fail("not_a_list")
        if not data:
            raise BasketEmpty("no items")
        limit = settings.BASKET_MAX_ITEMS
        if len(data) > limit:
            raise BasketTooLarge(f"{len(data)} items", detail=BasketTooLarge.default_detail % {"max": limit})
        # Whole numbers (or their digits, from a form): nothing else is even looked at, so a
        # nested list or object is refused here, never turned into a string.
        if not all(isinstance(value, int | str) and not isinstance(value, bool) for value in data):
            self.fail("not_an_id")
        try:
            ids: list[int] = super().to_internal_value(data)
        except serializers.ValidationError:
            # One message for the field, not one per position (``items.0``, ``items.1``…).
            self.fail("not_an_id")
        if len(set(ids)) != len(ids):
            self.fail("duplicate")
        return ids

    def run_validators(self, value: Any) -> None:
        # The size was checked against the current bound above; the schema's max_length may be stale.
        pass


class DeliveryMethodField(serializers.ChoiceField):
    """A choice that is a string: DRF's looks any value up by ``str(value)``, and a list
    nested a thousand deep has no string (RecursionError)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input="")
        return super().to_internal_value(data)


DELIVERY_METHOD_CHOICES = [
    (COLLECTION, _("Retrait sur place")),
    (RELAY, _("Point relais")),
    (HOME, _("Livraison à domicile")),
]
DELIVERY_METHOD_INVALID = _(
    "Choisissez « collection » (retrait sur place), « relay » (point relais) ou « home » (à domicile)."
)


class DeliveryAddressSerializer(serializers.Serializer):
    """``address``: where a parcel goes (``home``), France only for now. Declared for the
    schema; ``checkout.services.shipping.address_clean`` validates it, as on the basket page."""

    name = serializers.CharField(max_length=120)
    address_line1 = serializers.CharField(max_length=200)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=5)
    city = serializers.CharField(max_length=100)
    country = serializers.CharField(max_length=2, required=False, default="FR")


class DeliverySerializer(serializers.Serializer):
    """``delivery``: how the objects reach the buyer, the same for every part of the order:
    collected (``collection``), or as a parcel to a relay point (``relay``, with the
    ``relay_point_id`` of ``GET /api/delivery/relay-points/``) or home (``home``, with
    ``address``; never from a private giver). Absent: collected."""

    method = DeliveryMethodField(
        choices=DELIVERY_METHOD_CHOICES, error_messages={"invalid_choice": DELIVERY_METHOD_INVALID}
    )
    relay_point_id = serializers.CharField(max_length=RELAY_POINT_ID_MAX, required=False, allow_blank=True)
    address = DeliveryAddressSerializer(required=False, allow_null=True)

    def to_internal_value(self, data: Any) -> DeliveryChoice:  # type: ignore[override]
        if not isinstance(data, dict):
            raise serializers.ValidationError([_("Indiquez le mode de livraison (« method »).")])
        try:
            method = self.fields["method"].run_validation(data.get("method", serializers.empty))
        except serializers.ValidationError as error:
            raise serializers.ValidationError({"method": error.detail}) from None
        if method == RELAY:
            relay_point_id = relay_point_id_clean(data.get("relay_point_id"))
            if relay_point_id is None:
                raise serializers.ValidationError({"relay_point_id": [_("Choisissez un point relais dans la liste.")]})
            return DeliveryChoice(method=method, relay_point_id=relay_point_id)
        if method == HOME:
            address, errors = address_clean(data.get("address"))
            if address is None:
                raise serializers.ValidationError({"address": errors})
            return DeliveryChoice(method=method, address=address)
        return DeliveryChoice(method=method)


class OrderInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    items = BasketItemsField()
    delivery = DeliverySerializer(required=False, allow_null=True, default=None)


class OrderShippingSerializer(serializers.Serializer):
    organisation = OrganisationRefSerializer()
    shipping_cents = serializers.IntegerField()


class OrderOutputSerializer(CheckoutOutputSerializer):
    currency = serializers.CharField()
    items_cents = serializers.IntegerField()
    shipping_cents = serializers.IntegerField(help_text="the sum of the organisations' shipping_cents")
    total_cents = serializers.IntegerField(help_text="items_cents + shipping_cents: the amount of the one payment")
    shipping = OrderShippingSerializer(many=True, help_text="one entry per organisation of the basket")


def _unavailable(item_ids: list[int]) -> Response:
    """409 item_unavailable naming the items of the basket that could not be held (none was)."""
    refused = ItemUnavailable(f"items {item_ids}")
    body = {**error_body(refused.code, str(refused.detail)), "unavailable": sorted(item_ids)}
    return Response(body, status=refused.status_code)


class OrderCreateView(APIView):
    """``POST /api/orders/``: a basket, anyone, no account needed. Every item is held
    or none; one payment for objects of several organisations."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="orders_create",
        request=OrderInputSerializer,
        responses={
            201: OrderOutputSerializer,
            **errors(
                409,
                429,
                503,
                e409="item_unavailable: some items are reserved, sold, not for sale or missing; `unavailable`"
                " lists their ids and none of the basket is held",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Hold every item of the basket for the buyer and open one payment."""
        data = OrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["email"]
        client = client_key(request)
        payment_attempt_check(client_key=client, email=email)
        item_ids = data.validated_data["items"]
        try:
            order = order_start(
                item_ids=item_ids,
                email=email,
                user=signed_in(request),
                client_key=client,
                delivery=data.validated_data["delivery"],
            )
        except ItemUnavailable as refused:
            return _unavailable(refused.unavailable)
        except NotFound:
            # The service keeps the one-item checkout's 404 for a lone missing item; a basket
            # names a missing item as any other it cannot hold, whatever its size.
            return _unavailable(item_ids)
        body = {
            "order_id": order.pk,
            "checkout_url": order.checkout_url,
            "expires_at": order.expires_at,
            "currency": order.currency,
            "items_cents": order.amount_cents - order.shipping_cents,
            "shipping_cents": order.shipping_cents,
            "total_cents": order.amount_cents,
            "shipping": _shipping_by_organisation(
                (part.organisation, part.shipping_cents)
                for part in order.fulfilments.select_related("organisation").order_by("pk")
            ),
        }
        return Response(OrderOutputSerializer(body).data, status=status.HTTP_201_CREATED)


def _shipping_by_organisation(parts: Iterable[tuple[Organisation, int]]) -> list[dict[str, Any]]:
    """One entry per organisation (its own parcel and its givers' added up), in the order they come."""
    totals: dict[int, dict[str, Any]] = {}
    for organisation, cents in parts:
        entry = totals.setdefault(organisation.pk, {"organisation": organisation, "shipping_cents": 0})
        entry["shipping_cents"] += cents
    return list(totals.values())


class QuoteItemsField(serializers.CharField):
    """``items``: the ids of the objects, separated by commas (``1,2``). Bounded before anything
    is parsed (the text's length, then the count: ``BASKET_MAX_ITEMS``, read at each request);
    each id a whole number; a repeated id counts once."""

    default_error_messages = {
        "not_an_id": _(
            "Chaque objet est désigné par son identifiant, un nombre entier positif, séparé par des virgules."
        ),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=2_000, **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:  # type: ignore[override]
        text: str = super().to_internal_value(data)
        values = [value.strip() for value in text.split(",")]
        if not values or values == [""]:
            raise BasketEmpty("no items")
        limit = settings.BASKET_MAX_ITEMS
        if len(values) > limit:
            raise BasketTooLarge(f"{len(values)} items", detail=BasketTooLarge.default_detail % {"max": limit})
        if not all(value.isascii() and value.isdigit() and len(value) <= 19 for value in values):
            self.fail("not_an_id")
        ids = [int(value) for value in values]
        if not all(1 <= pk <= MAX_ID for pk in ids):
            self.fail("not_an_id")
        return sorted(set(ids))


class QuoteInputSerializer(serializers.Serializer):
    items = QuoteItemsField()
    method = DeliveryMethodField(
        choices=DELIVERY_METHOD_CHOICES, error_messages={"invalid_choice": DELIVERY_METHOD_INVALID}
    )
    postal_code = serializers.RegexField(
        r"^[0-9]{5}$",
        max_length=5,
        required=False,
        help_text="the parcel's destination, for the estimate (absent: near its origin)",
        error_messages={"invalid": _("Un code postal français a cinq chiffres, par exemple 64000.")},
    )


class QuoteOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    shipping_cents = serializers.IntegerField(help_text="the sum of the organisations' shipping_cents")
    shipping = OrderShippingSerializer(many=True, help_text="one entry per organisation of the objects")


class DeliveryQuoteView(APIView):
    """``GET /api/delivery/quote/?items=1,2&method=relay``: anyone. What shipping these objects
    would cost, per organisation, before paying; a method one of them does not allow is refused
    with the reason (``delivery.method``); the carrier down is a 503, never a 500."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="delivery_quote",
        parameters=[QuoteInputSerializer],
        responses={200: QuoteOutputSerializer, **errors(429, 503)},
    )
    def get(self, request: Request) -> Response:
        data = QuoteInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        quote_attempt_check(client_key=client_key(request))
        item_ids = data.validated_data["items"]
        items = list(
            Item.objects.select_related("campaign__organisation")
            .filter(pk__in=item_ids, status__in=PUBLIC_STATUSES)
            .order_by("pk")
        )
        missing = sorted(set(item_ids) - {item.pk for item in items})
        if missing:
            detail = _("Ces objets n'existent pas ou ne sont plus en vente : %(ids)s.") % {
                "ids": ", ".join(str(pk) for pk in missing)
            }
            return Response(
                error_body("invalid", str(detail), {"items": [str(detail)]}), status=status.HTTP_400_BAD_REQUEST
            )
        plan = delivery_plan(
            items=items,
            choices=DeliveryChoice(method=data.validated_data["method"]),
            estimate_to=data.validated_data.get("postal_code", ""),
        )
        body = {
            "currency": CURRENCY,
            "shipping_cents": plan.shipping_cents,
            "shipping": _shipping_by_organisation((part.organisation, part.shipping_cents) for part in plan.parts),
        }
        return Response(QuoteOutputSerializer(body).data)


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
