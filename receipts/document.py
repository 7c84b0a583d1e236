"""The tax receipt (reçu fiscal) as a document: every mention of form
Cerfa n° 11580*05 (or, for a company, Cerfa n° 16216*02), rendered from an
HTML template to PDF with WeasyPrint.

This module only turns a ``ReceiptDocument`` into PDF bytes; who gets a
receipt, when, and under which number is decided in donations.services."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date

from django.template.loader import render_to_string
from django.utils import translation

from kernel.countries import DEFAULT_COUNTRY, country_name
from kernel.money import format_money
from kernel.pdf import html_to_pdf
from kernel.words import amount_in_words_fr

# --- What the form says was given, and how ---------------------------------------------------
#
# Cerfa n° 11580*05 asks three things about a gift: its form ("Acte authentique",
# "Acte sous seing privé", "Déclaration de don manuel", "Autres"), its nature
# ("Numéraire", "Titres de sociétés cotés", "Autres": the notice names the
# abandonment of income or proceeds and the expenses volunteers renounce being
# repaid), and, for a gift in money only, its means of payment (cash, cheque,
# "virement, prélèvement, carte bancaire").
#
# - A money gift is a manual gift of money made by card: form "Déclaration de don
#   manuel", nature "Numéraire", means "Carte bancaire".
# - A seller who lists an object for the organisation does not hand over money: the
#   buyer pays the price, and the seller expressly renounces that price, which they
#   would otherwise be owed, in favour of the organisation. Article 200, 1 of the
#   code général des impôts counts among the gifts that open the tax reduction
#   "les dons et versements, y compris l'abandon exprès de revenus ou produits",
#   and the tax administration's guidance on gifts by individuals (BOFiP, series
#   BOI-IR-RICI-250, versements ouvrant droit à la réduction: abandon de revenus
#   ou de produits, "abandon de recettes") treats a renunciation made expressly,
#   before the sum is collected, in favour of an eligible organisation, as a gift
#   of the sum renounced. So the seller's receipt states nature "Autres", detailed
#   as "abandon exprès de revenus ou produits" (the sale price of the object);
#   form "Autres" (a renunciation the seller accepted in writing online when
#   listing the object: neither a notarial deed, nor a signed private deed, nor a
#   manual gift of money or goods handed over); and no means of payment, which
#   the form asks for a gift "en numéraire" only: the card that paid the price was
#   the BUYER's, and describing it would describe the purchase, not the gift.
# - A gift's amount stays the sum renounced or given: a purchase is never a gift
#   (the buyer is never receipted).
NATURE_CASH = "cash"
NATURE_WAIVED_PROCEEDS = "waived_proceeds"

# Printed as is on the French legal form: every online payment is by card (Apple Pay and Google Pay are cards too).
PAYMENT_METHOD_CARD = "Carte bancaire (paiement en ligne)"
# A renounced sale price is not a gift "en numéraire": the form's means of payment does not apply.
PAYMENT_METHOD_NONE = "Sans objet (abandon de produits)"
# A gift handed over at the shop counter (checkout.services.counter), by the means the form names.
PAYMENT_METHOD_CASH = "Espèces"
PAYMENT_METHOD_CHEQUE = "Chèque"
PAYMENT_METHOD_CARD_TERMINAL = "Carte bancaire (terminal de paiement)"

# The legal forms a receipt takes: Cerfa n° 11580 (gifts to organisations of general interest: individuals,
# and foundations or associations giving), Cerfa n° 16216 (formulaire 2041-MEC-SD: gifts by companies,
# article 238 bis of the CGI, 5 bis of which asks the organisation for this receipt since 2022).
FORM_GENERAL = "11580"
FORM_COMPANY = "16216"
FORM_TEMPLATES = {FORM_GENERAL: "receipts/receipt.html", FORM_COMPANY: "receipts/receipt_company.html"}

# A matchfunding partner pays the organisation directly: the means of payment as the form prints it.
PLEDGE_MEANS = {"transfer": "Virement", "cheque": "Chèque"}

# What the document prints for each nature: (form, nature, detail of "Autres").
GIFT_NATURES: dict[str, tuple[str, str, str]] = {
    NATURE_CASH: ("Déclaration de don manuel", "Numéraire", ""),
    NATURE_WAIVED_PROCEEDS: (
        "Autres",
        "Autres",
        "abandon exprès de revenus ou produits (article 200, 1 du CGI) : "
        "renonciation au prix de vente de l'objet, au profit du bénéficiaire",
    ),
}

# The boxes of Cerfa n° 11580*05, in its order.
FORMS = ("Acte authentique", "Acte sous seing privé", "Déclaration de don manuel", "Autres")
NATURES = ("Numéraire", "Titres de sociétés cotés", "Autres")
# The means of payment of a gift in money on Cerfa n° 16216*02, in its order.
MEANS = ("Remise d'espèces", "Chèque", "Virement, prélèvement, carte bancaire")


@dataclass(frozen=True)
class Party:
    name: str
    address_line1: str
    address_line2: str
    postal_code: str
    city: str
    country: str = "FR"

    @property
    def abroad(self) -> str:
        """The country's name in the active language (French on the receipt) when not France, else ""."""
        return "" if self.country == DEFAULT_COUNTRY else country_name(self.country)


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
    # The boxes of the form (receipts.issuing.NATURES): "Déclaration de don manuel" / "Numéraire"
    # for money; "Autres" / "Autres" with its detail for a seller's renounced sale price.
    form: str = "Déclaration de don manuel"
    nature: str = "Numéraire"
    nature_detail: str = ""
    article: str = "200"
    cancelled: bool = False
    form_number: str = FORM_GENERAL  # FORM_GENERAL or FORM_COMPANY: which Cerfa it is
    # A legal person giving (a company, a foundation): its SIREN and legal form, as printed.
    donor_registration: str = ""
    donor_legal_form: str = ""


def render_receipt_pdf(document: ReceiptDocument) -> bytes:
    """The receipt as PDF bytes. Always French: it is a French legal form."""
    signature = None
    if document.beneficiary.signature_png:
        signature = "data:image/png;base64," + base64.b64encode(document.beneficiary.signature_png).decode()
    with translation.override("fr"):
        html = render_to_string(
            FORM_TEMPLATES.get(document.form_number, FORM_TEMPLATES[FORM_GENERAL]),
            {
                "r": document,
                "amount": format_money(document.amount_cents, language="fr"),
                "amount_words": amount_in_words_fr(document.amount_cents),
                "signature": signature,
                "forms": FORMS,
                "natures": NATURES,
                "means": MEANS,
            },
        )
    return html_to_pdf(html)
