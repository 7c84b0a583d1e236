from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.test import Client

from tests.components import free_port

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_channel_layer(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_healthz_is_503_when_the_channel_layer_is_down(client: Client, settings: Any) -> None:
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},
        }
    }
    channel_layers.backends.clear()
    try:
        response = client.get("/healthz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "down"
    assert response.json()["database"] == "ok"


def test_healthz_is_503_when_the_database_is_down(client: Client) -> None:
    with mock.patch("tremma.health.connection") as broken:
        broken.cursor.side_effect = RuntimeError("connection refused")
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_openapi_schema_is_a_valid_openapi_3_document(client: Client) -> None:
    from openapi_spec_validator import validate

    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "/api/items/" in document["paths"] and "/api/campaigns/{slug}/" in document["paths"]
    parameters = {p["name"] for p in document["paths"]["/api/items/"]["get"]["parameters"]}
    assert {"campaign", "status", "q", "page"} <= parameters


def test_api_docs_page_is_served(client: Client) -> None:
    assert client.get("/api/docs/").status_code == 200
