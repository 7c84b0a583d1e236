from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from campaigns.models import Membership
from tests.factories import PASSWORD, MembershipFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGN_UP = {"email": "Louise.Martin@Example.org", "password": PASSWORD, "first_name": "Louise", "last_name": "Martin"}


def test_sign_up_creates_an_account_with_the_email_as_login(api: APIClient) -> None:
    response = api.post("/api/accounts/", SIGN_UP, format="json")

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {"id": user.pk, "email": "louise.martin@example.org"}
    assert user.check_password(PASSWORD)
    assert (user.first_name, user.last_name) == ("Louise", "Martin")


@pytest.mark.parametrize("password", ["short", "password1234", "12345678901234", "louise.martin@example"])
def test_a_weak_or_common_password_is_a_400_on_password(api: APIClient, password: str) -> None:
    response = api.post("/api/accounts/", {**SIGN_UP, "password": password}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["password"]
    assert body["fields"]["password"]
    assert not User.objects.exists()


def test_error_messages_are_french_by_default_and_english_on_request(api: APIClient) -> None:
    french = api.post("/api/accounts/", {**SIGN_UP, "password": "short"}, format="json").json()
    english = api.post(
        "/api/accounts/", {**SIGN_UP, "password": "short"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    ).json()
    assert "court" in " ".join(french["fields"]["password"])
    assert "short" in " ".join(english["fields"]["password"])


def test_an_email_already_used_is_a_400_on_email_whatever_its_case(api: APIClient) -> None:
    UserFactory(email="louise.martin@example.org")
    response = api.post("/api/accounts/", SIGN_UP, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["fields"]
    assert User.objects.count() == 1


def test_missing_fields_are_each_reported(api: APIClient) -> None:
    response = api.post("/api/accounts/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"email", "password", "first_name", "last_name"}


def test_a_token_is_issued_for_email_and_password_and_authenticates_the_api(api: APIClient) -> None:
    user = UserFactory(email="camille@example.org")

    response = api.post("/api/auth/token/", {"email": "Camille@Example.org", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=user).key == token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/me/").json()["email"] == "camille@example.org"


@pytest.mark.parametrize("password", ["wrong-password-123", ""])
def test_a_wrong_password_gets_no_token(api: APIClient, password: str) -> None:
    UserFactory(email="camille@example.org")
    response = api.post("/api/auth/token/", {"email": "camille@example.org", "password": password}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.exists()


def test_an_inactive_account_gets_no_token(api: APIClient) -> None:
    UserFactory(email="camille@example.org", is_active=False)
    response = api.post("/api/auth/token/", {"email": "camille@example.org", "password": PASSWORD}, format="json")
    assert response.status_code == 400


def test_me_needs_a_signed_in_person(api: APIClient) -> None:
    response = api.get("/api/me/")
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_me_shows_the_profile_address_and_organisations_with_roles(api: APIClient) -> None:
    user = UserFactory(email="karim@example.org", city="Paris", postal_code="75010")
    organisation = OrganisationFactory(slug="la-boucle", name="La Boucle")
    MembershipFactory(user=user, organisation=organisation, role=Membership.Role.ADMIN)
    api.force_authenticate(user)

    body = api.get("/api/me/").json()

    assert body["email"] == "karim@example.org"
    assert (body["postal_code"], body["city"], body["country"]) == ("75010", "Paris", "FR")
    assert body["organisations"] == [{"slug": "la-boucle", "name": "La Boucle", "role": "admin"}]
    assert "password" not in body


def test_patch_me_changes_the_profile_but_never_the_email(api: APIClient) -> None:
    user = UserFactory(email="karim@example.org")
    api.force_authenticate(user)

    response = api.patch(
        "/api/me/",
        {"first_name": "Karim", "address_line1": "12 rue des Vinaigriers", "country": "be", "email": "x@evil.test"},
        format="json",
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.first_name, user.address_line1, user.country, user.email) == (
        "Karim",
        "12 rue des Vinaigriers",
        "BE",
        "karim@example.org",
    )


def test_patch_me_refuses_a_bad_country_code_on_its_field(api: APIClient) -> None:
    api.force_authenticate(UserFactory())
    response = api.patch("/api/me/", {"country": "France"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["country"]
