"""Managers create, edit, publish and close the campaigns of their own organisation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign
from tests.factories import (
    CampaignFactory,
    OrganisationFactory,
    UserFactory,
    image_bytes,
    manager_of,
    photo_with_gps,
    upload,
)

pytestmark = pytest.mark.django_db


def campaign_data(organisation_slug: str, **overrides: object) -> dict[str, object]:
    start = timezone.now()
    data: dict[str, object] = {
        "organisation": organisation_slug,
        "title": "Un atelier de réparation",
        "summary": "Des établis et des outils.",
        "story": "Il était une fois…",
        "goal_cents": 500_000,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(days=30)).isoformat(),
    }
    data.update(overrides)
    return data


def test_a_manager_creates_a_draft_campaign_with_a_cleaned_cover(api: APIClient) -> None:
    organisation = OrganisationFactory(slug="la-boucle")
    api.force_authenticate(manager_of(organisation))

    response = api.post(
        "/api/manage/campaigns/",
        campaign_data("la-boucle", cover=upload("cover.jpg", photo_with_gps((900, 600)))),
        format="multipart",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["slug"], body["goal_cents"]) == ("draft", "un-atelier-de-reparation", 500_000)
    campaign = Campaign.objects.get()
    assert campaign.organisation == organisation
    assert campaign.cover.name.endswith(".webp")
    with default_storage.open(campaign.cover.name) as cover:
        assert b"GPS" not in cover.read()
    # A draft is not public.
    assert APIClient().get(f"/api/campaigns/{campaign.slug}/").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"goal_cents": 0}, "goal_cents"),
        ({"ends_at": (timezone.now() - timedelta(days=1)).isoformat()}, "ends_at"),
        ({"title": ""}, "title"),
    ],
)
def test_goal_and_dates_are_checked(api: APIClient, overrides: dict[str, object], field: str) -> None:
    organisation = OrganisationFactory()
    api.force_authenticate(manager_of(organisation))
    response = api.post("/api/manage/campaigns/", campaign_data(organisation.slug, **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Campaign.objects.exists()


def test_a_bad_cover_is_refused_on_cover_and_nothing_is_created(api: APIClient) -> None:
    organisation = OrganisationFactory()
    api.force_authenticate(manager_of(organisation))
    data = campaign_data(organisation.slug, cover=upload("cover.png", b"<svg><script/></svg>", "image/png"))
    response = api.post("/api/manage/campaigns/", data, format="multipart")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["cover"]
    assert not Campaign.objects.exists()


def test_a_manager_cannot_create_a_campaign_for_another_organisation(api: APIClient) -> None:
    other = OrganisationFactory(slug="autre")
    api.force_authenticate(manager_of(OrganisationFactory()))
    response = api.post("/api/manage/campaigns/", campaign_data("autre"), format="json")
    assert response.status_code == 400 and "organisation" in response.json()["fields"]
    assert not Campaign.objects.filter(organisation=other).exists()


def test_a_donor_cannot_create_a_campaign(api: APIClient) -> None:
    organisation = OrganisationFactory()
    api.force_authenticate(UserFactory())
    response = api.post("/api/manage/campaigns/", campaign_data(organisation.slug), format="json")
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_publish_then_close_then_nothing_more(api: APIClient) -> None:
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    api.force_authenticate(manager_of(campaign.organisation))
    base = f"/api/manage/campaigns/{campaign.slug}"

    assert api.post(f"{base}/close/").status_code == 409  # a draft is published before it closes
    assert api.post(f"{base}/publish/").json()["status"] == "live"
    assert APIClient().get(f"/api/campaigns/{campaign.slug}/").status_code == 200
    assert api.post(f"{base}/publish/").status_code == 409
    assert api.post(f"{base}/close/").json()["status"] == "closed"
    response = api.patch(f"{base}/", {"title": "Trop tard"}, format="json")
    assert response.status_code == 409
    assert Campaign.objects.get(pk=campaign.pk).title != "Trop tard"


def test_editing_checks_the_end_against_the_stored_start_and_replaces_the_cover(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = CampaignFactory(status=Campaign.Status.LIVE)
    api.force_authenticate(manager_of(campaign.organisation))
    base = f"/api/manage/campaigns/{campaign.slug}/"
    too_early = (campaign.starts_at - timedelta(hours=1)).isoformat()
    assert list(api.patch(base, {"ends_at": too_early}, format="json").json()["fields"]) == ["ends_at"]

    first = api.patch(base, {"cover": upload("a.png", image_bytes((600, 400)), "image/png")}, format="multipart")
    first_cover = Campaign.objects.get(pk=campaign.pk).cover.name
    second_cover = upload("b.png", image_bytes((600, 400)), "image/png")
    with django_capture_on_commit_callbacks(execute=True):
        second = api.patch(base, {"cover": second_cover, "goal_cents": 250_000}, format="multipart")
    assert first.status_code == second.status_code == 200
    campaign.refresh_from_db()
    assert campaign.goal_cents == 250_000 and campaign.cover.name != first_cover
    assert default_storage.exists(campaign.cover.name)
    old_folder = first_cover.rsplit("/", 1)[0]
    assert default_storage.listdir(old_folder)[1] == []  # every rendition of the old cover is gone


def test_the_managed_list_shows_drafts_of_my_organisations_only(api: APIClient) -> None:
    mine = CampaignFactory(status=Campaign.Status.DRAFT)
    CampaignFactory(status=Campaign.Status.DRAFT)
    api.force_authenticate(manager_of(mine.organisation))
    assert [c["slug"] for c in api.get("/api/manage/campaigns/").json()["results"]] == [mine.slug]
