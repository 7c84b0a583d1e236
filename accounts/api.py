"""The accounts part of the JSON API (API.md, "Accounts")."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import User
from accounts.selectors import user_data_export
from campaigns.selectors import memberships_of


class SignUpSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)

    def validate_email(self, email: str) -> str:
        email = services.normalise_email(email)
        if User.objects.filter(email=email).exists():
            # Friendly message early; the unique constraint still has the last word.
            raise serializers.ValidationError(str(services.EmailTaken.default_detail))
        return email

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        problems = services.user_password_problems(
            password=data["password"],
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
        )
        if problems:
            raise serializers.ValidationError({"password": problems})
        return data


class AccountCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class MembershipSerializer(serializers.Serializer):
    slug = serializers.CharField(source="organisation.slug")
    name = serializers.CharField(source="organisation.name")
    role = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    organisations = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "first_name",
            "last_name",
            "address_line1",
            "address_line2",
            "postal_code",
            "city",
            "country",
            "organisations",
        )
        read_only_fields = ("id", "email")

    @extend_schema_field(MembershipSerializer(many=True))
    def get_organisations(self, user: User) -> list[dict[str, str]]:
        return MembershipSerializer(memberships_of(user), many=True).data  # type: ignore[return-value]


class ProfileChangeSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False)
    last_name = serializers.CharField(max_length=150, required=False)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.RegexField(r"^[0-9A-Za-z \-]{2,12}$", max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        required=False,
        error_messages={"invalid": gettext_lazy("Un code pays à deux lettres, par exemple FR.")},
    )


class DeleteAccountSerializer(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class SignUpView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=SignUpSerializer, responses={201: AccountCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = SignUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_sign_up(**data.validated_data)
        return Response({"id": user.pk, "email": user.email}, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            email=services.normalise_email(data.validated_data["email"]),
            password=data.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Adresse e-mail ou mot de passe incorrect.")]}, code="invalid_credentials"
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=ProfileChangeSerializer, responses=MeSerializer)
    def patch(self, request: Request) -> Response:
        data = ProfileChangeSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user=request.user, changes=dict(data.validated_data))  # type: ignore[arg-type]
        return Response(MeSerializer(user).data)

    @extend_schema(
        request=DeleteAccountSerializer,
        responses={204: OpenApiResponse(description="Account deleted; what the law requires is kept, anonymised.")},
    )
    def delete(self, request: Request) -> Response:
        data = DeleteAccountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not request.user.check_password(data.validated_data["password"]):
            raise serializers.ValidationError({"password": [_("Mot de passe incorrect.")]})
        services.user_delete(user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: OpenApiResponse(description="Everything Trëmma holds about you, as JSON.")})
    def get(self, request: Request) -> Response:
        response = Response(user_data_export(user=request.user))  # type: ignore[arg-type]
        response["Content-Disposition"] = 'attachment; filename="tremma-mes-donnees.json"'
        return response
