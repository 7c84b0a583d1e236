"""A cross-site POST without a CSRF token is refused on every state-changing
endpoint a browser can reach: every unsafe operation of the OpenAPI schema
and every page form."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from donations.models import ItemStatus
from tests.factories import PASSWORD, ItemFactory, UserFactory, manager_of

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")
EVIL = "https://evil.example"


@functools.cache
def unsafe_operations() -> list[tuple[str, str]]:
    document = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return [
        (method, path) for path, operations in document["paths"].items() for method in operations if method in UNSAFE
    ]


def fill(path: str, item_pk: int, slug: str) -> str:
    return re.sub(r"\{slug\}", slug, re.sub(r"\{(id|pk)\}", str(item_pk), path))


@pytest.fixture
def target() -> dict[str, Any]:
    owner = UserFactory()
    item = ItemFactory(owner=owner, status=ItemStatus.IN_REVIEW)
    return {"owner": owner, "item": item, "manager": manager_of(item.campaign.organisation)}


def test_the_schema_has_unsafe_operations_to_check() -> None:
    operations = unsafe_operations()
    assert ("post", "/api/items/") in operations and ("post", "/api/accounts/") in operations
    assert len(operations) >= 8


@pytest.mark.parametrize("who", ["owner", "manager", "anonymous"])
def test_every_unsafe_api_operation_refuses_a_cross_site_browser_post(target: dict[str, Any], who: str) -> None:
    item = target["item"]
    for method, path in unsafe_operations():
        client = APIClient(enforce_csrf_checks=True)
        if who != "anonymous":
            client.force_login(target[who])
        else:
            client.cookies["csrftoken"] = "x" * 32  # a browser that visited once
        url = fill(path, item.pk, item.campaign.slug)
        response = getattr(client, method)(url, {}, format="json", HTTP_ORIGIN=EVIL)
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["code"] == "csrf_failed", (method, url)
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_REVIEW


def test_a_same_site_browser_request_with_the_token_passes() -> None:
    client = Client(enforce_csrf_checks=True)
    user = UserFactory()
    client.force_login(user)
    page = client.get("/comptes/profil/")
    token = page.cookies["csrftoken"].value
    response = client.patch("/api/me/", '{"city": "Pau"}', content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    assert User.objects.get(pk=user.pk).city == "Pau"


def test_an_api_client_without_cookies_uses_its_token_and_needs_no_csrf() -> None:
    client = APIClient(enforce_csrf_checks=True)
    signed_up = client.post(
        "/api/accounts/",
        {"email": "app@example.org", "password": PASSWORD, "first_name": "A", "last_name": "B"},
        format="json",
    )
    assert signed_up.status_code == 201
    token = client.post("/api/auth/token/", {"email": "app@example.org", "password": PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.patch("/api/me/", {"city": "Lyon"}, format="json").status_code == 200


PAGE_FORMS = [
    "/comptes/inscription/",
    "/comptes/connexion/",
    "/comptes/deconnexion/",
    "/comptes/mot-de-passe/",
    "/comptes/profil/",
    "/comptes/profil/supprimer/",
    "/mes-objets/nouveau/",
    "/mes-objets/{id}/retirer/",
    "/gestion/relecture/{id}/accepter/",
    "/gestion/relecture/{id}/refuser/",
    "/gestion/dons/{id}/accepter/",
    "/gestion/dons/{id}/recu/",
    "/gestion/campagnes/nouvelle/",
    "/gestion/campagnes/{slug}/",
    "/gestion/campagnes/{slug}/publier/",
    "/gestion/campagnes/{slug}/cloturer/",
]


@pytest.mark.parametrize("path", PAGE_FORMS)
@pytest.mark.parametrize("who", ["owner", "manager", "anonymous"])
def test_every_page_form_refuses_a_post_without_a_token(target: dict[str, Any], path: str, who: str) -> None:
    client = Client(enforce_csrf_checks=True)
    if who != "anonymous":
        client.force_login(target[who])
    url = fill(path, target["item"].pk, target["item"].campaign.slug)
    response = client.post(url, {"email": "x@example.org", "password": PASSWORD}, HTTP_ORIGIN=EVIL)
    assert response.status_code == 403
    target["item"].refresh_from_db()
    assert target["item"].status == ItemStatus.IN_REVIEW
