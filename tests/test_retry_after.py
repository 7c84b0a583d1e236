"""Every 429 of the API says when trying again may succeed (``Retry-After``, in
seconds), as the schema documents: a held object frees a place when the first
hold ends, the other limits when their window ends."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import CampaignFactory, ItemFactory, UserFactory, image_bytes, item_post_data, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()


def _retry_after(response: Any) -> int:
    assert response.status_code == 429, response.content
    return int(response["Retry-After"])


def test_a_buyer_with_too_many_holds_is_told_when_the_first_ends(api: APIClient, settings: Any) -> None:
    settings.HOLDS_MAX_PER_EMAIL = 1
    first, second = ItemFactory(), ItemFactory()
    assert api.post(f"/api/items/{first.pk}/checkout/", {"email": "a@example.org"}, format="json").status_code == 201

    refused = api.post(f"/api/items/{second.pk}/checkout/", {"email": "a@example.org"}, format="json")

    assert 0 < _retry_after(refused) <= settings.CHECKOUT_HOLD_MINUTES * 60 + 1


def test_payment_attempts_past_the_limit_wait_for_the_hour_to_end(api: APIClient, settings: Any) -> None:
    settings.PAYMENT_ATTEMPTS_PER_EMAIL = 1
    item = ItemFactory()
    api.post(f"/api/items/{item.pk}/checkout/", {"email": "b@example.org"}, format="json")

    refused = api.post(f"/api/items/{ItemFactory().pk}/checkout/", {"email": "b@example.org"}, format="json")

    assert 0 < _retry_after(refused) <= 3600


def test_sign_in_failures_past_the_limit_wait_for_the_window(api: APIClient, settings: Any) -> None:
    UserFactory(email="c@example.org")
    for _n in range(settings.SIGN_IN_FAILURES_PER_EMAIL):
        api.post("/api/auth/token/", {"email": "c@example.org", "password": "wrong-password"}, format="json")

    refused = api.post("/api/auth/token/", {"email": "c@example.org", "password": "wrong-password"}, format="json")

    assert _retry_after(refused) == settings.SIGN_IN_WINDOW_MINUTES * 60


def test_uploads_past_the_hourly_limit_wait_for_the_hour_to_end(api: APIClient, settings: Any) -> None:
    settings.UPLOAD_IMAGES_PER_HOUR = 1
    campaign = CampaignFactory()
    api.force_authenticate(UserFactory())
    photos = [upload(f"{n}.jpg", image_bytes((100, 100), "JPEG")) for n in range(2)]

    refused = api.post("/api/items/", item_post_data(campaign, photos=photos), format="multipart")

    assert 0 < _retry_after(refused) <= 3600


def test_other_errors_carry_no_retry_after(api: APIClient) -> None:
    sold = ItemFactory(status="sold")
    response = api.post(f"/api/items/{sold.pk}/checkout/", {"email": "d@example.org"}, format="json")
    assert response.status_code == 409 and "Retry-After" not in response
