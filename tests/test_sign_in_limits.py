"""Sign-in protection: at most SIGN_IN_FAILURES_PER_EMAIL failed sign-ins per
email and SIGN_IN_FAILURES_PER_CLIENT per client address in
SIGN_IN_WINDOW_MINUTES, on the sign-in page, the admin and the API alike
(429 too_many_attempts, in the user's language); password-reset emails are
limited the same way. The client is the address kernel.net computes: a
forged X-Forwarded-For changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase
from rest_framework.test import APIClient

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

WRONG = "not-the-right-password"


def token_attempt(api: APIClient, email: str, password: str, **headers: str) -> Any:
    return api.post("/api/auth/token/", {"email": email, "password": password}, format="json", **headers)


def test_the_eleventh_failure_for_one_email_is_a_429_even_with_the_right_password(api: APIClient) -> None:
    UserFactory(email="zoe@example.org")
    for n in range(10):
        assert token_attempt(api, "zoe@example.org", WRONG, REMOTE_ADDR=f"10.0.0.{n}").status_code == 400

    refused = token_attempt(api, "Zoe@Example.org", PASSWORD, REMOTE_ADDR="10.0.1.1")

    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts" and "Trop de tentatives" in refused.json()["detail"]
    english = token_attempt(api, "zoe@example.org", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 429 and "Too many attempts" in english.json()["detail"]
    # Another person's email is not locked.
    UserFactory(email="max@example.org")
    assert token_attempt(api, "max@example.org", PASSWORD, REMOTE_ADDR="10.0.1.2").status_code == 200


def test_the_lock_lifts_after_the_window(api: APIClient) -> None:
    UserFactory(email="zoe@example.org")
    for _n in range(10):
        token_attempt(api, "zoe@example.org", WRONG)
    assert token_attempt(api, "zoe@example.org", PASSWORD).status_code == 429
    cache.clear()  # what the window's end does to the counters and the lock
    assert token_attempt(api, "zoe@example.org", PASSWORD).status_code == 200


def test_one_client_gets_fifty_failures_over_many_emails_and_a_forged_forwarded_for_does_not_help(
    api: APIClient,
) -> None:
    UserFactory(email="zoe@example.org")
    for n in range(50):
        forged = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"}
        assert token_attempt(api, f"guess{n}@example.org", WRONG, **forged).status_code == 400
    refused = token_attempt(api, "zoe@example.org", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert refused.status_code == 429
    assert token_attempt(api, "zoe@example.org", PASSWORD, REMOTE_ADDR="192.0.2.9").status_code == 200


def test_behind_a_trusted_proxy_clients_are_told_apart_by_the_address_the_proxy_saw(
    api: APIClient, settings: Any
) -> None:
    settings.TRUSTED_PROXY_HOPS = 1
    settings.SIGN_IN_FAILURES_PER_CLIENT = 3
    for n in range(3):
        token_attempt(api, f"guess{n}@example.org", WRONG, HTTP_X_FORWARDED_FOR="forged, 198.51.100.1")
    assert token_attempt(api, "a@example.org", WRONG, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert token_attempt(api, "a@example.org", WRONG, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 400


def test_the_sign_in_page_answers_429_with_the_message(client: Client) -> None:
    UserFactory(email="zoe@example.org")
    for _n in range(10):
        assert client.post("/comptes/connexion/", {"username": "zoe@example.org", "password": WRONG}).status_code == 200

    refused = client.post("/comptes/connexion/", {"username": "zoe@example.org", "password": PASSWORD})

    assert refused.status_code == 429
    assert "Trop de tentatives" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    english = client.post(
        "/comptes/connexion/", {"username": "zoe@example.org", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.status_code == 429 and "Too many attempts" in english.content.decode()


def test_failures_count_across_the_page_the_admin_and_the_api(client: Client, api: APIClient) -> None:
    UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)
    for _n in range(4):
        client.post("/comptes/connexion/", {"username": "admin@example.org", "password": WRONG})
    for _n in range(3):
        client.post("/admin/login/", {"username": "admin@example.org", "password": WRONG})
    for _n in range(3):
        token_attempt(api, "admin@example.org", WRONG)

    refused = client.post("/admin/login/", {"username": "admin@example.org", "password": PASSWORD})

    assert refused.status_code == 429 and "Trop de tentatives" in refused.content.decode()
    assert client.get("/admin/").status_code == 302  # still signed out


def test_the_admin_signs_in_normally_below_the_limit(client: Client) -> None:
    UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)
    response = client.post("/admin/login/", {"username": "admin@example.org", "password": PASSWORD})
    assert response.status_code == 302 and client.get("/admin/").status_code == 200


def test_password_reset_emails_are_limited_per_address(client: Client, settings: Any) -> None:
    UserFactory(email="zoe@example.org")
    for _n in range(10):
        with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
            assert client.post("/comptes/mot-de-passe/", {"email": "zoe@example.org"}).status_code == 302
    assert len(mail.outbox) == 10

    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        refused = client.post("/comptes/mot-de-passe/", {"email": "ZOE@example.org"})

    assert refused.status_code == 429 and "Trop de tentatives" in refused.content.decode()
    assert len(mail.outbox) == 10


def test_password_reset_emails_are_limited_per_client(client: Client, settings: Any) -> None:
    settings.SIGN_IN_FAILURES_PER_CLIENT = 3
    for n in range(3):
        with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
            client.post("/comptes/mot-de-passe/", {"email": f"someone{n}@example.org"})
    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        assert client.post("/comptes/mot-de-passe/", {"email": "another@example.org"}).status_code == 429


def test_the_refusal_says_how_long_to_wait_from_the_configured_window(api: APIClient, settings: Any) -> None:
    settings.SIGN_IN_WINDOW_MINUTES = 30
    settings.SIGN_IN_FAILURES_PER_EMAIL = 2
    UserFactory(email="lea@example.org")
    for _ in range(2):
        token_attempt(api, "lea@example.org", WRONG)
    refused = token_attempt(api, "lea@example.org", PASSWORD)
    assert refused.status_code == 429 and "30 minutes" in refused.json()["detail"]
    english = token_attempt(api, "lea@example.org", PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert "try again in 30 minutes" in english.json()["detail"]
