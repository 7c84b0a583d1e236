"""The accounts part of the JSON API: sign-up, tokens, verification, the person's own data."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, logout
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import requests, services
from accounts.authentication import token_expires_at
from accounts.backends import sign_in_locked
from accounts.models import User
from accounts.selectors import memberships_of, user_data_export
from accounts.throttles import VERIFY, TooManyAttempts, attempt_check_and_count
from kernel.countries import CountryCodeField
from kernel.schema import error, errors


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
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField(help_text="after this, the token is refused (401): sign in again")


class VerifySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    new_password = serializers.CharField(
        max_length=128,
        required=False,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="when not signed in to the account: its new password (else it is unusable until reset)",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        signed_in = self.context.get("signed_in")
        try:
            user = services.user_for_verification_token(data["token"])
            if signed_in is not None and signed_in.pk != user.pk:
                raise services.VerificationLinkOfAnotherAccount()
        except services.InvalidVerificationLink as error:
            raise serializers.ValidationError({"token": [str(error.detail)]}) from None
        if data.get("new_password") and signed_in is None:
            # The account is wiped before taking it: judge it as the owner's fresh account.
            problems = services.user_password_problems(password=data["new_password"], email=user.email)
            if problems:
                raise serializers.ValidationError({"new_password": problems})
        return data


class VerifiedSerializer(serializers.Serializer):
    email = serializers.EmailField()
    email_verified = serializers.BooleanField()
    password_required = serializers.BooleanField(
        help_text="true when the account has no password yet: choose one through the password reset"
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    def validate_old_password(self, password: str) -> str:
        if not self.context["user"].check_password(password):
            raise serializers.ValidationError(_("Mot de passe incorrect."))
        return password

    def validate_new_password(self, password: str) -> str:
        user: User = self.context["user"]
        problems = services.user_password_problems(
            password=password, email=user.email, first_name=user.first_name, last_name=user.last_name
        )
        if problems:
            raise serializers.ValidationError(problems)
        return password


class MembershipSerializer(serializers.Serializer):
    slug = serializers.CharField(source="organisation.slug")
    name = serializers.CharField(source="organisation.name")
    role = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    organisations = serializers.SerializerMethodField()
    email_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "email_verified",
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
    country = CountryCodeField(required=False)


class DeleteAccountSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class SignUpView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=SignUpSerializer,
        responses={201: AccountCreatedSerializer, 400: error(400, "invalid: a field is wrong; see fields")},
        description="Creates the account and sends the verification email (link to /comptes/verifier/<token>/).",
    )
    def post(self, request: Request) -> Response:
        data = SignUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_sign_up(**data.validated_data)
        return Response({"id": user.pk, "email": user.email}, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: error(400, "invalid: wrong email or password"),
            429: error(429, "too_many_attempts: too many failed sign-ins for this email or this client"),
        },
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            email=services.normalise_email(data.validated_data["email"]),
            password=data.validated_data["password"],
        )
        if sign_in_locked(request._request):
            raise TooManyAttempts("sign-in locked")
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Adresse e-mail ou mot de passe incorrect.")]}, code="invalid_credentials"
            )
        token = services.user_api_token(user=user)  # type: ignore[arg-type]
        return Response(TokenResponseSerializer({"token": token.key, "expires_at": token_expires_at(token)}).data)


class LogoutView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="The token used (and the session, if any) no longer works.")},
    )
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, Token):
            services.token_revoke(token=request.auth)
        if request.session.session_key:
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerifyView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=VerifySerializer,
        responses={
            200: VerifiedSerializer,
            400: error(400, "invalid: fields.token: the link is garbled, expired, used or another account's"),
        },
        description=(
            "Verifies the address with the token of the verification email. Signed in to the same account: "
            "nothing else changes. Not signed in: the account is taken over by the owner of the address, "
            "from scratch (name, postal address, tokens and sessions wiped; password replaced by new_password, "
            "or unusable until reset)."
        ),
    )
    def post(self, request: Request) -> Response:
        signed_in = requests.signed_in(request)
        data = VerifySerializer(data=request.data, context={"signed_in": signed_in})
        data.is_valid(raise_exception=True)
        try:
            user = services.user_email_verify(
                token=data.validated_data["token"],
                signed_in=signed_in,  # type: ignore[arg-type]
                new_password=data.validated_data.get("new_password"),
            )
        except services.InvalidVerificationLink as error:  # used meanwhile by a concurrent click
            raise serializers.ValidationError({"token": [str(error.detail)]}) from None
        body = {"email": user.email, "email_verified": True, "password_required": not user.has_usable_password()}
        return Response(VerifiedSerializer(body).data)


class VerifyResendView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description="A new verification email is on its way (nothing if already verified)."),
            429: error(429, "too_many_attempts: too many emails asked for"),
        },
    )
    def post(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        if not user.email_verified:
            attempt_check_and_count(scope=VERIFY, request=request._request, email=user.email)
            services.user_email_verification_send(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
        responses={
            204: OpenApiResponse(description="Account deleted; what the law requires is kept, anonymised."),
            # OpenAPI 3.0 gives DELETE no request body: the password is described here.
            **errors(400, 409, e400="fields.password: the body {password} is missing or wrong"),
        },
    )
    def delete(self, request: Request) -> Response:
        data = DeleteAccountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not request.user.check_password(data.validated_data["password"]):
            raise serializers.ValidationError({"password": [_("Mot de passe incorrect.")]})
        services.user_delete(user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class MePasswordView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={
            204: OpenApiResponse(description="Password changed; every token and session of the person is revoked."),
            400: error(400, "invalid: fields.old_password is wrong or fields.new_password too weak"),
        },
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeSerializer(data=request.data, context={"user": request.user})
        data.is_valid(raise_exception=True)
        services.user_password_change(user=request.user, new_password=data.validated_data["new_password"])  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: OpenApiResponse(description="Everything Trëmma holds about you, as JSON.")})
    def get(self, request: Request) -> Response:
        response = Response(user_data_export(user=request.user))  # type: ignore[arg-type]
        response["Content-Disposition"] = 'attachment; filename="tremma-mes-donnees.json"'
        return response
