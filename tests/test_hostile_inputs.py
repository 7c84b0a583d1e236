"""Hostile values a stranger can send get a 4xx with the error shape, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, manager_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("pk", ["false", "1e3", "-1", "0x10", "99999999999999999999999", "%00", "1%00"])
def test_checkout_of_an_item_id_that_is_not_a_number_is_a_404(api: APIClient, pk: str) -> None:
    ItemFactory()
    response = api.post(f"/api/items/{pk}/checkout/", {"email": "a@example.org"}, format="json")
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"


def test_nul_byte_in_the_organisation_slug_of_a_new_campaign_is_a_field_error(api: APIClient) -> None:
    organisation = OrganisationFactory()
    api.force_authenticate(manager_of(organisation))
    body = {
        "organisation": "a\x00b",
        "title": "Vélos",
        "summary": "Des vélos",
        "goal_cents": 10000,
    }
    response = api.post("/api/manage/campaigns/", body, format="json")
    assert response.status_code == 400, response.content
    assert "organisation" in response.json()["fields"]


@pytest.mark.parametrize(
    "path",
    [
        "/objets/99999999999999999999999/",
        "/api/items/99999999999999999999999/",
        "/api/windows/99999999999999999999999/",
        "/windows/99999999999999999999999/screen/",
        "/api/orders/99999999999999999999999/refund/",
    ],
)
def test_an_id_beyond_the_database_range_is_a_404(api: APIClient, path: str) -> None:
    api.force_authenticate(manager_of(OrganisationFactory()))
    response = api.post(path, {"reason": "x"}, format="json") if "refund" in path else api.get(path)
    assert response.status_code == 404, response.content


@pytest.mark.parametrize("query", ["campaign=a%00b", "q=v%00lo", "status=listed%00", "window=1%00"])
def test_nul_byte_in_a_catalogue_filter_is_a_field_error(api: APIClient, query: str) -> None:
    ItemFactory()
    response = api.get(f"/api/items/?{query}")
    assert response.status_code == 400, response.content
    assert query.split("=")[0] in response.json()["fields"]


def test_nul_byte_in_a_multipart_item_field_is_a_field_error(api: APIClient) -> None:
    from tests.factories import UserFactory, item_post_data

    campaign = CampaignFactory(status="live")
    api.force_authenticate(UserFactory())
    data = item_post_data(campaign, campaign=f"{campaign.slug}\x00")
    response = api.post("/api/items/", data, format="multipart")
    assert response.status_code == 400, response.content
    assert "campaign" in response.json()["fields"]


def test_nul_byte_in_the_organisation_of_the_new_campaign_page_is_a_form_error(client: Any) -> None:
    organisation = OrganisationFactory()
    client.force_login(manager_of(organisation))
    response = client.post("/gestion/campagnes/nouvelle/", {"organisation": "x\x00", "title": "Vélos"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/items/", "/api/items/managed/"])
def test_a_window_filter_beyond_the_id_range_is_a_field_error(api: APIClient, path: str) -> None:
    organisation = OrganisationFactory()
    ItemFactory(campaign=CampaignFactory(organisation=organisation))
    api.force_authenticate(manager_of(organisation))
    response = api.get(f"{path}?window=99999999999999999999")
    assert response.status_code == 400, response.content
    assert "window" in response.json()["fields"]


@pytest.mark.parametrize("query", ["page=99999999999999999999", "page=0", "page=-1", "page_size=99999999999999999999"])
def test_a_page_out_of_range_is_a_404_or_a_capped_page(api: APIClient, query: str) -> None:
    ItemFactory()
    response = api.get(f"/api/items/?{query}")
    assert response.status_code in (200, 404), response.content


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", '{"email": "' + "a" * 3_000_000 + '"}'),
        ("application/x-www-form-urlencoded", "email=" + "a" * 3_000_000),
    ],
)
def test_a_body_too_large_is_a_413_with_the_error_shape(api: APIClient, content_type: str, body: str) -> None:
    response = api.post("/api/auth/token/", data=body, content_type=content_type)
    assert response.status_code == 413, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "request_too_large"


def test_too_many_form_fields_is_a_400_with_the_error_shape(api: APIClient) -> None:
    body = "&".join(f"f{n}=x" for n in range(2000))
    response = api.post("/api/auth/token/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content[:200]
    assert response.json()["fields"]["non_field_errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/campaigns/a%00b/"),
        ("post", "/api/campaigns/a%00b/gifts/"),
        ("get", "/api/manage/campaigns/a%00b/"),
        ("post", "/api/manage/campaigns/a%00b/publish/"),
        ("get", "/api/campaigns/" + "a" * 81 + "/"),
    ],
)
def test_a_campaign_slug_that_cannot_be_one_is_a_404(api: APIClient, method: str, path: str) -> None:
    # PostgreSQL refuses a NUL in a text parameter (a 500 before): the URL itself does not match.
    campaign = CampaignFactory(status="live")
    api.force_authenticate(manager_of(campaign.organisation))
    body = {"amount_cents": 500, "email": "a@example.org"}
    response = api.post(path, body, format="json") if method == "post" else api.get(path)
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
