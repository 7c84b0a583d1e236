from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.models import Campaign, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from campaigns.serializers import OrganisationRefSerializer
from campaigns.services import campaign_create, campaign_transition, campaign_update
from kernel.api import SLUG_IN_URL, absolute
from kernel.fields import CentsField
from kernel.money import CAMPAIGN_GOAL
from kernel.parsers import FormParser, JSONParser, MultiPartParser
from kernel.photos import PhotoRefused, PreparedPhoto, prepare_photo
from kernel.schema import TOO_MANY_UPLOADS, errors
from kernel.uploads import upload_count
from ledger.selectors import campaign_public_queryset, campaigns_managed_by
from qr.fields import ShortCodeListSerializer, short_url_of


class CampaignSerializer(serializers.ModelSerializer):
    organisation = OrganisationRefSerializer(read_only=True)
    raised_cents = serializers.IntegerField(read_only=True)
    backers_count = serializers.IntegerField(read_only=True)
    cover_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    short_url = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        list_serializer_class = ShortCodeListSerializer
        fields: tuple[str, ...] = (
            "slug",
            "title",
            "summary",
            "organisation",
            "goal_cents",
            "raised_cents",
            "currency",
            "backers_count",
            "status",
            "starts_at",
            "ends_at",
            "cover_url",
            "url",
            "short_url",
        )

    def get_cover_url(self, campaign: Campaign) -> str | None:
        if not campaign.cover:
            return None
        return absolute(self.context, campaign.cover.url)

    def get_url(self, campaign: Campaign) -> str:
        return absolute(self.context, campaign.get_absolute_url())

    def get_short_url(self, campaign: Campaign) -> str | None:
        return short_url_of(campaign)


class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CampaignSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_IN_URL

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return campaign_public_queryset().select_related("short_code")


# --- Campaign management (managers of the campaign's organisation) -------


class ManagedCampaignSerializer(CampaignSerializer):
    class Meta(CampaignSerializer.Meta):
        fields = (*CampaignSerializer.Meta.fields, "story")


class CampaignWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=300)
    story = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    goal_cents = CentsField(limits=CAMPAIGN_GOAL)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    cover = serializers.FileField(required=False, allow_empty_file=False)

    def validate_cover(self, upload: Any) -> PreparedPhoto:
        try:
            return prepare_photo(upload)
        except PhotoRefused as refused:
            raise serializers.ValidationError(refused.message) from refused

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        starts_at = data.get("starts_at", getattr(self.instance, "starts_at", None))
        ends_at = data.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts_at and ends_at and ends_at <= starts_at:
            raise serializers.ValidationError({"ends_at": [_("La fin de la campagne doit venir après son début.")]})
        return data


class CampaignCreateSerializer(CampaignWriteSerializer):
    organisation = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.none())

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the caller's own organisations: any other is "does not exist".
        self.fields["organisation"].queryset = organisations_user_may(user, Permission.CAMPAIGNS)  # type: ignore[attr-defined]


@extend_schema_view(
    # 429 too_many_uploads: a cover image counts against UPLOAD_IMAGES_PER_HOUR (found by the fuzzing).
    create=extend_schema(
        request=CampaignCreateSerializer,
        responses={201: ManagedCampaignSerializer, **errors(409, 429, e429=TOO_MANY_UPLOADS)},
    ),
    partial_update=extend_schema(
        request=CampaignWriteSerializer,
        responses={200: ManagedCampaignSerializer, **errors(409, 429, e429=TOO_MANY_UPLOADS)},
    ),
)
class ManagedCampaignViewSet(viewsets.ModelViewSet):
    """The campaigns of the organisations the caller manages, in any status."""

    serializer_class = ManagedCampaignSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG_IN_URL
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "head", "options"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return campaigns_managed_by(self.request.user)

    def _out(self, campaign: Campaign, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=campaign.pk)
        return Response(ManagedCampaignSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload_count(user_id=request.user.pk, images=len(request.FILES.getlist("cover")))
        data = CampaignCreateSerializer(data=request.data, user=request.user)
        data.is_valid(raise_exception=True)
        campaign = campaign_create(actor=request.user, **data.validated_data)  # type: ignore[arg-type]
        return self._out(campaign, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaign = self.get_object()
        upload_count(user_id=request.user.pk, images=len(request.FILES.getlist("cover")))
        data = CampaignWriteSerializer(campaign, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        cover = changes.pop("cover", None)
        campaign_update(campaign=campaign, actor=request.user, changes=changes, cover=cover)  # type: ignore[arg-type]
        return self._out(campaign)

    @extend_schema(request=None, responses={200: ManagedCampaignSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, slug: str | None = None) -> Response:
        campaign = self.get_object()
        campaign_transition(campaign=campaign, actor=request.user, to=Campaign.Status.LIVE)  # type: ignore[arg-type]
        return self._out(campaign)

    @extend_schema(request=None, responses={200: ManagedCampaignSerializer, **errors(409)})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, slug: str | None = None) -> Response:
        campaign = self.get_object()
        campaign_transition(campaign=campaign, actor=request.user, to=Campaign.Status.CLOSED)  # type: ignore[arg-type]
        return self._out(campaign)
