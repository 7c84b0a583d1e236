"""Countries are chosen by their name in the page's language (France first, then alphabetical),
never typed as a code; the API takes two letters in any case and refuses a code that is no
country's, beside the field, in the request's language. Stored values stay ISO alpha-2 codes."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from accounts.models import User
from checkout.services import gift_start
from donations.models import Gift
from kernel.countries import countries, country_code
from receipts.delivery import receipt_pdf_content
from receipts.details import ReceiptDetails
from receipts.document import Party
from receipts.issuing import receipt_issue_for_gift
from tests.factories import UserFactory
from tests.receipts_support import pay, pdf_text, ready_campaign, squeeze

pytestmark = pytest.mark.django_db

# Unknown code, three letters (alpha-3 and numeric codes are other systems), a ligature that
# upper-cases to "FI", a full name, markup, very long, spaces only, empty.
HOSTILE = ["ZZ", "zz", "FRA", "250", "ﬁ", "France", "<script>", "F" * 5000, "  ", ""]

RECEIPT = {
    "first_name": "Inès",
    "last_name": "Da Silva",
    "address_line1": "12 avenue des Acacias",
    "postal_code": "31000",
    "city": "Toulouse",
}


def options(page: str, name: str) -> list[tuple[str, str, bool]]:
    """The options of the select ``name``: (code, name shown, selected)."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, page
    return [
        (code, html.unescape(label), bool(selected))
        for code, selected, label in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select[1])
    ]


def names_in_order(language: str) -> list[str]:
    with translation.override(language):
        return [name for _code, name in countries]


# --- The list ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "before", "after"),
    [("fr", "Allemagne", "Belgique"), ("en", "Belgium", "Germany"), ("fr", "Espagne", "Royaume-Uni")],
)
def test_the_list_is_france_first_then_every_country_by_its_name_in_the_language(
    language: str, before: str, after: str
) -> None:
    with translation.override(language):
        listed = list(countries)
    codes = [code for code, _name in listed]
    assert codes[0] == "FR" and codes.count("FR") == 1 and len(codes) == len(set(codes)) > 240
    names = [name for _code, name in listed][1:]
    assert names.index(before) < names.index(after)


def test_accents_do_not_send_a_country_to_the_end_of_the_list() -> None:
    names = names_in_order("fr")
    assert names.index("Égypte") < names.index("Espagne") < names.index("Zimbabwe")
    assert names.index("Éthiopie") < names.index("Fidji")


def test_names_follow_the_language() -> None:
    assert names_in_order("fr")[:3] == ["France", "Afghanistan", "Afrique du Sud"]
    assert names_in_order("en")[:3] == ["France", "Afghanistan", "Åland Islands"]


@pytest.mark.parametrize(("value", "code"), [("fr", "FR"), (" be ", "BE"), ("De", "DE"), ("GB", "GB")])
def test_two_letters_in_any_case_name_their_country(value: str, code: str) -> None:
    assert country_code(value) == code


@pytest.mark.parametrize("value", [*HOSTILE, None, 12, ["FR"]])
def test_anything_else_names_no_country(value: Any) -> None:
    assert country_code(value) is None


# --- The account's details page ------------------------------------------------------------------


@pytest.mark.parametrize(("language", "belgium"), [("fr", "Belgique"), ("en", "Belgium")])
def test_the_profile_page_offers_countries_by_name_with_the_persons_own_selected(
    client: Client, language: str, belgium: str
) -> None:
    client.force_login(UserFactory(country="BE"))
    client.cookies["django_language"] = language
    page = client.get("/comptes/profil/").content.decode()
    listed = options(page, "country")
    assert listed[0][:2] == ("FR", "France")
    assert [(code, name) for code, name, selected in listed if selected] == [("BE", belgium)]
    assert "deux lettres" not in page and "two-letter" not in page


def test_a_new_account_has_france_selected(client: Client) -> None:
    client.force_login(UserFactory())
    listed = options(client.get("/comptes/profil/").content.decode(), "country")
    assert [code for code, _name, selected in listed if selected] == ["FR"]


def profile_post(client: Client, country: str) -> Any:
    data = {"first_name": "Zoé", "last_name": "Leroy", "address_line1": "3 rue des Lilas", "address_line2": ""}
    return client.post("/comptes/profil/", {**data, "postal_code": "1000", "city": "Bruxelles", "country": country})


def test_the_profile_page_saves_the_country_chosen(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    assert profile_post(client, "BE").status_code == 302
    user.refresh_from_db()
    assert (user.city, user.country) == ("Bruxelles", "BE")


@pytest.mark.parametrize("country", HOSTILE)
def test_a_country_the_list_does_not_offer_is_refused_beside_the_field(client: Client, country: str) -> None:
    user = UserFactory(country="DE")
    client.force_login(user)
    response = profile_post(client, country)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["country"]
    assert User.objects.get(pk=user.pk).country == "DE"


def test_the_refusal_is_in_the_pages_language(client: Client) -> None:
    client.force_login(UserFactory())
    client.cookies["django_language"] = "en"
    assert profile_post(client, "ZZ").context["form"].errors["country"] == ["Choose a country from the list."]


# --- The gift form's receipt details -------------------------------------------------------------


@pytest.mark.parametrize(("language", "germany"), [("fr", "Allemagne"), ("en", "Germany")])
def test_the_gift_form_offers_countries_by_name_france_chosen(client: Client, language: str, germany: str) -> None:
    campaign = ready_campaign()
    client.cookies["django_language"] = language
    page = client.get(campaign.get_absolute_url()).content.decode()
    listed = options(page, "receipt_country")
    assert [code for code, _name, selected in listed if selected] == ["FR"] and listed[0][0] == "FR"
    assert ("DE", germany, False) in listed
    assert "Pays (code à deux lettres)" not in page and 'placeholder="FR"' not in page


def gift_post(client: Client, country: str) -> Any:
    campaign = ready_campaign()
    fields = {f"receipt_{name}": value for name, value in {**RECEIPT, "country": country}.items()}
    return client.post(
        f"/campagnes/{campaign.slug}/donner/", {"amount": "25", "email": "ines@example.org", "receipt": "on", **fields}
    )


def test_a_gift_from_the_page_keeps_the_country_chosen(client: Client) -> None:
    response = gift_post(client, "DE")
    assert response.status_code == 303
    assert Gift.objects.get().receipt_country == "DE"


@pytest.mark.parametrize("country", [c for c in HOSTILE if c.strip()])
def test_a_gift_with_a_country_not_on_the_list_is_refused_beside_it(client: Client, country: str) -> None:
    response = gift_post(client, country)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["receipt_country"]
    assert 'id="give-receipt_country-error">Choisissez un pays dans la liste.' in response.content.decode()
    assert not Gift.objects.exists()


# --- The API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("country", [*HOSTILE, None, 12])
def test_patch_me_refuses_a_code_that_is_no_countrys_on_its_field(api: APIClient, country: Any) -> None:
    user = UserFactory(country="DE")
    api.force_authenticate(user)
    response = api.patch("/api/me/", {"country": country, "city": "Berlin"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["country"]
    assert User.objects.get(pk=user.pk).country == "DE"


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Code pays inconnu : indiquez les deux lettres d'un pays, par exemple FR pour la France."),
        ("en", "Unknown country code: give a country's two letters, e.g. FR for France."),
    ],
)
def test_an_unknown_code_is_told_in_the_language_of_the_request(api: APIClient, language: str, message: str) -> None:
    api.force_authenticate(UserFactory())
    response = api.patch("/api/me/", {"country": "ZZ"}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.json()["fields"]["country"] == [message]

    gift = api.post(
        f"/api/campaigns/{ready_campaign().slug}/gifts/",
        {"amount_cents": 4000, "email": "i@example.org", "receipt": {**RECEIPT, "country": "ZZ"}},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert gift.status_code == 400 and gift.json()["fields"] == {"receipt.country": [message]}
    assert not Gift.objects.exists()


def test_patch_me_takes_two_letters_in_any_case(api: APIClient) -> None:
    user = UserFactory()
    api.force_authenticate(user)
    assert api.patch("/api/me/", {"country": "de"}, format="json").json()["country"] == "DE"
    assert User.objects.get(pk=user.pk).country == "DE"


@pytest.mark.parametrize("country", [c for c in HOSTILE if c.strip()])
def test_a_gift_through_the_api_with_a_code_that_is_no_countrys_is_refused(api: APIClient, country: str) -> None:
    response = api.post(
        f"/api/campaigns/{ready_campaign().slug}/gifts/",
        {"amount_cents": 4000, "email": "i@example.org", "receipt": {**RECEIPT, "country": country}},
        format="json",
    )
    assert response.status_code == 400 and list(response.json()["fields"]) == ["receipt.country"]
    assert not Gift.objects.exists()


# --- The receipt ---------------------------------------------------------------------------------


def test_a_receipt_abroad_names_its_country_in_french_and_one_in_france_none(
    django_capture_on_commit_callbacks: Any,
) -> None:
    details = ReceiptDetails(
        **{**RECEIPT, "address_line2": "", "postal_code": "1000", "city": "Bruxelles"}, country="BE"
    )
    gift = gift_start(campaign_slug=ready_campaign().slug, amount_cents=3000, email="i@example.org", receipt=details)
    pay(gift)
    with translation.override("en"):  # a legal French form, whatever the language of the moment
        receipt = receipt_issue_for_gift(gift_id=gift.pk)
        assert receipt is not None
        text = pdf_text(receipt_pdf_content(receipt=receipt))
    assert squeeze("12 avenue des Acacias, 1000 Bruxelles, Belgique") in text
    assert Party("x", "1 rue", "", "64000", "Pau").abroad == ""
