from __future__ import annotations

import re

import pytest
from django.test import Client

from campaigns.models import Campaign
from tests.factories import CampaignFactory, OrganisationFactory, UserFactory, image_bytes, manager_of, upload

pytestmark = pytest.mark.django_db


def test_a_manager_creates_publishes_and_closes_a_campaign_from_the_pages(client: Client) -> None:
    organisation = OrganisationFactory(slug="la-boucle")
    client.force_login(manager_of(organisation))
    assert client.get("/gestion/campagnes/nouvelle/").status_code == 200

    response = client.post(
        "/gestion/campagnes/nouvelle/",
        {
            "organisation": "la-boucle",
            "title": "Camion de collecte",
            "summary": "Un utilitaire électrique.",
            "story": "",
            "goal_cents": "25 000,00".replace(" ", ""),
            "starts_at": "2030-01-01T10:00",
            "ends_at": "2030-03-01T10:00",
            "cover": upload("cover.png", image_bytes((800, 500)), "image/png"),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert (campaign.goal_cents, campaign.status, campaign.organisation) == (2_500_000, "draft", organisation)
    assert campaign.cover.name.endswith(".webp")
    assert "Camion de collecte" in client.get("/gestion/campagnes/").content.decode()

    client.post(f"/gestion/campagnes/{campaign.slug}/publier/")
    assert Campaign.objects.get(pk=campaign.pk).status == "live"
    client.post(f"/gestion/campagnes/{campaign.slug}/cloturer/")
    assert Campaign.objects.get(pk=campaign.pk).status == "closed"


def test_the_edit_page_says_next_to_the_end_date_what_is_wrong(client: Client) -> None:
    campaign = CampaignFactory(goal_cents=100_000)
    client.force_login(manager_of(campaign.organisation))
    page = client.get(f"/gestion/campagnes/{campaign.slug}/").content.decode()
    assert 'name="goal_cents" value="1000"' in page
    response = client.post(
        f"/gestion/campagnes/{campaign.slug}/",
        {
            "title": "Nouveau titre",
            "summary": campaign.summary,
            "goal_cents": "1000",
            "starts_at": "2030-01-02T10:00",
            "ends_at": "2030-01-01T10:00",
        },
    )
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["ends_at"]
    assert Campaign.objects.get(pk=campaign.pk).title != "Nouveau titre"


def test_another_organisation_cannot_open_or_publish_the_campaign(client: Client) -> None:
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    client.force_login(manager_of(OrganisationFactory()))
    assert client.get(f"/gestion/campagnes/{campaign.slug}/").status_code == 404
    assert client.post(f"/gestion/campagnes/{campaign.slug}/publier/").status_code == 404
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"


def test_a_donor_cannot_create_a_campaign_for_any_organisation(client: Client) -> None:
    organisation = OrganisationFactory(slug="autre")
    client.force_login(UserFactory())
    response = client.post(
        "/gestion/campagnes/nouvelle/",
        {"organisation": "autre", "title": "x", "summary": "y", "goal_cents": "10", "starts_at": "2030-01-01T10:00"},
    )
    assert response.status_code == 400 and "organisation" in response.context["form"].errors
    assert not Campaign.objects.filter(organisation=organisation).exists()


def date_inputs(page: str) -> dict[str, str]:
    """The values the page puts in its date inputs, as a browser would post them: one a browser
    rejects (not ISO 8601, as ``<input type="datetime-local">`` requires) posts empty."""
    values = {}
    for name, value in re.findall(r'<input type="datetime-local" name="(\w+)" value="([^"]*)"', page):
        values[name] = value if ISO_LOCAL.fullmatch(value) else ""
    return values


ISO_LOCAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_saving_the_edit_page_as_a_browser_would_keeps_both_dates(client: Client, language: str) -> None:
    campaign = CampaignFactory(goal_cents=100_000)
    client.force_login(manager_of(campaign.organisation))
    client.cookies["django_language"] = language
    page = client.get(f"/gestion/campagnes/{campaign.slug}/").content.decode()
    dates = date_inputs(page)
    assert set(dates) == {"starts_at", "ends_at"} and all(dates.values()), dates

    response = client.post(
        f"/gestion/campagnes/{campaign.slug}/",
        {"title": "Nouveau titre", "summary": campaign.summary, "goal_cents": "1000", **dates},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    saved = Campaign.objects.get(pk=campaign.pk)
    assert (saved.title, saved.starts_at, saved.ends_at) == ("Nouveau titre", campaign.starts_at, campaign.ends_at)


def test_an_end_date_posted_empty_is_refused_beside_it_not_erased(client: Client) -> None:
    campaign = CampaignFactory(goal_cents=100_000)
    client.force_login(manager_of(campaign.organisation))
    dates = date_inputs(client.get(f"/gestion/campagnes/{campaign.slug}/").content.decode())

    response = client.post(
        f"/gestion/campagnes/{campaign.slug}/",
        {"title": "Nouveau titre", "summary": campaign.summary, "goal_cents": "1000", **dates, "ends_at": ""},
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["ends_at"]
    assert Campaign.objects.get(pk=campaign.pk).ends_at == campaign.ends_at
