"""``/api/alerts/``: a verified person saves the catalogue's filters (those of
``GET /api/items/``), lists and deletes their own; hostile filters are field errors;
the filters saved are the ones the emails honour (category, department, price, text)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from alerts import services
from alerts.models import Alert
from alerts.selectors import alert_matches
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_of(user: User | None = None) -> APIClient:
    client = APIClient()
    client.force_authenticate(user or UserFactory())
    return client


def test_a_verified_person_saves_a_search_and_gets_it_back() -> None:
    organisation = OrganisationFactory(name="Emmaüs Pau")
    client = client_of()
    body = {
        "q": "  vélo ",
        "category": "bikes",
        "department": "64",
        "organisation": organisation.slug,
        "max_price_cents": 5000,
        "status": "sold",  # not kept: an alert is about listed objects
        "ordering": "price",
    }
    response = client.post("/api/alerts/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == {"id", "filters", "label", "created_at"}
    assert created["filters"] == {
        "category": "bikes",
        "department": "64",
        "max_price_cents": 5000,
        "organisation": organisation.slug,
        "q": "vélo",
    }
    assert created["label"] == "« vélo » · Vélos · Emmaüs Pau · Pyrénées-Atlantiques (64) · moins de 50,00\xa0€"
    listed = client.get("/api/alerts/").json()
    assert [alert["id"] for alert in listed["results"]] == [created["id"]]


def test_the_label_is_in_the_person_s_language() -> None:
    response = client_of().post(
        "/api/alerts/", {"category": "bikes", "min_price_cents": 1000}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 201
    assert response.json()["label"] == "Bikes · more than €10.00"
    assert Alert.objects.get().language == "en"


def test_the_same_search_saved_twice_is_merged_into_one_alert() -> None:
    client = client_of()
    first = client.post("/api/alerts/", {"q": "Vélo  rouge"}, format="json")
    again = client.post("/api/alerts/", {"q": "vélo rouge"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Alert.objects.count() == 1


def test_a_search_stopped_by_its_link_saved_again_starts_again() -> None:
    client = client_of()
    alert_id = client.post("/api/alerts/", {"q": "lampe"}, format="json").json()["id"]
    services.alert_unsubscribe(alert=Alert.objects.get(pk=alert_id))
    assert client.get("/api/alerts/").json()["results"] == []
    again = client.post("/api/alerts/", {"q": "lampe"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == alert_id
    assert Alert.objects.get(pk=alert_id).unsubscribed_at is None


def test_an_unverified_person_gets_403_email_unverified() -> None:
    response = client_of(UserFactory(email_verified_at=None)).post("/api/alerts/", {"q": "vélo"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"
    assert not Alert.objects.exists()


def test_a_visitor_is_refused() -> None:
    for method, url in (("post", "/api/alerts/"), ("get", "/api/alerts/"), ("delete", "/api/alerts/1/")):
        assert getattr(APIClient(), method)(url, {"q": "vélo"}, format="json").status_code in {401, 403}
    assert not Alert.objects.exists()


def test_another_person_s_alert_is_404_and_stays() -> None:
    theirs = client_of().post("/api/alerts/", {"q": "vélo"}, format="json").json()["id"]
    intruder = client_of()
    assert intruder.delete(f"/api/alerts/{theirs}/").status_code == 404
    assert intruder.get("/api/alerts/").json()["results"] == []
    assert Alert.objects.filter(pk=theirs).exists()


def test_the_owner_deletes_their_alert() -> None:
    client = client_of()
    alert_id = client.post("/api/alerts/", {"q": "vélo"}, format="json").json()["id"]
    assert client.delete(f"/api/alerts/{alert_id}/").status_code == 204
    assert not Alert.objects.exists()
    assert client.delete(f"/api/alerts/{alert_id}/").status_code == 404
    assert client.delete("/api/alerts/99999999999999999999999/").status_code == 404


def test_at_most_twenty_alerts_each_then_a_field_error() -> None:
    user = UserFactory()
    client = client_of(user)
    for n in range(services.MAX_ALERTS):
        assert client.post("/api/alerts/", {"q": f"objet {n}"}, format="json").status_code == 201
    refused = client.post("/api/alerts/", {"q": "un de trop"}, format="json")
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "too_many_alerts" and "filters" in body["fields"]
    assert Alert.objects.filter(user=user).count() == services.MAX_ALERTS
    # Saving one of the twenty again is not a new one.
    assert client.post("/api/alerts/", {"q": "objet 3"}, format="json").status_code == 200
    # Another person has their own twenty.
    assert client_of().post("/api/alerts/", {"q": "un de trop"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"q": "x" * 101}, "q"),
        ({"q": ["vélo", "lampe"]}, "q"),
        ({"q": {"$gt": ""}}, "q"),
        ({"category": "'; DROP TABLE alerts_alert; --"}, "category"),
        ({"department": "99"}, "department"),
        ({"department": "2C"}, "department"),
        ({"campaign": "../../etc/passwd"}, "campaign"),
        ({"organisation": "é" * 81}, "organisation"),
        ({"delivery": "teleport"}, "delivery"),
        ({"min_price_cents": -1}, "min_price_cents"),
        ({"max_price_cents": 10**30}, "max_price_cents"),
        ({"max_price_cents": "beaucoup"}, "max_price_cents"),
        ({"max_price_cents": 1.5}, "max_price_cents"),
        ({"min_price_cents": 5000, "max_price_cents": 100}, "max_price_cents"),
        ({"window": -3}, "window"),
    ],
)
def test_hostile_filters_are_field_errors(body: dict[str, Any], field: str) -> None:
    response = client_of().post("/api/alerts/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    assert not Alert.objects.exists()


def test_a_body_that_is_not_an_object_is_a_400() -> None:
    client = client_of()
    for body in ('["q"]', '"vélo"', "{", "null"):
        response = client.post("/api/alerts/", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
    assert not Alert.objects.exists()


def test_an_alert_without_filters_follows_every_new_object() -> None:
    response = client_of().post("/api/alerts/", {}, format="json")
    assert response.status_code == 201 and response.json()["label"] == "Tous les objets"


# --- The filters the emails honour ------------------------------------------------------------


def matching(filters: dict[str, Any], **item_fields: Any) -> bool:
    alert, _created = services.alert_create(user=UserFactory(), filters=filters)
    item = ItemFactory(**item_fields)
    found = alert_matches(alert=alert, since=alert.watermark, until=alert.watermark + services.EMAIL_INTERVAL)
    alert.delete()
    return item.pk in found.item_ids


def test_the_category_filter_is_honoured() -> None:
    assert matching({"category": "bikes"}, category="bikes")
    assert not matching({"category": "bikes"}, category="books")


def test_the_department_filter_is_honoured() -> None:
    assert matching({"department": "64"}, department="64")
    assert not matching({"department": "64"}, department="40")


def test_the_price_filters_are_honoured() -> None:
    assert matching({"max_price_cents": 5000}, price_cents=5000)
    assert not matching({"max_price_cents": 5000}, price_cents=5001)
    assert matching({"min_price_cents": 1000, "max_price_cents": 2000}, price_cents=1500)
    assert not matching({"min_price_cents": 1000}, price_cents=999)


def test_the_organisation_and_campaign_filters_are_honoured() -> None:
    campaign = CampaignFactory()
    assert matching({"organisation": campaign.organisation.slug}, campaign=campaign)
    assert not matching({"organisation": campaign.organisation.slug})
    assert matching({"campaign": campaign.slug}, campaign=campaign)


@pytest.mark.parametrize("q", ["vélo", "VELO", "Vélo", "velo"])
def test_the_text_filter_ignores_accents_and_case(q: str) -> None:
    assert matching({"q": q}, title="Beau vélo de course")
    assert not matching({"q": q}, title="Table de jardin")


def test_the_hourly_sweep_is_one_query_per_alert(django_assert_max_num_queries: Any) -> None:
    for n in range(5):
        services.alert_create(user=UserFactory(), filters={"q": f"introuvable {n}"})
    ItemFactory(title="Vélo")
    from django.utils import timezone

    # The due alerts (1), one search each (5), the watermarks moved in one UPDATE (1).
    with django_assert_max_num_queries(7):
        assert services.alerts_send_due(now=timezone.now() + 2 * services.SETTLE) == 0


def test_repeated_or_form_encoded_filters_keep_one_value() -> None:
    client = client_of()
    response = client.post(
        "/api/alerts/", "q=lampe&q=vélo&category=bikes", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201, response.content
    assert response.json()["filters"] == {"category": "bikes", "q": "vélo"}


def test_the_person_s_data_export_lists_their_alerts_and_deletion_removes_them() -> None:
    from accounts.selectors import user_data_export
    from accounts.services import user_delete

    user = UserFactory()
    services.alert_create(user=user, filters={"q": "vélo"})
    exported = user_data_export(user=user)
    assert [alert["filters"] for alert in exported["search_alerts"]] == [{"q": "vélo"}]
    user_delete(user=user)
    assert not Alert.objects.exists()
