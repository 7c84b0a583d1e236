"""Who gets a tax receipt, and when: a giver of money once paid; the SELLER of
an object (who gave its price) once the sale is final; never the buyer; never
for a refunded or disputed payment; nobody without a complete name and address."""

from __future__ import annotations

from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from donations.models import Gift, PaymentStatus
from payments.events import event_receive
from receipts.delivery import receipt_deliver
from receipts.issuing import receipt_issue_for_gift, receipt_issue_for_order_line
from receipts.models import ReceiptCounter, ReceiptWait, TaxReceipt, TaxReceiptLine
from tests.factories import ItemFactory, UserFactory
from tests.receipts_support import (
    dispute_event,
    giver,
    handed_over,
    handed_over_days_ago,
    line_of,
    paid_gift,
    paid_order,
    ready_campaign,
    ready_organisation,
    receipts_issue_due,
    refund_event,
    sale,
)

pytestmark = pytest.mark.django_db


def test_a_paid_gift_is_receipted_after_commit_with_a_snapshot_of_giver_and_beneficiary(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = ready_campaign()
    person = giver()
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(campaign, 12350, user=person)

    receipt = TaxReceipt.objects.get()
    year = timezone.localtime().year
    assert receipt.number == f"{year}-000001" and receipt.sequence == 1 and receipt.year == year
    assert receipt.status == TaxReceipt.Status.ISSUED
    assert receipt.giver == person and receipt.amount_cents == 12350
    assert (receipt.giver_last_name, receipt.giver_first_names) == ("Martin", "Louise Marie")
    assert (receipt.giver_address_line1, receipt.giver_postal_code, receipt.giver_city) == (
        "3 rue des Lilas",
        "64000",
        "Pau",
    )
    assert receipt.beneficiary_name == campaign.organisation.legal_name
    assert receipt.beneficiary_registration == f"RNA {campaign.organisation.rna}"
    assert receipt.signatory_name == "Claire Dupuis"
    assert receipt.payment_date == timezone.localtime(gift.paid_at).date()
    assert list(TaxReceiptLine.objects.values_list("gift_id", "amount_cents", "active")) == [(gift.pk, 12350, True)]
    # Later changes of the profile do not touch what was certified.
    person.city = "Lyon"
    person.save()
    receipt.refresh_from_db()
    assert receipt.giver_city == "Pau"
    # Delivered once: the PDF stored and the email sent with it attached.
    assert receipt.pdf.name.endswith(".pdf") and receipt.emailed_at is not None
    [message] = [m for m in mail.outbox if "reçu fiscal" in m.subject.lower()]
    assert message.to == [person.email]
    assert message.attachments[0][0] == f"recu-fiscal-{receipt.number}.pdf"


def test_a_gift_is_receipted_once_however_often_issuing_is_asked() -> None:
    gift = paid_gift(ready_campaign(), user=giver())

    first = receipt_issue_for_gift(gift_id=gift.pk)
    second = receipt_issue_for_gift(gift_id=gift.pk)
    receipts_issue_due()

    assert first is not None and second is None
    assert TaxReceipt.objects.count() == 1
    assert TaxReceipt.objects.get().sequence == 1


def test_numbers_follow_each_other_per_organisation_and_year_without_gap() -> None:
    campaign, other = ready_campaign(), ready_campaign()
    person = giver()
    for amount in (1000, 2000, 3000):
        receipt_issue_for_gift(gift_id=paid_gift(campaign, amount, user=person).pk)
    receipt_issue_for_gift(gift_id=paid_gift(other, 4000, user=person).pk)

    year = timezone.localtime().year
    mine = list(TaxReceipt.objects.filter(organisation=campaign.organisation).order_by("sequence"))
    assert [r.number for r in mine] == [f"{year}-000001", f"{year}-000002", f"{year}-000003"]
    assert TaxReceipt.objects.get(organisation=other.organisation).number == f"{year}-000001"


def test_a_gift_of_someone_signed_out_is_receipted_to_the_account_holding_its_email() -> None:
    person = giver(email="louise@example.org")
    gift = paid_gift(ready_campaign(), email="Louise@example.org")

    receipt = receipt_issue_for_gift(gift_id=gift.pk)

    assert receipt is not None and receipt.giver == person


def test_a_giver_without_an_address_is_not_receipted_and_is_told_once_what_is_missing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    person = UserFactory(first_name="Louise", last_name="Martin")  # no postal address
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(ready_campaign(), user=person)
    with django_capture_on_commit_callbacks(execute=True):
        receipts_issue_due()

    assert not TaxReceipt.objects.exists()
    wait = ReceiptWait.objects.get(gift=gift)
    assert wait.missing == ["address_line1", "postal_code", "city"]
    told = [m for m in mail.outbox if m.to == [person.email] and "attend" in m.subject]
    assert len(told) == 1 and "votre adresse postale" in told[0].body

    person.address_line1, person.postal_code, person.city = "3 rue des Lilas", "64000", "Pau"
    person.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert receipts_issue_due() == 1
    assert TaxReceipt.objects.get().giver_city == "Pau"
    assert not ReceiptWait.objects.exists()


def test_a_gift_without_any_account_waits_for_one() -> None:
    gift = paid_gift(ready_campaign(), email="nobody@example.org")
    assert receipt_issue_for_gift(gift_id=gift.pk) is None
    assert ReceiptWait.objects.get(gift=gift).missing == ["account"]


def test_the_buyer_is_never_receipted_and_the_seller_only_once_the_sale_is_final(settings: Any) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 14
    seller, buyer = giver(), giver(first_name="Paul", last_name="Bernard")
    item = ItemFactory(price_cents=4500, owner=seller, campaign=ready_campaign())
    order = paid_order(item, buyer=buyer)

    # Paid but not handed over: nothing, for anybody.
    assert receipts_issue_due() == 0
    assert receipt_issue_for_order_line(line_id=line_of(order).pk) is None
    # Handed over, return period running: still nothing.
    order = handed_over(order, days_ago=13)
    assert receipts_issue_due() == 0
    # Return period over: the seller is receipted for the price; the buyer never.
    handed_over_days_ago(order, 15)
    assert receipts_issue_due() == 1
    receipt = TaxReceipt.objects.get()
    assert receipt.giver == seller and receipt.amount_cents == 4500
    assert (receipt.lines.get().order, receipt.lines.get().order_line) == (order, line_of(order))
    assert not TaxReceipt.objects.filter(giver=buyer).exists()
    assert not TaxReceipt.objects.filter(giver_email=order.email).exists()


def test_a_sale_refunded_during_the_return_period_is_never_receipted(settings: Any) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 14
    order = handed_over(sale(3000), days_ago=3)
    event_receive(event=refund_event(order, 3000))
    handed_over_days_ago(order, 30)

    assert receipts_issue_due() == 0
    assert not TaxReceipt.objects.exists()


def test_a_sale_under_an_open_dispute_is_not_receipted_until_the_dispute_is_won(settings: Any) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 0
    order = handed_over(sale(3000), days_ago=1)
    event_receive(event=dispute_event(order, "needs_response"))
    assert receipts_issue_due() == 0

    event_receive(event=dispute_event(order, "won"))
    assert receipts_issue_due() == 1


def test_a_lost_dispute_on_a_gift_means_no_receipt() -> None:
    gift = paid_gift(ready_campaign(), user=giver())
    event_receive(event=dispute_event(gift, "needs_response"))
    event_receive(event=dispute_event(gift, "lost"))
    assert receipt_issue_for_gift(gift_id=gift.pk) is None
    assert receipts_issue_due() == 0


def test_an_organisation_without_its_signatory_issues_nothing() -> None:
    campaign = ready_campaign()
    campaign.organisation.signatory_name = ""
    campaign.organisation.save()
    gift = paid_gift(campaign, user=giver())
    assert receipt_issue_for_gift(gift_id=gift.pk) is None
    assert not TaxReceipt.objects.exists()


def test_the_yearly_command_issues_consolidated_receipts_once() -> None:
    organisation = ready_organisation(receipts_consolidated=True)
    campaign = ready_campaign(organisation)
    person = giver()
    paid_gift(campaign, 1000, user=person)
    paid_gift(campaign, 1500, user=person)
    year = timezone.localtime().year
    out = StringIO()

    call_command("receipts_consolidate", "--year", str(year), "--organisation", organisation.slug, stdout=out)
    call_command("receipts_consolidate", "--year", str(year), stdout=out)

    receipt = TaxReceipt.objects.get()
    assert receipt.consolidated and receipt.amount_cents == 2500 and receipt.giver == person
    assert (receipt.period_start.isoformat(), receipt.period_end.isoformat()) == (f"{year}-01-01", f"{year}-12-31")
    assert "1 consolidated receipts issued" in out.getvalue()


def test_payments_waiting_for_their_giver_do_not_starve_new_ones() -> None:
    campaign = ready_campaign()
    for n in range(3):
        paid_gift(campaign, user=UserFactory(email=f"incomplete{n}@example.org"))  # no address
    receipts_issue_due(limit=3)
    assert ReceiptWait.objects.count() == 3
    paid_gift(campaign, user=giver())

    assert receipts_issue_due(limit=3) == 1
    assert TaxReceipt.objects.count() == 1


def test_an_object_given_in_kind_and_sold_by_the_organisation_receipts_nobody(settings: Any) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 0
    item = ItemFactory(
        price_cents=3000, owner=giver(), campaign=ready_campaign(), kind="gift_in_kind", handover="drop_off"
    )
    handed_over(paid_order(item), days_ago=1)

    assert receipts_issue_due() == 0
    assert not TaxReceipt.objects.exists()


def test_the_receipt_email_goes_once_however_often_delivery_runs(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        paid_gift(ready_campaign(), user=giver())
    receipt = TaxReceipt.objects.get()
    receipt_deliver(receipt_id=receipt.pk)
    receipts_issue_due()

    assert len([m for m in mail.outbox if receipt.number in m.subject]) == 1


def test_a_failing_receipt_never_fails_the_payment_and_the_worker_issues_it_later(
    django_capture_on_commit_callbacks: Any,
) -> None:
    person = giver()
    with (
        mock.patch("receipts.issuing._number_take", side_effect=RuntimeError("database hiccup")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        gift = paid_gift(ready_campaign(), user=person)

    assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.PAID
    assert not TaxReceipt.objects.exists()
    assert receipts_issue_due() == 1
    assert TaxReceipt.objects.get().giver == person


def test_a_receipt_number_already_taken_is_logged_as_an_error_not_as_already_receipted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A counter behind its receipts (restored data, a hand-made fix) must not fail quietly:
    # the payment is not receipted, and that is an operator's problem, said loudly.
    campaign = ready_campaign()
    first = receipt_issue_for_gift(gift_id=paid_gift(campaign, 1000, user=giver()).pk)
    assert first is not None
    ReceiptCounter.objects.filter(organisation=campaign.organisation).update(last_sequence=0)
    gift = paid_gift(campaign, 2000, user=giver())

    with caplog.at_level("INFO", logger="receipts.issuing"):
        assert receipt_issue_for_gift(gift_id=gift.pk) is None

    assert not TaxReceiptLine.objects.filter(gift=gift).exists()
    [record] = [record for record in caplog.records if record.name == "receipts.issuing"]
    assert record.levelname == "ERROR" and "already taken" in record.getMessage()
    assert "already receipted" not in record.getMessage()
