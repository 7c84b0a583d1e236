"""Email verification (issue 13, "the right person"): sign-up sends a link;
nothing is attached to an account by its address until it is verified; the
owner of an address squatted by someone else's sign-up takes the account
back, wiped, by the link or by a password reset."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from receipts.issuing import receipt_issue_for_gift
from receipts.models import ReceiptWait, TaxReceipt
from tests.factories import PASSWORD, UserFactory
from tests.receipts_support import paid_gift, ready_campaign

pytestmark = pytest.mark.django_db

SQUATTER = {
    "email": "alice@example.org",
    "password": "le-mot-de-passe-du-squatteur",
    "first_name": "Sam",
    "last_name": "Squatteur",
}
SQUATTER_ADDRESS = {"address_line1": "6 impasse du Leurre", "postal_code": "13001", "city": "Marseille"}
ALICE_PASSWORD = "la-phrase-secrete-d-alice-2026"


def verification_path(message: Any) -> str:
    found = re.search(r"https?://[^/\s]+(/comptes/verifier/[^/\s]+/)", message.body)
    assert found is not None, message.body
    return found.group(1)


def token_of(path: str) -> str:
    return path.removeprefix("/comptes/verifier/").removesuffix("/")


@pytest.fixture
def sign_up(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Sign up through the API, the verification email sent (after commit)."""

    def _sign_up(api: APIClient, **fields: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/accounts/", {**SQUATTER, **fields}, format="json")
        assert response.status_code == 201, response.content
        return response

    return _sign_up


def squatted_account(api: APIClient, sign_up: Callable[..., Any]) -> tuple[User, str, Client, str]:
    """An unverified account holding alice@ created by someone else, with their
    name and address, an open session and an API token. Returns it, the link
    mailed to Alice, the squatter's browser and the squatter's token."""
    sign_up(api)
    user = User.objects.get(email="alice@example.org")
    services.user_update_profile(user=user, changes=dict(SQUATTER_ADDRESS))
    link = verification_path(mail.outbox[-1])
    browser = Client()
    assert browser.login(username=SQUATTER["email"], password=SQUATTER["password"])
    token = api.post("/api/auth/token/", {"email": SQUATTER["email"], "password": SQUATTER["password"]}).json()["token"]
    assert browser.get("/api/me/").status_code == 200
    return user, link, browser, token


def assert_squatter_is_gone(user: User, browser: Client, token: str) -> None:
    user.refresh_from_db()
    assert user.email_verified
    assert (user.first_name, user.last_name, user.address_line1, user.postal_code, user.city) == ("", "", "", "", "")
    assert not user.check_password(SQUATTER["password"])
    assert browser.get("/api/me/").status_code in {401, 403}
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert with_token.get("/api/me/").status_code == 401
    refused = APIClient().post("/api/auth/token/", {"email": SQUATTER["email"], "password": SQUATTER["password"]})
    assert refused.status_code == 400


def test_sign_up_sends_a_verification_link_and_the_account_starts_unverified(
    api: APIClient, sign_up: Callable[..., Any]
) -> None:
    sign_up(api)
    [message] = mail.outbox
    assert message.to == ["alice@example.org"] and "confirmez votre adresse" in message.subject
    assert verification_path(message).startswith("/comptes/verifier/")
    user = User.objects.get()
    assert not user.email_verified
    api.force_authenticate(user)
    assert api.get("/api/me/").json()["email_verified"] is False


def test_the_verification_email_is_in_english_for_an_english_sign_up(sign_up: Callable[..., Any]) -> None:
    with_english = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    sign_up(with_english, email="bob@example.org")
    message = mail.outbox[-1]
    assert "confirm your email address" in message.subject.lower()
    assert "open this link" in message.body


def test_the_api_verifies_the_address_of_the_signed_in_person_and_keeps_their_account(
    api: APIClient, sign_up: Callable[..., Any]
) -> None:
    sign_up(api)
    user = User.objects.get()
    token = token_of(verification_path(mail.outbox[0]))
    api.force_authenticate(user)

    response = api.post("/api/accounts/verify/", {"token": token}, format="json")

    assert response.status_code == 200
    assert response.json() == {"email": "alice@example.org", "email_verified": True, "password_required": False}
    api.force_authenticate(User.objects.get(pk=user.pk))
    assert api.get("/api/me/").json()["email_verified"] is True
    user.refresh_from_db()
    assert user.first_name == "Sam" and user.check_password(SQUATTER["password"])
    again = api.post("/api/accounts/verify/", {"token": token}, format="json")
    assert again.status_code == 400 and "token" in again.json()["fields"]


def test_the_link_page_verifies_with_one_button_when_signed_in_to_the_account(
    api: APIClient, sign_up: Callable[..., Any]
) -> None:
    sign_up(api)
    link = verification_path(mail.outbox[0])
    browser = Client()
    browser.login(username=SQUATTER["email"], password=SQUATTER["password"])

    page = browser.get(link)
    assert page.status_code == 200 and "new_password1" not in page.content.decode()
    assert not User.objects.get().email_verified  # a GET changes nothing (mail scanners open links)
    assert browser.post(link).status_code == 302
    user = User.objects.get()
    assert user.email_verified and user.first_name == "Sam"
    assert browser.get("/comptes/profil/").status_code == 200


def _forged_tokens(user: User, other: User) -> dict[str, str]:
    real = services.email_verification_token(user)
    uid, _dot, secret = real.partition(".")
    other_uid = services.email_verification_token(other).partition(".")[0]
    return {
        "garbage": "n'importe quoi",
        "empty secret": f"{uid}.",
        "tampered": f"{uid}.{secret[:-1]}{'a' if secret[-1] != 'a' else 'b'}",
        "another account's id": f"{other_uid}.{secret}",
        "huge id": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5.abc-def",
        "not base64": "%%%.abc-def",
    }


def test_hostile_tokens_are_a_400_on_token_never_a_500(api: APIClient) -> None:
    user = UserFactory(email_verified_at=None)
    other = UserFactory(email_verified_at=None)
    for name, token in _forged_tokens(user, other).items():
        response = api.post("/api/accounts/verify/", {"token": token}, format="json")
        assert response.status_code == 400, name
        assert response.json()["code"] == "invalid" and list(response.json()["fields"]) == ["token"], name
        assert Client().get(f"/comptes/verifier/{token.replace('%', 'x')}/").status_code == 400, name
    assert not User.objects.filter(email_verified_at__isnull=False).exists()


def test_an_expired_link_is_refused(api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    user = UserFactory(email_verified_at=None)
    token = services.email_verification_token(user)
    later = timezone.localtime() + timedelta(days=4)
    monkeypatch.setattr(services.email_verification_tokens, "_now", lambda: later.replace(tzinfo=None))
    response = api.post("/api/accounts/verify/", {"token": token}, format="json")
    assert response.status_code == 400 and "expiré" in response.json()["fields"]["token"][0]


def test_a_link_used_by_another_signed_in_account_is_refused(api: APIClient) -> None:
    owner = UserFactory(email_verified_at=None)
    api.force_authenticate(UserFactory(email_verified_at=None))
    response = api.post("/api/accounts/verify/", {"token": services.email_verification_token(owner)}, format="json")
    assert response.status_code == 400 and "autre compte" in response.json()["fields"]["token"][0]
    assert not User.objects.get(pk=owner.pk).email_verified


def test_receipts_answer_403_email_unverified_until_the_address_is_verified(api: APIClient) -> None:
    person = UserFactory(email_verified_at=None)
    api.force_authenticate(person)
    response = api.get("/api/me/receipts/")
    assert response.status_code == 403 and response.json()["code"] == "email_unverified"
    assert "adresse e-mail" in response.json()["detail"]
    User.objects.filter(pk=person.pk).update(email_verified_at=timezone.now())
    api.force_authenticate(User.objects.get(pk=person.pk))
    assert api.get("/api/me/receipts/").status_code == 200


def test_signing_up_with_a_donors_address_never_gets_their_receipt(api: APIClient, sign_up: Callable[..., Any]) -> None:
    """The bug this fixes: the squatter got the donor's Cerfa with their own name and address on it."""
    sign_up(api)
    squatter = User.objects.get(email="alice@example.org")
    services.user_update_profile(user=squatter, changes=dict(SQUATTER_ADDRESS))
    gift = paid_gift(ready_campaign(), 5000, email="Alice@Example.org")

    assert receipt_issue_for_gift(gift_id=gift.pk) is None
    assert not TaxReceipt.objects.exists()
    assert ReceiptWait.objects.get(gift=gift).giver is None
    api.force_authenticate(squatter)
    assert api.get("/api/me/receipts/").status_code == 403
    assert api.get("/api/me/receipts/status/").json()["waiting"] == 0


def test_once_verified_the_owner_gets_the_receipt_of_a_gift_made_at_their_address(api: APIClient) -> None:
    owner = UserFactory(email="alice@example.org", address_line1="1 rue Haute", postal_code="64000", city="Pau")
    receipt = receipt_issue_for_gift(gift_id=paid_gift(ready_campaign(), 5000, email="alice@example.org").pk)
    assert receipt is not None and receipt.giver == owner


def test_the_owner_takes_a_squatted_account_back_by_the_link_and_chooses_a_password(
    api: APIClient, sign_up: Callable[..., Any]
) -> None:
    user, link, squatter_browser, squatter_token = squatted_account(api, sign_up)
    alice = Client()

    page = alice.get(link)
    assert page.status_code == 200 and "new_password1" in page.content.decode()
    weak = alice.post(link, {"new_password1": "court", "new_password2": "court"})
    assert weak.status_code == 400 and not User.objects.get(pk=user.pk).email_verified
    done = alice.post(link, {"new_password1": ALICE_PASSWORD, "new_password2": ALICE_PASSWORD})

    assert done.status_code == 302 and done["Location"] == "/comptes/profil/"
    assert_squatter_is_gone(user, squatter_browser, squatter_token)
    assert User.objects.get(pk=user.pk).check_password(ALICE_PASSWORD)
    assert alice.get("/api/me/").json()["email_verified"] is True
    assert alice.get(link).status_code == 400  # single use


def test_the_owner_takes_a_squatted_account_back_through_the_api_without_a_session(
    api: APIClient, sign_up: Callable[..., Any]
) -> None:
    user, link, squatter_browser, squatter_token = squatted_account(api, sign_up)

    response = APIClient().post("/api/accounts/verify/", {"token": token_of(link)}, format="json")

    assert response.status_code == 200 and response.json()["password_required"] is True
    assert_squatter_is_gone(user, squatter_browser, squatter_token)
    assert not User.objects.get(pk=user.pk).has_usable_password()
    # She chooses her password by the reset, which accounts without one may use.
    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        assert Client().post("/comptes/mot-de-passe/", {"email": "alice@example.org"}).status_code == 302
    assert mail.outbox[-1].to == ["alice@example.org"] and "/comptes/mot-de-passe/" in mail.outbox[-1].body


def test_the_owner_takes_a_squatted_account_back_by_a_password_reset(
    api: APIClient, sign_up: Callable[..., Any]
) -> None:
    user, _link, squatter_browser, squatter_token = squatted_account(api, sign_up)
    alice = Client()
    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        alice.post("/comptes/mot-de-passe/", {"email": "alice@example.org"})
    reset = re.search(r"https?://[^/]+(/comptes/mot-de-passe/\S+/)", mail.outbox[-1].body)
    assert reset is not None
    form = alice.get(reset.group(1), follow=True)
    done = alice.post(form.redirect_chain[-1][0], {"new_password1": ALICE_PASSWORD, "new_password2": ALICE_PASSWORD})

    assert done.status_code == 302
    assert_squatter_is_gone(user, squatter_browser, squatter_token)
    assert User.objects.get(pk=user.pk).check_password(ALICE_PASSWORD)


def test_a_verified_person_who_resets_their_password_keeps_their_details(client: Client) -> None:
    user = UserFactory(email="zoe@example.org", city="Pau")
    Token.objects.create(user=user)
    with TestCase.captureOnCommitCallbacks(execute=True):  # the email's task
        client.post("/comptes/mot-de-passe/", {"email": "zoe@example.org"})
    reset = re.search(r"https?://[^/]+(/comptes/mot-de-passe/\S+/)", mail.outbox[-1].body)
    assert reset is not None
    form = client.get(reset.group(1), follow=True)
    client.post(form.redirect_chain[-1][0], {"new_password1": ALICE_PASSWORD, "new_password2": ALICE_PASSWORD})
    user.refresh_from_db()
    assert user.city == "Pau" and user.first_name == "Camille" and user.check_password(ALICE_PASSWORD)
    assert not Token.objects.filter(user=user).exists()


def test_the_profile_shows_the_address_unverified_and_resends_the_link_a_limited_number_of_times(
    client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SIGN_IN_FAILURES_PER_EMAIL = 2
    user = UserFactory(email_verified_at=None)
    client.force_login(user)
    page = client.get("/comptes/profil/").content.decode()
    assert "adresse à confirmer" in page and "/comptes/verifier/renvoyer/" in page

    for _n in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post("/comptes/verifier/renvoyer/").status_code == 302
    assert len(mail.outbox) == 2 and verification_path(mail.outbox[1])
    refused = client.post("/comptes/verifier/renvoyer/")
    assert refused.status_code == 429 and "Trop de tentatives" in refused.content.decode()
    assert len(mail.outbox) == 2

    User.objects.filter(pk=user.pk).update(email_verified_at=timezone.now())
    assert "adresse confirmée" in client.get("/comptes/profil/").content.decode()


def test_the_api_resends_the_link_under_the_same_limits(
    api: APIClient, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SIGN_IN_FAILURES_PER_EMAIL = 1
    api.force_authenticate(UserFactory(email_verified_at=None))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/accounts/verify/resend/").status_code == 204
    refused = api.post("/api/accounts/verify/resend/")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_attempts"
    assert len(mail.outbox) == 1


def test_the_sign_up_page_says_to_check_the_email(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    data = {"email": "zoe@example.org", "first_name": "Zoé", "last_name": "Leroy", "password": PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/comptes/inscription/", data, follow=True)
    html = response.content.decode()
    assert "Regardez vos e-mails" in html and "/comptes/verifier/renvoyer/" in html
    assert verification_path(mail.outbox[0])


def test_the_data_export_says_when_the_address_was_verified(api: APIClient) -> None:
    person = UserFactory(email_verified_at=None)
    api.force_authenticate(person)
    assert api.get("/api/me/export/").json()["profile"]["email_verified_at"] is None
    verified = UserFactory()
    api.force_authenticate(verified)
    exported = api.get("/api/me/export/").json()["profile"]["email_verified_at"]
    assert exported is not None and exported.startswith(str(verified.email_verified_at.year))
