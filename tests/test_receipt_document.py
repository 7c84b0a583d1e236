from __future__ import annotations

import io
from datetime import date

from PIL import Image
from pypdf import PdfReader

from receipts.document import Beneficiary, Party, ReceiptDocument, render_receipt_pdf


def document(**overrides: object) -> ReceiptDocument:
    fields: dict[str, object] = {
        "number": "2026-000042",
        "beneficiary": Beneficiary(
            name="Communauté Emmaüs de Lescar-Pau",
            address_line1="Chemin de la Tuilerie",
            address_line2="",
            postal_code="64230",
            city="Lescar",
            purpose="Accueillir et loger des personnes en difficulté",
            legal_status="Organisme d'aide aux personnes en difficulté (article 200-1 ter du CGI)",
            registration="RNA W643000123",
            signatory_name="Claire Dupuis",
            signatory_title="Présidente",
        ),
        "donor_last_name": "Martin",
        "donor_first_names": "Louise Marie",
        "donor": Party("Martin", "3 rue des Lilas", "", "64000", "Pau"),
        "amount_cents": 12350,
        "payment_date": date(2026, 11, 3),
        "period": None,
        "payment_method": "Carte bancaire",
        "issued_on": date(2026, 11, 4),
    }
    fields.update(overrides)
    return ReceiptDocument(**fields)  # type: ignore[arg-type]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_receipt_carries_every_mention_of_the_cerfa_form() -> None:
    text = pdf_text(render_receipt_pdf(document()))
    for mention in [
        "Reçu n° 2026-000042",
        "11580*05",
        "Communauté Emmaüs de Lescar-Pau",
        "Chemin de la Tuilerie",
        "64230 Lescar",
        "RNA W643000123",
        "Accueillir et loger des personnes en difficulté",
        "article 200-1 ter",
        "Martin",
        "Louise Marie",
        "3 rue des Lilas",
        "123,50",
        "cent vingt-trois euros et cinquante centimes",
        "03/11/2026",
        "Déclaration de don manuel",
        "Numéraire",
        "Carte bancaire",
        "ouvrent droit à la réduction d'impôt",
        "200 du CGI",
        "Claire Dupuis, Présidente",
        "04/11/2026",
    ]:
        # Compared without spaces: text extraction splits some kerned pairs ("T uilerie").
        assert mention.replace(" ", "") in text.replace(" ", ""), mention
    assert "ANNULÉ" not in text


def test_a_consolidated_receipt_states_the_period() -> None:
    text = pdf_text(render_receipt_pdf(document(payment_date=None, period=(date(2026, 1, 1), date(2026, 12, 31)))))
    assert "du01/01/2026au31/12/2026" in text.replace(" ", "")


def test_a_cancelled_receipt_says_so_and_a_signature_image_is_embedded() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "navy").save(buffer, format="PNG")
    base = document()
    signed = document(
        cancelled=True, beneficiary=Beneficiary(**{**base.beneficiary.__dict__, "signature_png": buffer.getvalue()})
    )
    data = render_receipt_pdf(signed)
    assert "ANNULÉ" in pdf_text(data)
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert len(page.images) == 1
