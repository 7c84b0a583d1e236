"""``GET /api/delivery/relay-points/?postal_code=…``: the 20 nearest relay points as a
plain list, a field error in the caller's language for anything that is not a
French postal code, and the carrier asked once per code for a while."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from delivery import demo_carrier
from delivery.carriers import CarrierError, RelayPoint

pytestmark = pytest.mark.django_db

URL = "/api/delivery/relay-points/"


def test_the_twenty_nearest_relay_points_as_a_plain_list() -> None:
    response = APIClient().get(URL, {"postal_code": "75004"})
    assert response.status_code == 200
    points = response.json()
    assert isinstance(points, list) and len(points) == 20
    assert points[0] == {
        "id": "DEMO-75004-00",
        "name": points[0]["name"],
        "address_line1": points[0]["address_line1"],
        "postal_code": "75004",
        "city": "Paris",  # the department's name: the demo knows no towns
        "carrier": "demo",
    }
    assert set(points[0]) == {"id", "name", "address_line1", "postal_code", "city", "carrier"}


def test_a_postal_code_typed_with_spaces_is_understood() -> None:
    response = APIClient().get(URL, {"postal_code": " 75 004 "})
    assert response.status_code == 200 and response.json()[0]["postal_code"] == "75004"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"postal_code": ""},
        {"postal_code": "7500"},
        {"postal_code": "750044"},
        {"postal_code": "99999"},  # no such department
        {"postal_code": "98000"},  # Monaco
        {"postal_code": "ABCDE"},
        {"postal_code": "75004' OR 1=1--"},
        {"postal_code": "75004\u0000"},
        {"postal_code": "７５００４"},  # full-width digits
        {"postal_code": "7" * 5000},
    ],
)
def test_anything_but_a_french_postal_code_is_a_field_error(query: dict[str, str]) -> None:
    response = APIClient().get(URL, query)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == ["postal_code"]


def test_the_error_is_in_the_callers_language() -> None:
    french = APIClient().get(URL, {"postal_code": "123"}, HTTP_ACCEPT_LANGUAGE="fr").json()
    english = APIClient().get(URL, {"postal_code": "123"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert french["fields"]["postal_code"][0].startswith("Indiquez un code postal français")
    assert english["fields"]["postal_code"][0].startswith("Give a five-digit French postal code")


def test_the_carrier_is_asked_once_per_postal_code_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    original = demo_carrier.DemoCarrier.relay_points

    def counting(self: Any, *, postal_code: str, limit: int = 20) -> list[RelayPoint]:
        asked.append(postal_code)
        return original(self, postal_code=postal_code, limit=limit)

    monkeypatch.setattr(demo_carrier.DemoCarrier, "relay_points", counting)
    for code in ("75004", "75004", "75 004", "69100"):
        assert APIClient().get(URL, {"postal_code": code}).status_code == 200
    assert asked == ["75004", "69100"]


def test_a_carrier_that_fails_is_a_503_with_a_clear_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(self: Any, *, postal_code: str, limit: int = 20) -> list[RelayPoint]:
        raise CarrierError("connection refused")

    monkeypatch.setattr(demo_carrier.DemoCarrier, "relay_points", down)
    response = APIClient().get(URL, {"postal_code": "75004"})
    assert response.status_code == 503
    assert response.json()["code"] == "carrier_unavailable"
    assert "connection refused" not in response.json()["detail"]  # the carrier's own words stay in the logs


def test_writing_is_not_allowed() -> None:
    assert APIClient().post(URL, {"postal_code": "75004"}, format="json").status_code == 405


def test_a_client_walking_every_postal_code_is_stopped_for_the_hour(settings: Any) -> None:
    settings.RELAY_SEARCHES_PER_CLIENT = 3
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    for code in ("75001", "75002", "75003"):
        assert client.get(URL, {"postal_code": code}).status_code == 200
    refused = client.get(URL, {"postal_code": "75004"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_searches"
    assert refused.json()["detail"].startswith("Too many relay point searches")
    assert int(refused["Retry-After"]) > 0
    assert APIClient(REMOTE_ADDR="203.0.113.10").get(URL, {"postal_code": "75004"}).status_code == 200
