"""Receipts rendered from what was issued and read back: every mandatory
mention of Cerfa n° 11580*05, and the amount in figures and in French words
for tricky amounts, through the real path (a final sale receipted to its seller)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, TestCase
from django.utils import timezone
from pypdf import PdfReader

from campaigns.models import Organisation
from receipts.delivery import receipt_pdf_link
from receipts.issuing import receipts_issue_consolidated
from receipts.models import TaxReceipt
from tests.factories import image_bytes
from tests.receipts_support import (
    giver,
    handed_over,
    paid_gift,
    pdf_text,
    ready_campaign,
    ready_organisation,
    receipts_issue_due,
    sale,
    squeeze,
)

pytestmark = pytest.mark.django_db

TRICKY_AMOUNTS = [
    (1, "0,01", "un centime"),
    (100, "1,00", "un euro"),
    (2100, "21,00", "vingt et un euros"),
    (8000, "80,00", "quatre-vingts euros"),
    (8100, "81,00", "quatre-vingt-un euros"),
    (10000, "100,00", "cent euros"),
    (100_000_000, "1000000,00", "un million d'euros"),
    (123_456, "1234,56", "mille deux cent trente-quatre euros et cinquante-six centimes"),
]


def stored_pdf(receipt: TaxReceipt) -> bytes:
    receipt.refresh_from_db()
    with default_storage.open(receipt.pdf.name, "rb") as pdf:
        return pdf.read()


@pytest.mark.parametrize(("cents", "figures", "words"), TRICKY_AMOUNTS)
def test_the_receipt_of_a_sale_states_the_amount_in_figures_and_in_words(
    settings: Any, cents: int, figures: str, words: str
) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 0
    handed_over(sale(cents), days_ago=1)

    receipts_issue_due()

    receipt = TaxReceipt.objects.get()
    assert receipt.amount_cents == cents
    text = pdf_text(stored_pdf(receipt))
    assert squeeze(f"{figures} €") in text
    assert squeeze(f"Somme en toutes lettres : {words}") in text


def test_the_stored_receipt_carries_every_mandatory_mention() -> None:
    organisation = ready_organisation(
        legal_name="Communauté Emmaüs de Lescar-Pau",
        address_line1="Chemin de la Tuilerie",
        postal_code="64230",
        city="Lescar",
        purpose="Accueillir et loger des personnes en difficulté",
        rna="W643000123",
        tax_regime=Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY,
        qualifying_status="Association reconnue d'utilité publique",
    )
    organisation.signature.save("signature.png", ContentFile(image_bytes((120, 40))), save=True)
    gift = paid_gift(ready_campaign(organisation), 12350, user=giver())

    receipts_issue_due()

    receipt = TaxReceipt.objects.get()
    data = stored_pdf(receipt)
    text = pdf_text(data)
    paid_on = timezone.localtime(gift.paid_at).strftime("%d/%m/%Y")
    issued_on = timezone.localtime(receipt.issued_at).strftime("%d/%m/%Y")
    for mention in [
        f"Reçu n° {receipt.number}",
        "Cerfa n° 11580*05",
        "Communauté Emmaüs de Lescar-Pau",
        "Chemin de la Tuilerie, 64230 Lescar",
        "RNA W643000123",
        "Type d'organisme : Association loi 1901",
        "Objet : Accueillir et loger des personnes en difficulté",
        "Association reconnue d'utilité publique",
        "article 200-1 ter du CGI, réduction d'impôt de 75 %",
        "Nom : Martin",
        "Prénoms : Louise Marie",
        "3 rue des Lilas, 64000 Pau",
        "123,50 €",
        "cent vingt-trois euros et cinquante centimes",
        f"Date du versement ou du don : {paid_on}",
        "Déclaration de don manuel",
        "Numéraire",
        "Mode de versement : Carte bancaire",
        "certifie sur l'honneur que les dons et versements qu'il reçoit ouvrent droit à la réduction d'impôt",
        "200 du CGI",
        f"Fait le {issued_on}",
        "Claire Dupuis, Présidente",
    ]:
        assert squeeze(mention) in text, mention

    page = PdfReader(io.BytesIO(data)).pages[0]
    assert len(page.images) == 1  # the signature
    assert page.mediabox.width == pytest.approx(595, abs=1) and page.mediabox.height == pytest.approx(842, abs=1)


def test_a_consolidated_yearly_receipt_sums_the_year_and_states_the_period() -> None:
    organisation = ready_organisation(receipts_consolidated=True)
    campaign = ready_campaign(organisation)
    person = giver()
    for amount in (1000, 2550):
        paid_gift(campaign, amount, user=person)

    assert receipts_issue_due() == 0  # receipted yearly, not one by one
    year = timezone.localtime().year
    with TestCase.captureOnCommitCallbacks(execute=True):  # its task: the PDF and the email
        [receipt] = receipts_issue_consolidated(year=year)
    assert receipt.consolidated and receipt.amount_cents == 3550 and receipt.lines.count() == 2
    assert receipts_issue_consolidated(year=year) == []  # again: nothing new
    text = pdf_text(stored_pdf(receipt))
    assert squeeze(f"du 01/01/{year} au 31/12/{year} (reçu récapitulatif)") in text
    assert squeeze("trente-cinq euros et cinquante centimes") in text


def test_a_giver_who_chose_yearly_receipts_gets_one_consolidated_receipt(client: Client) -> None:
    person = giver()
    client.force_login(person)
    response = client.patch("/api/me/receipts/status/", {"consolidated": True}, content_type="application/json")
    assert response.status_code == 200 and response.json()["consolidated"] is True
    campaign = ready_campaign()
    paid_gift(campaign, 1000, user=person)
    paid_gift(campaign, 1000, user=giver(email="other@example.org"))

    assert receipts_issue_due() == 1  # only the other giver, one by one
    [receipt] = receipts_issue_consolidated(year=timezone.localtime().year)
    assert receipt.giver == person


def test_the_pdf_is_stored_on_s3_and_served_from_the_signed_link(s3_storage: str, client: Client) -> None:
    import boto3

    gift = paid_gift(ready_campaign(), 4200, user=giver())
    receipts_issue_due()
    receipt = TaxReceipt.objects.get()
    assert receipt.lines.get().gift == gift

    s3 = boto3.client(
        "s3",
        endpoint_url=default_storage.endpoint_url,  # type: ignore[attr-defined]
        region_name="eu-west-3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stored = s3.get_object(Bucket=s3_storage, Key=receipt.pdf.name)["Body"].read()
    assert stored.startswith(b"%PDF")

    response = client.get(receipt_pdf_link(receipt=receipt).removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content == stored


def test_a_tampered_or_expired_link_is_a_404(client: Client, settings: Any) -> None:
    paid_gift(ready_campaign(), 4200, user=giver())
    receipts_issue_due()
    receipt = TaxReceipt.objects.get()
    path = receipt_pdf_link(receipt=receipt).removeprefix(settings.SITE_URL)
    assert client.get(path.replace(".pdf", "x.pdf")).status_code == 404
    settings.RECEIPT_LINK_MAX_AGE_DAYS = 0
    later = timezone.now() + timedelta(days=1)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        assert client.get(path).status_code == 404
