from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from checkout.services import reservations_release_expired
from donations.models import Item, ItemStatus, Order, PaymentStatus, Reservation
from payments.gateways import GatewayError
from realtime.models import RealtimeEvent
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def checkout(api: APIClient, item: Item, email: str = "passant@example.org", **extra: Any) -> Any:
    return api.post(f"/api/items/{item.pk}/checkout/", {"email": email}, format="json", **extra)


def test_checkout_reserves_a_listed_item_and_answers_order_url_and_expiry(api: APIClient) -> None:
    item = ItemFactory(price_cents=4500)

    response = checkout(api, item)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"order_id", "checkout_url", "expires_at"}
    order = Order.objects.get(pk=body["order_id"])
    assert order.amount_cents == 4500 and order.status == PaymentStatus.PENDING and order.provider == "demo"
    assert body["checkout_url"].startswith("http://testserver/payments/demo/")
    assert Item.objects.get(pk=item.pk).status == ItemStatus.RESERVED
    hold = Reservation.objects.get(order=order)
    assert hold.status == Reservation.Status.HELD and hold.expires_at == order.expires_at
    assert timedelta(minutes=29) < order.expires_at - timezone.now() <= timedelta(minutes=30)
    assert list(RealtimeEvent.objects.values_list("type", flat=True)) == ["item.reserved"]
    # The body the documented serializer gives (the view writes it without building one).
    from checkout.api import CheckoutOutputSerializer

    fields = {"order_id": order.pk, "checkout_url": order.checkout_url, "expires_at": order.expires_at}
    assert body == CheckoutOutputSerializer(fields).data
    assert datetime.fromisoformat(body["expires_at"]) == order.expires_at


def test_second_buyer_gets_409_item_unavailable_while_item_is_reserved(api: APIClient) -> None:
    item = ItemFactory()
    assert checkout(api, item).status_code == 201

    response = checkout(api, item, email="autre@example.org")

    assert response.status_code == 409
    assert response.json()["code"] == "item_unavailable"
    assert Order.objects.count() == 1


def test_a_sold_item_answers_409_item_unavailable(api: APIClient) -> None:
    item = ItemFactory(status=ItemStatus.SOLD)
    response = checkout(api, item)
    assert response.status_code == 409 and response.json()["code"] == "item_unavailable"
    assert not Order.objects.exists()


def test_an_expired_hold_is_void_when_the_next_buyer_asks(api: APIClient) -> None:
    item = ItemFactory()
    first = Order.objects.get(pk=checkout(api, item).json()["order_id"])
    Reservation.objects.filter(order=first).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = checkout(api, item, email="second@example.org")

    assert response.status_code == 201
    first.refresh_from_db()
    assert first.status == PaymentStatus.EXPIRED
    assert first.reservations.get().status == Reservation.Status.RELEASED
    assert Item.objects.get(pk=item.pk).status == ItemStatus.RESERVED


def test_the_periodic_job_releases_expired_holds_and_tells_watchers(api: APIClient) -> None:
    assert ("checkout.services.reservations_release_expired", 1) in settings.PERIODIC_JOBS
    item, fresh = ItemFactory(), ItemFactory()
    old = Order.objects.get(pk=checkout(api, item).json()["order_id"])
    checkout(api, fresh, email="b@example.org")
    Reservation.objects.filter(order=old).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert reservations_release_expired() == 1
    assert reservations_release_expired() == 0

    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    assert Item.objects.get(pk=fresh.pk).status == ItemStatus.RESERVED
    assert Order.objects.get(pk=old.pk).status == PaymentStatus.EXPIRED
    assert RealtimeEvent.objects.filter(type="item.released", public__item=item.pk).count() == 1


def test_one_email_cannot_hold_more_than_the_configured_number_of_items(api: APIClient, settings: Any) -> None:
    settings.HOLDS_MAX_PER_EMAIL = 2
    items = ItemFactory.create_batch(3)
    assert checkout(api, items[0], email="Avide@example.org").status_code == 201
    assert checkout(api, items[1], email="avide@example.org").status_code == 201

    response = checkout(api, items[2], email="AVIDE@example.org")

    assert response.status_code == 429 and response.json()["code"] == "too_many_holds"
    assert Item.objects.get(pk=items[2].pk).status == ItemStatus.LISTED


def test_the_client_address_cap_ignores_a_forged_forwarded_header_without_trusted_proxies(
    api: APIClient, settings: Any
) -> None:
    settings.HOLDS_MAX_PER_CLIENT = 1
    settings.TRUSTED_PROXY_HOPS = 0
    first, second = ItemFactory(), ItemFactory()
    assert checkout(api, first, email="a@example.org", HTTP_X_FORWARDED_FOR="10.0.0.1").status_code == 201

    response = checkout(api, second, email="b@example.org", HTTP_X_FORWARDED_FOR="10.0.0.2")

    assert response.status_code == 429  # same REMOTE_ADDR: the header is not trusted


def test_the_client_address_cap_uses_the_address_our_trusted_proxy_saw(api: APIClient, settings: Any) -> None:
    settings.HOLDS_MAX_PER_CLIENT = 1
    settings.TRUSTED_PROXY_HOPS = 1
    first, second, third = ItemFactory(), ItemFactory(), ItemFactory()
    assert checkout(api, first, email="a@example.org", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.1").status_code == 201
    # A different real client behind the same proxy is not capped…
    assert checkout(api, second, email="b@example.org", HTTP_X_FORWARDED_FOR="10.0.0.2").status_code == 201
    # …while the first client, even forging a left-most address, is.
    response = checkout(api, third, email="c@example.org", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.1")
    assert response.status_code == 429


def test_a_provider_failure_marks_the_order_failed_and_releases_the_item(api: APIClient) -> None:
    item = ItemFactory()
    with mock.patch("payments.demo_gateway.DemoGateway.checkout_create", side_effect=GatewayError("provider down")):
        response = checkout(api, item)

    assert response.status_code == 503 and response.json()["code"] == "payment_unavailable"
    assert "provider down" not in response.content.decode()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    order = Order.objects.get()
    assert order.status == PaymentStatus.FAILED and order.reservations.get().status == Reservation.Status.RELEASED
    assert list(RealtimeEvent.objects.values_list("type", flat=True)) == ["item.reserved", "item.released"]
    assert checkout(api, item).status_code == 201  # and the item can be bought again


def test_a_bad_email_is_a_field_level_400_and_reserves_nothing(api: APIClient) -> None:
    item = ItemFactory()
    response = checkout(api, item, email="pas-un-email")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "email" in body["fields"]
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED


def test_an_item_in_review_is_not_found_for_checkout(api: APIClient) -> None:
    item = ItemFactory(status=ItemStatus.IN_REVIEW)
    assert checkout(api, item).status_code == 404


def test_an_order_made_while_signed_in_belongs_to_the_person(api: APIClient) -> None:
    user = UserFactory()
    api.force_authenticate(user)
    response = checkout(api, ItemFactory(), email=user.email)
    assert Order.objects.get(pk=response.json()["order_id"]).user == user


def test_payment_attempts_are_limited_per_email_and_per_client_address(api: APIClient, settings: Any) -> None:
    settings.PAYMENT_ATTEMPTS_PER_EMAIL = 2
    settings.PAYMENT_ATTEMPTS_PER_CLIENT = 3
    sold = ItemFactory(status=ItemStatus.SOLD)
    assert checkout(api, sold, email="carte@example.org").status_code == 409
    assert checkout(api, sold, email="CARTE@example.org").status_code == 409

    by_email = checkout(api, sold, email="carte@example.org", REMOTE_ADDR="10.9.9.9")
    assert by_email.status_code == 429 and by_email.json()["code"] == "too_many_attempts"

    assert checkout(api, sold, email="autre@example.org").status_code == 409
    response = api.post(
        f"/api/campaigns/{sold.campaign.slug}/gifts/", {"amount_cents": 500, "email": "x@example.org"}, format="json"
    )
    assert response.status_code == 429  # the fourth attempt from this address, whatever the endpoint


@pytest.mark.parametrize(
    "body",
    [
        {"email": " Passant@Example.org "},
        {"email": "passant@example.org", "other": "ignored"},
        {},
        {"email": ""},
        {"email": "pas-une-adresse"},
        {"email": None},
        {"email": 42},
        {"email": ["a@example.org"]},
        {"email": {"a": "b"}},
        {"email": "a" * 250 + "@example.org"},
        ["a@example.org"],
        "a@example.org",
        None,
    ],
)
def test_the_checkouts_email_is_the_one_its_serializer_validates_or_its_very_refusal(body: Any) -> None:
    """The one-item checkout validates its body with the serializer's own field built once: the
    same e-mail, or the serializer's own error, field by field, for every body a stranger sends."""
    from rest_framework.exceptions import ValidationError

    from checkout.api import CheckoutInputSerializer, _checkout_email

    serializer = CheckoutInputSerializer(data=body)
    if serializer.is_valid():
        assert _checkout_email(body) == serializer.validated_data["email"]
    else:
        with pytest.raises(ValidationError) as refused:
            _checkout_email(body)
        assert refused.value.detail == serializer.errors


def test_a_hostile_checkout_body_gets_the_serializers_field_errors(api: APIClient) -> None:
    item = ItemFactory()
    for body, field in [({"email": "pas-une-adresse"}, "email"), ({}, "email"), (["x"], "non_field_errors")]:
        response = api.post(f"/api/items/{item.pk}/checkout/", body, format="json")
        assert response.status_code == 400 and field in str(response.json()), response.content
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED and not Order.objects.exists()
