"""The JSON endpoints that start a payment: checkout of an item, gift to a
campaign. Thin: validate, call one service, shape the answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User


class CheckoutInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class CheckoutOutputSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    checkout_url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class GiftInputSerializer(serializers.Serializer):
    amount_cents = serializers.IntegerField()
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    anonymous = serializers.BooleanField(required=False, default=False)
    message = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")

    def validate_amount_cents(self, value: int) -> int:
        if value < settings.GIFT_MIN_CENTS:
            raise serializers.ValidationError(_("Le don minimum est de 1 €."))
        if value > settings.GIFT_MAX_CENTS:
            raise serializers.ValidationError(_("Ce montant dépasse le maximum autorisé pour un don en ligne."))
        return value


class GiftOutputSerializer(serializers.Serializer):
    gift_id = serializers.IntegerField()
    checkout_url = serializers.URLField()


def signed_in(request: Any) -> User | None:
    user = request.user
    return user if user.is_authenticated else None
