"""Tax receipts without an account: a giver ticks "Je souhaite un reçu fiscal"
and types the name and postal address the receipt needs (page or API); once
paid, the receipt is issued to those details and emailed with its signed link.
What the success page and the emails say about the receipt agrees; and the
seller's receipt states a renounced sale price, not the buyer's card."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign
from checkout.services import gift_start
from donations.models import Gift, PaymentStatus
from receipts.issuing import receipt_issue_for_gift, receipts_issue_consolidated
from receipts.models import ReceiptWait, TaxReceipt
from tests.receipts_support import (
    giver,
    handed_over,
    paid_gift,
    pay,
    pdf_text,
    ready_campaign,
    ready_organisation,
    receipts_issue_due,
    sale,
    squeeze,
)

pytestmark = pytest.mark.django_db

DETAILS = {
    "first_name": "Inès Marie",
    "last_name": "Da Silva",
    "address_line1": "12 avenue des Acacias",
    "address_line2": "Bâtiment B",
    "postal_code": "31000",
    "city": "Toulouse",
    "country": "FR",
}
DETAILS_SENTENCE = "Votre reçu fiscal sera établi aux nom et adresse que vous avez indiqués"
ACCOUNT_SENTENCE = "Votre reçu fiscal sera établi aux nom et adresse de votre compte Trëmma"
YEARLY_SENTENCE = "Votre reçu fiscal récapitulera vos dons de l'année à cette organisation"
NONE_SENTENCE = "Vous n'avez pas demandé de reçu fiscal pour ce don."


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def give(api: APIClient, campaign: Campaign, **fields: Any) -> Any:
    body = {"amount_cents": 4000, "email": "ines@example.org", "name": "Inès", **fields}
    return api.post(f"/api/campaigns/{campaign.slug}/gifts/", body, format="json")


def pay_on_demo_page(client: Client, checkout_url: str, capture: Any) -> Any:
    with capture(execute=True):
        response = client.post(local(checkout_url), {"card_number": "4242424242424242"})
    assert response.status_code == 302
    return response


def receipt_link(message: Any) -> str:
    match = re.search(r"https?://\S+/recus/\S+\.pdf", message.body)
    assert match, message.body
    return match.group(0)


# --- The giver's side: API and page ------------------------------------------------------------


def test_a_guest_gift_with_receipt_details_through_the_api_is_receipted_to_them_and_emailed_with_a_working_link(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    response = give(api, campaign, receipt=DETAILS)
    assert response.status_code == 201 and set(response.json()) == {"gift_id", "checkout_url"}
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    assert gift.receipt_requested and gift.user is None
    assert (gift.receipt_last_name, gift.receipt_postal_code, gift.receipt_country) == ("Da Silva", "31000", "FR")

    pay_on_demo_page(client, response.json()["checkout_url"], django_capture_on_commit_callbacks)

    receipt = TaxReceipt.objects.get()
    assert receipt.giver is None and receipt.giver_email == "ines@example.org"
    assert (receipt.giver_first_names, receipt.giver_last_name) == ("Inès Marie", "Da Silva")
    assert (receipt.giver_address_line2, receipt.giver_city) == ("Bâtiment B", "Toulouse")
    [sent] = [m for m in mail.outbox if "reçu fiscal n°" in m.subject]
    assert sent.to == ["ines@example.org"] and receipt.emailed_at is not None
    assert "compte Trëmma" not in sent.body  # nobody has an account here: the email does not send them to one
    assert sent.attachments[0][0] == f"recu-fiscal-{receipt.number}.pdf"
    assert not [m for m in mail.outbox if "attend" in m.subject]

    download = client.get(local(receipt_link(sent)))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    text = pdf_text(download.content)
    for mention in ["Nom : Da Silva", "Prénoms : Inès Marie", "12 avenue des Acacias, Bâtiment B, 31000 Toulouse"]:
        assert squeeze(mention) in text, mention
    assert squeeze("☒Numéraire") in text and squeeze("Mode de versement : Carte bancaire") in text


def test_a_guest_gift_with_receipt_details_from_the_page_is_receipted_to_them(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert 'name="receipt"' in page and "Je souhaite un reçu fiscal" in page
    assert 'name="receipt_postal_code"' in page  # on the page without JavaScript; CSS shows it once ticked

    fields = {f"receipt_{name}": value for name, value in DETAILS.items()}
    response = client.post(
        f"/campagnes/{campaign.slug}/donner/",
        {"amount": "25", "email": "ines@example.org", "receipt": "on", **fields},
    )
    assert response.status_code == 303
    success = pay_on_demo_page(client, response["Location"], django_capture_on_commit_callbacks)

    receipt = TaxReceipt.objects.get()
    assert (receipt.amount_cents, receipt.giver_last_name, receipt.giver_postal_code) == (2500, "Da Silva", "31000")
    assert receipt.giver is None
    # The receipt is already there: the success page links to it.
    assert "Télécharger mon reçu fiscal (PDF)" in client.get(success["Location"]).content.decode()


def test_receipt_fields_count_only_when_the_receipt_is_asked_for_on_the_page(client: Client) -> None:
    campaign = ready_campaign()
    junk = {"receipt_postal_code": "not a postal code", "receipt_city": "x" * 500}
    response = client.post(f"/campagnes/{campaign.slug}/donner/", {"amount": "10", "email": "d@example.org", **junk})
    assert response.status_code == 303
    gift = Gift.objects.get()
    assert not gift.receipt_requested and gift.receipt_city == "" and gift.receipt_postal_code == ""


def test_details_typed_with_a_gift_win_over_the_account_holding_its_email() -> None:
    person = giver(email="louise@example.org")  # a complete profile: Martin, Pau
    campaign = ready_campaign()
    gift = gift_start(
        campaign_slug=campaign.slug, amount_cents=3000, email="louise@example.org", receipt=details_of(DETAILS)
    )
    pay(gift)

    receipt = receipt_issue_for_gift(gift_id=gift.pk)

    assert receipt is not None
    assert (receipt.giver_last_name, receipt.giver_city) == ("Da Silva", "Toulouse")
    assert receipt.giver == person  # still listed in their account


def details_of(values: dict[str, str]) -> Any:
    from receipts.details import ReceiptDetails

    return ReceiptDetails(**values)


# --- Hostile and wrong values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"city": "Tou\x00louse"}, "receipt.city"),
        ({"last_name": "Da\nSilva"}, "receipt.last_name"),
        ({"first_name": "In\u0007ès"}, "receipt.first_name"),
        ({"address_line1": "x" * 201}, "receipt.address_line1"),
        ({"postal_code": "3100"}, "receipt.postal_code"),
        ({"postal_code": "31000<script>"}, "receipt.postal_code"),
        ({"country": "FRA"}, "receipt.country"),
        ({"country": "F1"}, "receipt.country"),
        ({"last_name": "   "}, "receipt.last_name"),
        ({"city": 31000}, "receipt.city"),
        ({"first_name": None}, "receipt.first_name"),
    ],
)
def test_hostile_or_wrong_receipt_details_are_a_field_level_400_and_record_nothing(
    api: APIClient, changes: dict[str, Any], field: str
) -> None:
    response = give(api, ready_campaign(), receipt={**DETAILS, **changes})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == [field]
    assert body["fields"][field][0]
    assert not Gift.objects.exists()


@pytest.mark.parametrize("receipt", ["Da Silva, Toulouse", ["Da Silva"], 5, True])
def test_a_receipt_that_is_not_an_object_is_a_400_on_receipt(api: APIClient, receipt: Any) -> None:
    response = give(api, ready_campaign(), receipt=receipt)
    assert response.status_code == 400 and list(response.json()["fields"]) == ["receipt"]
    assert not Gift.objects.exists()


def test_receipt_errors_are_in_the_language_of_the_request(api: APIClient) -> None:
    response = api.post(
        f"/api/campaigns/{ready_campaign().slug}/gifts/",
        {"amount_cents": 4000, "email": "i@example.org", "receipt": {**DETAILS, "postal_code": "3100"}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["fields"]["receipt.postal_code"] == ["A French postal code has five digits, e.g. 64000."]


def test_a_receipt_abroad_takes_that_countrys_postal_code_and_null_means_no_receipt(api: APIClient) -> None:
    campaign = ready_campaign()
    abroad = give(api, campaign, receipt={**DETAILS, "postal_code": "1000", "city": "Bruxelles", "country": "be"})
    assert abroad.status_code == 201
    assert Gift.objects.get(pk=abroad.json()["gift_id"]).receipt_country == "BE"
    without = give(api, campaign, receipt=None)
    assert without.status_code == 201 and not Gift.objects.get(pk=without.json()["gift_id"]).receipt_requested


def test_wrong_receipt_details_on_the_page_are_shown_beside_their_fields_and_record_nothing(client: Client) -> None:
    campaign = ready_campaign()
    response = client.post(
        f"/campagnes/{campaign.slug}/donner/",
        {
            "amount": "25",
            "email": "ines@example.org",
            "receipt": "on",
            **{f"receipt_{name}": value for name, value in DETAILS.items()},
            "receipt_postal_code": "3100",
            "receipt_city": "Tou\x00louse",
            "receipt_last_name": "",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="give-receipt_postal_code-error">Un code postal français a cinq chiffres' in page
    assert 'id="give-receipt_last_name-error">Ce champ est nécessaire pour établir un reçu fiscal.' in page
    assert 'aria-describedby="give-receipt_city-error" aria-invalid="true"' in page
    assert 'value="Inès Marie"' in page and "checked" in page  # what was typed stays
    assert not Gift.objects.exists()


# --- What the giver is told ----------------------------------------------------------------------


def success_page(client: Client, gift: Gift) -> str:
    from checkout.services.orders import _return_urls

    success, _cancel = _return_urls(kind="gift", pk=gift.pk)
    return html.unescape(client.get(local(success)).content.decode())


def thanks_of(gift: Gift) -> Any:
    [thanks] = [m for m in mail.outbox if m.to == [gift.email] and "Merci pour votre don" in m.subject]
    return thanks


def test_a_guest_without_receipt_details_is_promised_nothing_and_written_to_only_once(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(ready_campaign(), email="nobody@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        receipts_issue_due()

    assert not TaxReceipt.objects.exists()
    assert ReceiptWait.objects.get(gift=gift).notified_at is None  # recorded, retried last, but nobody is nagged
    assert [m.subject for m in mail.outbox if m.to == ["nobody@example.org"]] == [thanks_of(gift).subject]
    thanks = thanks_of(gift).body
    page = success_page(client, gift)
    assert NONE_SENTENCE in thanks and NONE_SENTENCE in page
    for text in (thanks, page):
        assert "vous sera envoyé" not in text and "Télécharger mon reçu" not in text


@pytest.mark.parametrize("kind", ["details", "account", "yearly"])
def test_the_success_page_and_the_thanks_email_say_the_same_about_the_receipt(
    client: Client, django_capture_on_commit_callbacks: Any, kind: str
) -> None:
    # Receipts wait (no signatory), so the page cannot link to one yet and says what will come.
    organisation = ready_organisation(signatory_name="", receipts_consolidated=kind == "yearly")
    campaign = ready_campaign(organisation)
    if kind == "account":
        giver(email="louise@example.org")
        gift = gift_start(campaign_slug=campaign.slug, amount_cents=3000, email="louise@example.org")
        expected = ACCOUNT_SENTENCE
    else:
        gift = gift_start(
            campaign_slug=campaign.slug, amount_cents=3000, email="ines@example.org", receipt=details_of(DETAILS)
        )
        expected = YEARLY_SENTENCE if kind == "yearly" else DETAILS_SENTENCE
    with django_capture_on_commit_callbacks(execute=True):
        pay(gift)

    sentence = re.search(r'<p class="receipt-outlook">(.*?)</p>', success_page(client, gift), re.S)
    assert sentence is not None and sentence.group(1).startswith(expected)
    assert sentence.group(1) in " ".join(thanks_of(gift).body.split())
    assert "envoyé séparément" not in thanks_of(gift).body and NONE_SENTENCE not in thanks_of(gift).body


# --- Yearly (consolidated) receipts ---------------------------------------------------------------


def test_a_guests_gifts_are_summed_yearly_by_email_and_details_and_never_with_other_details() -> None:
    campaign = ready_campaign(ready_organisation(receipts_consolidated=True))
    moved = {**DETAILS, "address_line1": "1 place du Capitole", "address_line2": ""}
    for amount, values in ((1000, DETAILS), (1500, DETAILS), (700, moved)):
        gift = gift_start(campaign_slug=campaign.slug, amount_cents=amount, email="ines@example.org", receipt=None)
        Gift.objects.filter(pk=gift.pk).update(
            receipt_requested=True, **{f"receipt_{name}": value for name, value in values.items()}
        )
        pay(Gift.objects.get(pk=gift.pk))
    paid_gift(campaign, 900, email="ines@example.org")  # no details, no account: no receipt at all

    assert receipts_issue_due() == 0
    receipts = sorted(receipts_issue_consolidated(year=timezone.localtime().year), key=lambda r: r.amount_cents)

    assert [(r.amount_cents, r.giver_address_line1) for r in receipts] == [
        (700, "1 place du Capitole"),
        (2500, "12 avenue des Acacias"),
    ]
    assert all(r.consolidated and r.giver is None for r in receipts)


def test_a_yearly_receipt_never_sums_a_sellers_renounced_prices_with_their_money_gifts(settings: Any) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 0
    campaign = ready_campaign(ready_organisation(receipts_consolidated=True))
    person = giver()
    paid_gift(campaign, 1000, user=person)
    handed_over(sale(2000, seller=person, campaign=campaign), days_ago=1)

    receipts = receipts_issue_consolidated(year=timezone.localtime().year)

    assert sorted((r.nature, r.amount_cents) for r in receipts) == [("cash", 1000), ("waived_proceeds", 2000)]


# --- The seller's receipt ------------------------------------------------------------------------


def test_the_sellers_receipt_states_a_renounced_sale_price_and_not_the_buyers_card(settings: Any) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 0
    handed_over(sale(4500), days_ago=1)

    receipts_issue_due()

    receipt = TaxReceipt.objects.get()
    assert receipt.nature == "waived_proceeds" and receipt.payment_method == "Sans objet (abandon de produits)"
    receipt.refresh_from_db()
    with receipt.pdf.open("rb") as pdf:
        text = pdf_text(pdf.read())
    for mention in [
        "Forme du don : ☐ Acte authentique ☐ Acte sous seing privé ☐ Déclaration de don manuel ☒ Autres",
        "Nature du don : ☐ Numéraire ☐ Titres de sociétés cotés ☒ Autres : abandon exprès de revenus ou produits",
        "renonciation au prix de vente de l'objet",
        "Mode de versement : Sans objet (abandon de produits)",
    ]:
        assert squeeze(mention) in text, mention
    assert squeeze("Carte bancaire") not in text


def test_a_money_gifts_receipt_keeps_numeraire_and_the_card() -> None:
    paid_gift(ready_campaign(), 4200, user=giver())
    receipts_issue_due()

    receipt = TaxReceipt.objects.get()
    receipt.refresh_from_db()
    with receipt.pdf.open("rb") as pdf:
        text = pdf_text(pdf.read())
    assert receipt.nature == "cash"
    assert squeeze("☒ Déclaration de don manuel ☐ Autres") in text
    assert squeeze("Nature du don : ☒ Numéraire ☐ Titres de sociétés cotés ☐ Autres") in text
    assert squeeze("Mode de versement : Carte bancaire (paiement en ligne)") in text
    assert Gift.objects.get().status == PaymentStatus.PAID
