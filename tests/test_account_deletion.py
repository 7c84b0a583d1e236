from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from campaigns.models import Membership
from donations.models import Item, ItemPhoto, ItemStatus, ItemTransition
from tests.factories import PASSWORD, ItemFactory, MembershipFactory, UserFactory, add_photo

pytestmark = pytest.mark.django_db


def test_deleting_an_account_erases_the_person_and_keeps_the_books(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory(email="zoe@example.org", first_name="Zoé", address_line1="3 rue des Lilas", city="Pau")
    MembershipFactory(user=user)
    Token.objects.create(user=user)
    listed = ItemFactory(owner=user, status=ItemStatus.LISTED)
    photo = add_photo(listed)
    sold = ItemFactory(owner=user, status=ItemStatus.SOLD)
    client.force_login(user)

    page = client.get("/comptes/profil/supprimer/").content.decode()
    assert "six ans" in page and "dix ans" in page  # the statement itself: tests/test_donor_space.py
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/comptes/profil/supprimer/", {"password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/comptes/supprime/"
    assert "six ans" in client.get("/comptes/supprime/").content.decode()
    user.refresh_from_db()
    assert user.email == f"supprime-{user.pk}@anonyme.invalid"
    assert (user.first_name, user.address_line1, user.city) == ("", "", "")
    assert not user.is_active and not user.has_usable_password()
    assert not Token.objects.exists() and not Membership.objects.exists()
    # Unsold objects are withdrawn (and logged), their photos gone; the sale stays.
    assert Item.objects.get(pk=listed.pk).status == ItemStatus.WITHDRAWN
    assert ItemTransition.objects.filter(item=listed, to_status="withdrawn", actor=user).exists()
    assert not ItemPhoto.objects.filter(item=listed).exists()
    assert not default_storage.exists(photo.image.name)
    assert Item.objects.get(pk=sold.pk).status == ItemStatus.SOLD
    assert Item.objects.get(pk=sold.pk).owner_id == user.pk
    # Nobody can sign in as them again, and the old email is free.
    assert not client.login(username="zoe@example.org", password=PASSWORD)
    assert "_auth_user_id" not in client.session
    UserFactory(email="zoe@example.org")


def test_a_wrong_password_does_not_delete_the_account(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post("/comptes/profil/supprimer/", {"password": "wrong-password-1"})
    assert response.status_code == 400
    assert "Mot de passe incorrect" in response.content.decode()
    assert User.objects.get(pk=user.pk).is_active


def test_an_account_with_an_object_being_bought_cannot_be_deleted_yet(api: APIClient) -> None:
    user = UserFactory()
    reserved = ItemFactory(owner=user, status=ItemStatus.RESERVED)
    api.force_authenticate(user)

    response = api.delete("/api/me/", {"password": PASSWORD}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "account_busy"
    assert User.objects.get(pk=user.pk).is_active
    assert Item.objects.get(pk=reserved.pk).status == ItemStatus.RESERVED


def test_the_api_deletes_the_account_with_the_password(api: APIClient) -> None:
    user = UserFactory()
    api.force_authenticate(user)
    assert api.delete("/api/me/", {"password": "nope-nope-nope"}, format="json").status_code == 400
    assert api.delete("/api/me/", {"password": PASSWORD}, format="json").status_code == 204
    assert not User.objects.get(pk=user.pk).is_active


def test_the_api_export_holds_profile_organisations_and_items_with_history(api: APIClient) -> None:
    user = UserFactory(email="zoe@example.org")
    MembershipFactory(user=user, role=Membership.Role.ADMIN)
    item = ItemFactory(owner=user, status=ItemStatus.LISTED, title="Buffet")
    ItemFactory(status=ItemStatus.LISTED, title="Someone else's")
    api.force_authenticate(user)

    data = api.get("/api/me/export/").json()

    assert data["profile"]["email"] == "zoe@example.org"
    assert [o["role"] for o in data["organisations"]] == ["admin"]
    assert [i["title"] for i in data["items"]] == ["Buffet"]
    assert [step["to"] for step in data["items"][0]["history"]] == ["in_review", "listed"]
    assert data["items"][0]["id"] == item.pk
