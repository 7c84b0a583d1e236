"""API tokens expire (API_TOKEN_TTL_DAYS), a sign-out revokes them, and a
new password (API or reset page) revokes every token and session."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "une-toute-nouvelle-phrase-2026"


def sign_in(email: str = "zoe@example.org", password: str = PASSWORD) -> dict[str, Any]:
    response = APIClient().post("/api/auth/token/", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def age(key: str, days: int) -> None:
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(days=days))


def test_a_token_comes_with_its_expiry_thirty_days_ahead_by_default() -> None:
    UserFactory(email="zoe@example.org")
    body = sign_in()
    assert set(body) == {"token", "expires_at"}
    assert body["expires_at"].endswith(("+01:00", "+02:00"))  # ISO 8601 with the local offset
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_an_expired_token_is_a_401_and_signing_in_again_gives_a_fresh_one() -> None:
    UserFactory(email="zoe@example.org")
    old = sign_in()["token"]
    assert with_token(old).get("/api/me/").status_code == 200
    age(old, 30)

    refused = with_token(old).get("/api/me/")

    assert refused.status_code == 401 and refused.json()["code"] == "token_expired"
    assert refused["WWW-Authenticate"] == "Token"
    fresh = sign_in()["token"]
    assert fresh != old and with_token(fresh).get("/api/me/").status_code == 200


def test_a_valid_token_is_given_again_until_it_expires() -> None:
    UserFactory(email="zoe@example.org")
    first = sign_in()
    age(first["token"], 29)
    again = sign_in()
    assert again["token"] == first["token"]
    left = datetime.fromisoformat(again["expires_at"]) - timezone.now()
    assert timedelta(hours=23) < left <= timedelta(days=1)


def test_the_lifetime_follows_the_setting(settings: Any) -> None:
    settings.API_TOKEN_TTL_DAYS = 2
    UserFactory(email="zoe@example.org")
    key = sign_in()["token"]
    age(key, 1)
    assert with_token(key).get("/api/me/").status_code == 200
    age(key, 2)
    assert with_token(key).get("/api/me/").status_code == 401


def test_sign_out_revokes_the_token() -> None:
    UserFactory(email="zoe@example.org")
    client = with_token(sign_in()["token"])
    assert client.post("/api/auth/logout/").status_code == 204
    assert client.get("/api/me/").status_code == 401
    assert not Token.objects.exists()
    assert APIClient().post("/api/auth/logout/").status_code in {401, 403}


def test_changing_the_password_revokes_every_token_and_session() -> None:
    user = UserFactory(email="zoe@example.org")
    key = sign_in()["token"]
    browser = Client()
    browser.login(username="zoe@example.org", password=PASSWORD)
    assert browser.get("/api/me/").status_code == 200

    response = with_token(key).post(
        "/api/me/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 204
    assert with_token(key).get("/api/me/").status_code == 401
    assert browser.get("/api/me/").status_code == 403
    assert browser.get("/comptes/profil/").status_code == 302
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert sign_in(password=NEW_PASSWORD)["token"] != key


def test_a_password_change_reports_each_field_and_changes_nothing() -> None:
    user = UserFactory(email="zoe@example.org", first_name="Zoé")
    client = with_token(sign_in()["token"])

    wrong_old = client.post("/api/me/password/", {"old_password": "nope", "new_password": NEW_PASSWORD}, format="json")
    weak_new = client.post("/api/me/password/", {"old_password": PASSWORD, "new_password": "court"}, format="json")
    missing = client.post("/api/me/password/", {}, format="json")
    english = client.post(
        "/api/me/password/", {"old_password": "nope", "new_password": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert wrong_old.status_code == 400 and list(wrong_old.json()["fields"]) == ["old_password"]
    assert weak_new.status_code == 400 and list(weak_new.json()["fields"]) == ["new_password"]
    assert "court" in weak_new.json()["fields"]["new_password"][0]
    assert missing.status_code == 400 and set(missing.json()["fields"]) == {"old_password", "new_password"}
    assert "Incorrect password." in english.json()["fields"]["old_password"]
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)
    assert client.get("/api/me/").status_code == 200


def test_a_password_reset_revokes_every_token_and_session() -> None:
    UserFactory(email="zoe@example.org")
    key = sign_in()["token"]
    browser = Client()
    browser.login(username="zoe@example.org", password=PASSWORD)

    reset_client = Client()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        reset_client.post("/comptes/mot-de-passe/", {"email": "zoe@example.org"})
    link = re.search(r"https?://[^/]+(/comptes/mot-de-passe/\S+/)", mail.outbox[-1].body)
    assert link is not None
    form = reset_client.get(link.group(1), follow=True)
    reset_client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert with_token(key).get("/api/me/").status_code == 401
    assert browser.get("/comptes/profil/").status_code == 302
