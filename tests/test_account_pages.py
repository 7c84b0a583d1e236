from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from django.test import Client, TestCase

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_page_creates_the_account_and_signs_in(client: Client) -> None:
    response = client.post(
        "/comptes/inscription/",
        {"email": "Zoe@Example.org", "first_name": "Zoé", "last_name": "Leroy", "password": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/comptes/profil/"
    user = User.objects.get(email="zoe@example.org")
    assert client.get("/comptes/profil/").context["user"] == user


def test_sign_up_page_says_next_to_the_password_what_is_wrong(client: Client) -> None:
    data = {"email": "zoe@example.org", "first_name": "Zoé", "last_name": "Leroy", "password": "a"}
    response = client.post("/comptes/inscription/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"password"}
    assert re.search(r'id="id_password_error".*trop court', html, re.S)
    assert not User.objects.exists()


def test_sign_in_with_email_then_sign_out(client: Client) -> None:
    UserFactory(email="zoe@example.org")
    page = client.get("/comptes/connexion/")
    assert "Adresse e-mail" in page.content.decode()

    response = client.post("/comptes/connexion/", {"username": "ZOE@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/comptes/profil/").status_code == 200

    assert client.post("/comptes/deconnexion/").status_code == 302
    assert client.get("/comptes/profil/")["Location"].startswith("/comptes/connexion/")


def test_a_wrong_password_is_refused_with_a_french_message(client: Client) -> None:
    UserFactory(email="zoe@example.org")
    response = client.post("/comptes/connexion/", {"username": "zoe@example.org", "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert "Saisissez" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_by_email_lets_the_person_choose_a_new_password(client: Client) -> None:
    user = UserFactory(email="zoe@example.org")

    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        response = client.post("/comptes/mot-de-passe/", {"email": "zoe@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["zoe@example.org"]
    assert "nouveau mot de passe" in message.subject
    link = re.search(r"https?://[^/]+(/comptes/mot-de-passe/\S+/)", message.body)
    assert link is not None

    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    new_password = "une-toute-nouvelle-phrase-2026"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(client: Client) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        response = client.post("/comptes/mot-de-passe/", {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == "/comptes/mot-de-passe/envoye/"
    assert mail.outbox == []


def test_profile_page_saves_the_postal_address(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    data = {
        "first_name": "Zoé",
        "last_name": "Leroy",
        "address_line1": "3 rue des Lilas",
        "address_line2": "",
        "postal_code": "64000",
        "city": "Pau",
        "country": "fr",
    }
    assert client.post("/comptes/profil/", data).status_code == 302
    user.refresh_from_db()
    assert (user.address_line1, user.city, user.country) == ("3 rue des Lilas", "Pau", "FR")


def test_pages_are_in_english_for_an_english_browser(client: Client) -> None:
    html = client.get("/comptes/inscription/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html


def test_the_export_is_a_json_download_of_everything_about_the_person(client: Client) -> None:
    user = UserFactory(email="zoe@example.org", city="Pau")
    client.force_login(user)
    response = client.get("/comptes/profil/export.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["profile"]["email"] == "zoe@example.org" and data["profile"]["city"] == "Pau"
