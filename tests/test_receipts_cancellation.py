"""An issued receipt is never edited nor deleted: a refund or a dispute cancels
it with a recorded reason, in the transaction that processes the provider's
event; a corrected receipt gets a new number and references the old one."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from campaigns.models import Membership
from kernel.errors import PermissionDenied
from payments.events import event_receive
from receipts.changes import receipt_cancel
from receipts.issuing import receipt_issue_for_gift, receipts_issue_due
from receipts.models import TaxReceipt, TaxReceiptLine
from tests.receipts_support import (
    dispute_event,
    giver,
    handed_over,
    manager,
    paid_gift,
    ready_campaign,
    refund_event,
    sale,
)

pytestmark = pytest.mark.django_db


def test_a_refund_after_issuing_cancels_the_receipt_with_a_record() -> None:
    gift = paid_gift(ready_campaign(), 5000, user=giver())
    receipt = receipt_issue_for_gift(gift_id=gift.pk)
    assert receipt is not None
    pdf_before = TaxReceipt.objects.get(pk=receipt.pk).pdf.name

    event_receive(event=refund_event(gift, 5000))

    receipt.refresh_from_db()
    assert receipt.status == TaxReceipt.Status.CANCELLED
    assert receipt.cancelled_at is not None
    assert "Remboursement" in receipt.cancellation_reason and "50,00" in receipt.cancellation_reason
    # Still there, as issued: number, amount and file unchanged.
    assert (receipt.number, receipt.amount_cents, receipt.pdf.name) == (receipt.number, 5000, pdf_before)
    assert not TaxReceiptLine.objects.filter(active=True).exists()
    # Refunded in whole: nothing is due any more.
    assert receipts_issue_due() == 0
    assert TaxReceipt.objects.count() == 1


def test_a_partial_refund_gives_a_corrected_receipt_with_a_new_number_referencing_the_old() -> None:
    gift = paid_gift(ready_campaign(), 5000, user=giver())
    first = receipt_issue_for_gift(gift_id=gift.pk)
    assert first is not None

    event_receive(event=refund_event(gift, 2000))
    assert receipts_issue_due() == 1

    first.refresh_from_db()
    corrected = TaxReceipt.objects.exclude(pk=first.pk).get()
    assert first.status == TaxReceipt.Status.CANCELLED
    assert corrected.status == TaxReceipt.Status.ISSUED
    assert corrected.amount_cents == 3000
    assert corrected.replaces == first
    assert corrected.sequence == first.sequence + 1


def test_a_dispute_opened_after_issuing_cancels_and_a_won_dispute_brings_a_corrected_receipt(
    settings: Any,
) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 0
    order = handed_over(sale(2500), days_ago=1)
    assert receipts_issue_due() == 1
    first = TaxReceipt.objects.get()

    event_receive(event=dispute_event(order, "needs_response"))
    first.refresh_from_db()
    assert first.status == TaxReceipt.Status.CANCELLED and "litige" in first.cancellation_reason
    assert receipts_issue_due() == 0

    event_receive(event=dispute_event(order, "won"))
    assert receipts_issue_due() == 1
    assert TaxReceipt.objects.get(status=TaxReceipt.Status.ISSUED).replaces == first


def test_a_replayed_refund_event_cancels_once() -> None:
    gift = paid_gift(ready_campaign(), 5000, user=giver())
    receipt = receipt_issue_for_gift(gift_id=gift.pk)
    assert receipt is not None
    event = refund_event(gift, 5000)
    assert event_receive(event=event) is True
    cancelled_at = TaxReceipt.objects.get().cancelled_at
    assert event_receive(event=event) is False
    assert TaxReceipt.objects.get().cancelled_at == cancelled_at


def test_an_admin_cancels_a_receipt_issued_in_error_and_managers_cannot() -> None:
    campaign = ready_campaign()
    person = giver()
    receipt = receipt_issue_for_gift(gift_id=paid_gift(campaign, user=person).pk)
    assert receipt is not None

    with pytest.raises(PermissionDenied):
        receipt_cancel(receipt_id=receipt.pk, actor=manager(campaign.organisation), reason="Erreur")
    assert TaxReceipt.objects.get().status == TaxReceipt.Status.ISSUED

    admin = manager(campaign.organisation, Membership.Role.ADMIN)
    cancelled = receipt_cancel(receipt_id=receipt.pk, actor=admin, reason="Adresse erronée")
    assert cancelled.status == TaxReceipt.Status.CANCELLED and cancelled.cancellation_reason == "Adresse erronée"

    # The giver fixes the address; the next run issues the corrected receipt.
    person.address_line1 = "5 rue des Lilas"
    person.save()
    assert receipts_issue_due() == 1
    corrected = TaxReceipt.objects.get(status=TaxReceipt.Status.ISSUED)
    assert corrected.replaces == cancelled and corrected.giver_address_line1 == "5 rue des Lilas"


def test_cancelling_twice_is_refused_with_409() -> None:
    campaign = ready_campaign()
    receipt = receipt_issue_for_gift(gift_id=paid_gift(campaign, user=giver()).pk)
    assert receipt is not None
    admin = manager(campaign.organisation, Membership.Role.ADMIN)
    receipt_cancel(receipt_id=receipt.pk, actor=admin, reason="Erreur")
    api = APIClient()
    api.force_authenticate(admin)
    response = api.post(f"/api/receipts/{receipt.pk}/cancel/", {"reason": "Encore"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "receipt_not_cancellable"


def test_a_giver_who_received_a_receipt_is_told_when_it_is_cancelled(django_capture_on_commit_callbacks: Any) -> None:
    person = giver()
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(ready_campaign(), 5000, user=person)
    number = TaxReceipt.objects.get().number
    with django_capture_on_commit_callbacks(execute=True):
        event_receive(event=refund_event(gift, 5000))

    [notice] = [m for m in mail.outbox if "annulé" in m.subject]
    assert notice.to == [person.email] and number in notice.subject and "Remboursement" in notice.body


def test_another_organisations_admin_cannot_tell_a_receipt_exists(api: APIClient) -> None:
    """The same answer as for a missing receipt, as for other organisations' orders and gifts."""
    campaign = ready_campaign()
    receipt = receipt_issue_for_gift(gift_id=paid_gift(campaign, user=giver()).pk)
    assert receipt is not None
    stranger = manager(ready_campaign().organisation, Membership.Role.ADMIN)
    api.force_authenticate(stranger)

    answered = api.post(f"/api/receipts/{receipt.pk}/cancel/", {"reason": "Piraté"}, format="json")
    missing = api.post(f"/api/receipts/{receipt.pk + 1000}/cancel/", {"reason": "Piraté"}, format="json")

    assert answered.status_code == missing.status_code == 404
    assert answered.json() == missing.json()
    assert TaxReceipt.objects.get().status == TaxReceipt.Status.ISSUED
