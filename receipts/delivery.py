"""Tax receipts after issuing: the printable document (from the receipt's
snapshot only), its PDF stored once through the default storage, the signed
link to it, and the emails (the receipt once, what a waiting receipt needs, a
cancellation). All run after commit, and each is safe to run again."""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from kernel.errors import NotFound
from kernel.tasks import task
from receipts.document import (
    GIFT_NATURES,
    NATURE_CASH,
    Beneficiary,
    Party,
    ReceiptDocument,
    render_receipt_pdf,
)
from receipts.models import ReceiptWait, TaxReceipt

logger = logging.getLogger(__name__)

PDF_LINK_SALT = "tremma.receipt-pdf"


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def receipt_document(receipt: TaxReceipt) -> ReceiptDocument:
    """The printable document of ``receipt``, from its snapshot only (never from today's profile)."""
    signature_png = None
    if receipt.signature:
        try:
            with default_storage.open(receipt.signature, "rb") as image:
                signature_png = image.read()
        except OSError:
            logger.warning("receipts: signature %s of receipt %s is missing", receipt.signature, receipt.pk)
    period = (receipt.period_start, receipt.period_end) if receipt.period_start and receipt.period_end else None
    form, nature, nature_detail = GIFT_NATURES.get(receipt.nature, GIFT_NATURES[NATURE_CASH])
    return ReceiptDocument(
        number=receipt.number,
        beneficiary=Beneficiary(
            name=receipt.beneficiary_name,
            address_line1=receipt.beneficiary_address_line1,
            address_line2=receipt.beneficiary_address_line2,
            postal_code=receipt.beneficiary_postal_code,
            city=receipt.beneficiary_city,
            purpose=receipt.beneficiary_purpose,
            legal_status=receipt.beneficiary_status,
            registration=receipt.beneficiary_registration,
            legal_form=receipt.beneficiary_legal_form,
            signatory_name=receipt.signatory_name,
            signatory_title=receipt.signatory_title,
            signature_png=signature_png,
        ),
        donor_last_name=receipt.giver_last_name,
        donor_first_names=receipt.giver_first_names,
        donor=Party(
            name=f"{receipt.giver_first_names} {receipt.giver_last_name}".strip(),
            address_line1=receipt.giver_address_line1,
            address_line2=receipt.giver_address_line2,
            postal_code=receipt.giver_postal_code,
            city=receipt.giver_city,
            country=receipt.giver_country,
        ),
        amount_cents=receipt.amount_cents,
        payment_date=receipt.payment_date,
        period=period,  # type: ignore[arg-type]
        payment_method=receipt.payment_method,
        issued_on=local_date(receipt.issued_at),
        form=form,
        nature=nature,
        nature_detail=nature_detail,
        article=receipt.article,
        form_number=receipt.form,
        donor_registration=receipt.giver_registration,
        donor_legal_form=receipt.giver_legal_form,
    )


def receipt_pdf_ensure(*, receipt: TaxReceipt) -> TaxReceipt:
    """Render and store the PDF of ``receipt`` once, through the default storage
    (S3 in production). Two concurrent callers may both render; one conditional
    UPDATE keeps one file and the other is deleted."""
    if receipt.pdf:
        return receipt
    data = render_receipt_pdf(receipt_document(receipt))
    name = default_storage.save(
        f"receipts/{receipt.year}/{receipt.organisation_id}/{receipt.number}-{secrets.token_hex(8)}.pdf",
        ContentFile(data),
    )
    if TaxReceipt.objects.filter(pk=receipt.pk, pdf="").update(pdf=name) != 1:
        default_storage.delete(name)
    receipt.refresh_from_db(fields=["pdf"])
    return receipt


def receipt_pdf_content(*, receipt: TaxReceipt) -> bytes:
    """What the giver downloads: the stored PDF as issued; for a cancelled
    receipt, the same document marked « ANNULÉ » (rendered, never stored over the original)."""
    if receipt.status == TaxReceipt.Status.CANCELLED:
        return render_receipt_pdf(replace(receipt_document(receipt), cancelled=True))
    receipt = receipt_pdf_ensure(receipt=receipt)
    with receipt.pdf.open("rb") as pdf:
        return bytes(pdf.read())


def receipt_pdf_link(*, receipt: TaxReceipt) -> str:
    """An absolute, signed and time-limited (RECEIPT_LINK_MAX_AGE_DAYS) link to the PDF."""
    token = signing.dumps({"receipt": receipt.pk}, salt=PDF_LINK_SALT, compress=True)
    return settings.SITE_URL + reverse("receipts:receipt-pdf", kwargs={"token": token})


def receipt_from_link(*, token: str) -> TaxReceipt:
    max_age = timedelta(days=settings.RECEIPT_LINK_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=PDF_LINK_SALT, max_age=max_age)
    except signing.BadSignature:
        raise NotFound("receipt link invalid or expired") from None
    receipt = TaxReceipt.objects.filter(pk=data.get("receipt")).first()
    if receipt is None:
        raise NotFound("receipt gone")
    return receipt


@task(timeout=120)
def receipt_deliver(*, receipt_id: int) -> None:
    """Task recorded with the receipt: render and store the PDF, email it, then mark it emailed.

    ``emailed_at`` is written only once the SMTP server has accepted the
    message: a worker killed mid-send leaves it empty and the task is run again
    (a giver may then get the same receipt twice, never none). One queue row per
    receipt, claimed by one worker at a time, keeps two sends at once out."""
    receipt = TaxReceipt.objects.select_related("organisation").get(pk=receipt_id)
    if receipt.status != TaxReceipt.Status.ISSUED:
        return
    receipt = receipt_pdf_ensure(receipt=receipt)
    if receipt.emailed_at is not None or not receipt.giver_email:
        return  # sent already; or a gift at the counter without an email: the counter prints it
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "receipt": receipt,
            "link": receipt_pdf_link(receipt=receipt),
            # The giver's space lists every receipt with its PDF (pages:account, ``/mon-compte/``).
            "account_link": settings.SITE_URL + reverse("pages:account") + "#recus",
        }
        message = EmailMessage(
            gettext("Votre reçu fiscal n° %(number)s — %(organisation)s")
            % {"number": receipt.number, "organisation": receipt.beneficiary_name},
            render_to_string("receipts/email/receipt.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [receipt.giver_email],
        )
    with receipt.pdf.open("rb") as pdf:
        message.attach(f"recu-fiscal-{receipt.number}.pdf", pdf.read(), "application/pdf")
    message.send()
    TaxReceipt.objects.filter(pk=receipt.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())


@task(timeout=60)
def receipt_missing_notify(*, wait_id: int) -> None:
    """Tell the giver what their receipt waits for (once per gift; a seller once per order,
    whatever the number of their items in it: receipts.issuing._wait)."""
    wait = ReceiptWait.objects.filter(pk=wait_id).first()
    if wait is None:
        return
    with translation.override(settings.LANGUAGE_CODE):
        labels = {
            "account": gettext("un compte Trëmma à cette adresse e-mail, adresse confirmée"),
            "last_name": gettext("votre nom"),
            "first_name": gettext("votre prénom"),
            "address_line1": gettext("votre adresse postale"),
            "postal_code": gettext("votre code postal"),
            "city": gettext("votre ville"),
        }
        context = {"missing": [labels.get(name, name) for name in wait.missing], "site_url": settings.SITE_URL}
        EmailMessage(
            gettext("Votre reçu fiscal attend quelques informations"),
            render_to_string("receipts/email/receipt_missing.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [wait.email],
        ).send()


@task(timeout=60)
def receipt_cancelled_notify(*, receipt_id: int) -> None:
    """Tell a giver who received a receipt that it is void, and why."""
    receipt = TaxReceipt.objects.get(pk=receipt_id)
    if receipt.emailed_at is None:
        return  # never sent: nothing to take back
    with translation.override(settings.LANGUAGE_CODE):
        EmailMessage(
            gettext("Votre reçu fiscal n° %(number)s est annulé") % {"number": receipt.number},
            render_to_string("receipts/email/receipt_cancelled.txt", {"receipt": receipt}),
            settings.DEFAULT_FROM_EMAIL,
            [receipt.giver_email],
        ).send()
