from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from campaigns.models import Campaign
from donations.models import Gift, PaymentStatus
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


def give(api: APIClient, campaign: Campaign, **fields: Any) -> Any:
    body = {"amount_cents": 2000, "email": "don@example.org", "name": "Paul", "anonymous": False, "message": ""}
    return api.post(f"/api/campaigns/{campaign.slug}/gifts/", {**body, **fields}, format="json")


def test_a_gift_answers_its_id_and_a_checkout_url_and_is_pending(api: APIClient) -> None:
    campaign = CampaignFactory()
    response = give(api, campaign, amount_cents=1500, anonymous=True, message="Bravo")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"gift_id", "checkout_url"}
    gift = Gift.objects.get(pk=body["gift_id"])
    assert (gift.amount_cents, gift.status) == (1500, PaymentStatus.PENDING)
    assert gift.anonymous and gift.message == "Bravo"
    assert gift.user is None
    assert body["checkout_url"].startswith("http://testserver/payments/demo/")


@pytest.mark.parametrize("amount", [0, 99, -100])
def test_a_gift_under_one_euro_is_a_field_level_400(api: APIClient, amount: int) -> None:
    response = give(api, CampaignFactory(), amount_cents=amount)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "amount_cents" in body["fields"]
    assert "1 €" in body["fields"]["amount_cents"][0]
    assert not Gift.objects.exists()


def test_a_gift_over_the_configured_maximum_is_a_field_level_400(api: APIClient, settings: Any) -> None:
    settings.GIFT_MAX_CENTS = 50_000
    campaign = CampaignFactory()
    assert give(api, campaign, amount_cents=50_000).status_code == 201
    response = give(api, campaign, amount_cents=50_001)
    assert response.status_code == 400 and "amount_cents" in response.json()["fields"]


def test_a_gift_needs_a_valid_email_and_whole_cents(api: APIClient) -> None:
    response = give(api, CampaignFactory(), email="nope", amount_cents="12.5")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"email", "amount_cents"}


def test_a_gift_made_while_signed_in_belongs_to_the_person(api: APIClient) -> None:
    user = UserFactory()
    api.force_authenticate(user)
    response = give(api, CampaignFactory(), email=user.email)
    assert Gift.objects.get(pk=response.json()["gift_id"]).user == user


def test_a_draft_or_closed_campaign_takes_no_gift(api: APIClient) -> None:
    assert give(api, CampaignFactory(status=Campaign.Status.DRAFT)).status_code == 404
    assert give(api, CampaignFactory(status=Campaign.Status.CLOSED)).status_code == 404
    assert not Gift.objects.exists()
