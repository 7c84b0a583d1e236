"""The tax receipt (reçu fiscal) as a document: every mention of form
Cerfa n° 11580*05, rendered from an HTML template to PDF with WeasyPrint.

This module only turns a ``ReceiptDocument`` into PDF bytes; who gets a
receipt, when, and under which number is decided in donations.services."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date

from django.template.loader import render_to_string
from django.utils import translation

from tremma.money import format_money
from tremma.words import amount_in_words_fr


@dataclass(frozen=True)
class Party:
    name: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str = "FR"


@dataclass(frozen=True)
class Beneficiary(Party):
    purpose: str = ""
    legal_status: str = ""  # e.g. "Œuvre ou organisme d'intérêt général"
    registration: str = ""  # SIREN or RNA number, as printed
    legal_form: str = ""  # "Association loi 1901"…
    signatory_name: str = ""
    signatory_title: str = ""
    signature_png: bytes | None = None


@dataclass(frozen=True)
class ReceiptDocument:
    number: str
    beneficiary: Beneficiary
    donor_last_name: str
    donor_first_names: str
    donor: Party
    amount_cents: int
    payment_date: date | None
    period: tuple[date, date] | None
    payment_method: str  # "carte bancaire", "virement"…
    issued_on: date
    article: str = "200"
    cancelled: bool = False


def render_receipt_pdf(document: ReceiptDocument) -> bytes:
    """The receipt as PDF bytes. Always French: it is a French legal form."""
    from weasyprint import HTML

    signature = None
    if document.beneficiary.signature_png:
        signature = "data:image/png;base64," + base64.b64encode(document.beneficiary.signature_png).decode()
    with translation.override("fr"):
        html = render_to_string(
            "donations/receipt.html",
            {
                "r": document,
                "amount": format_money(document.amount_cents, language="fr"),
                "amount_words": amount_in_words_fr(document.amount_cents),
                "signature": signature,
            },
        )
    return bytes(HTML(string=html).write_pdf())
