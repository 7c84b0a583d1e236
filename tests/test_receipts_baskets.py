"""Sellers' receipts per item when one payment buys a basket: each line of the
order is its own sale, receipted to its own seller by its own organisation once
that organisation's part was handed over and the return period is over; a
refund of one line cancels (or prevents) that line's receipt only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import Campaign, Membership, Organisation
from checkout.services import payment_refund
from donations.models import Item, Order, OrderLine, PaymentStatus
from payments.events import event_receive
from payments.gateways import PaymentEvent
from receipts.changes import receipts_cancel_for_line, receipts_cancel_for_payment
from receipts.delivery import local_date
from receipts.issuing import receipt_issue_for_order_line, receipts_issue_consolidated
from receipts.models import ReceiptWait, TaxReceipt, TaxReceiptLine
from receipts.selectors import line_receiptable_cents, lines_due_receipt, receipts_managed
from tests.factories import GiftInKindFactory, ItemFactory, UserFactory
from tests.receipts_support import (
    giver,
    handed_over,
    handed_over_days_ago,
    line_of,
    manager,
    paid_basket,
    ready_campaign,
    ready_organisation,
    receipts_issue_due,
)

pytestmark = pytest.mark.django_db

PERIOD = 14


@pytest.fixture(autouse=True)
def _return_period(settings: Any) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = PERIOD


def item_of(seller: Any, campaign: Campaign, price_cents: int) -> Item:
    return ItemFactory(price_cents=price_cents, owner=seller, campaign=campaign)


def two_sellers_two_organisations() -> tuple[Order, OrderLine, OrderLine]:
    """A basket of two objects of two sellers, listed by two organisations, paid once."""
    first = item_of(giver(email="louise@example.org"), ready_campaign(), 3000)
    second = item_of(giver(email="paul@example.org", first_name="Paul"), ready_campaign(), 4500)
    order = paid_basket([first, second], buyer=giver(email="buyer@example.org", first_name="Anne"))
    return order, line_of(order, first), line_of(order, second)


def refund_line(line: OrderLine, amount_cents: int | None = None) -> None:
    """The line's organisation's treasurer refunds it (the demo provider confirms at once)."""
    treasurer = manager(line.fulfilment.organisation, role=Membership.Role.TREASURER)
    payment_refund(
        actor=treasurer, reason="Objet abîmé", order_id=line.order_id, line_id=line.pk, amount_cents=amount_cents
    )


def receipts_of_line(line: OrderLine) -> list[TaxReceipt]:
    return list(TaxReceipt.objects.filter(lines__order_line=line).order_by("pk"))


def test_a_basket_of_two_sellers_and_two_organisations_gives_each_seller_a_receipt_for_their_item_only() -> None:
    order, first, second = two_sellers_two_organisations()
    assert order.fulfilments.count() == 2
    # The first organisation hands its part over long ago, the second only three days ago:
    # each line's return period starts with the hand-over of its own part.
    handed_over(order, organisation=first.fulfilment.organisation, days_ago=PERIOD + 1)
    handed_over(order, organisation=second.fulfilment.organisation, days_ago=3)

    assert receipts_issue_due() == 1
    [receipt] = receipts_of_line(first)
    assert (receipt.organisation, receipt.giver, receipt.amount_cents) == (
        first.fulfilment.organisation,
        first.item.owner,
        3000,
    )
    [covered] = receipt.lines.all()
    assert (covered.order_id, covered.order_line_id, covered.amount_cents) == (order.pk, first.pk, 3000)
    assert receipt.payment_date == local_date(Order.objects.get(pk=order.pk).paid_at)
    assert receipt.nature == "waived_proceeds"
    assert receipts_of_line(second) == []

    handed_over_days_ago(second.fulfilment, PERIOD)
    assert receipts_issue_due() == 1
    [other] = receipts_of_line(second)
    assert (other.organisation, other.giver, other.amount_cents) == (
        second.fulfilment.organisation,
        second.item.owner,
        4500,
    )
    assert [line.order_line_id for line in other.lines.all()] == [second.pk]
    # Each organisation numbers its own receipts; the buyer is never receipted.
    year = timezone.localtime().year
    assert receipt.number == other.number == f"{year}-000001"
    assert not TaxReceipt.objects.filter(giver_email="buyer@example.org").exists()
    assert receipts_issue_due() == 0


def test_one_line_refunded_during_the_return_period_is_never_receipted_and_the_other_is() -> None:
    order, first, second = two_sellers_two_organisations()
    handed_over(order, days_ago=3)

    refund_line(first)

    first.refresh_from_db()
    assert first.refunded_cents == 3000 and Order.objects.get(pk=order.pk).status == PaymentStatus.PAID
    handed_over_days_ago(order, PERIOD + 1)
    assert line_receiptable_cents(first) == 0
    assert set(lines_due_receipt(now=timezone.now())) == {second}
    assert receipts_issue_due() == 1
    assert receipts_of_line(first) == []
    assert [receipt.amount_cents for receipt in receipts_of_line(second)] == [4500]
    assert receipt_issue_for_order_line(line_id=first.pk) is None


def test_one_line_refunded_after_receipting_cancels_that_lines_receipt_and_leaves_the_other_untouched() -> None:
    order, first, second = two_sellers_two_organisations()
    handed_over(order, days_ago=PERIOD)
    assert receipts_issue_due() == 2
    [kept] = receipts_of_line(second)
    before = TaxReceipt.objects.values().get(pk=kept.pk)

    refund_line(first)

    [cancelled] = receipts_of_line(first)
    assert cancelled.status == TaxReceipt.Status.CANCELLED and "Remboursement" in cancelled.cancellation_reason
    assert not TaxReceiptLine.objects.filter(order_line=first, active=True).exists()
    assert TaxReceipt.objects.values().get(pk=kept.pk) == before  # not a field changed
    assert TaxReceiptLine.objects.get(order_line=second).active
    # Refunded in whole: nothing is due again for that item.
    assert receipts_issue_due() == 0


def test_a_partial_refund_of_one_line_gives_its_seller_a_corrected_receipt_for_what_was_kept() -> None:
    order, first, second = two_sellers_two_organisations()
    handed_over(order, days_ago=PERIOD)
    assert receipts_issue_due() == 2
    [original] = receipts_of_line(first)
    [kept] = receipts_of_line(second)

    refund_line(first, 1000)

    first.refresh_from_db()
    assert line_receiptable_cents(first) == 2000
    assert receipts_issue_due() == 1
    original.refresh_from_db()
    corrected = TaxReceipt.objects.get(lines__order_line=first, status=TaxReceipt.Status.ISSUED)
    assert original.status == TaxReceipt.Status.CANCELLED
    assert (corrected.amount_cents, corrected.replaces, corrected.giver) == (2000, original, first.item.owner)
    kept.refresh_from_db()
    assert kept.status == TaxReceipt.Status.ISSUED and kept.amount_cents == 4500


def test_two_items_of_one_seller_in_one_basket_get_a_receipt_each() -> None:
    seller, campaign = giver(), ready_campaign()
    lamp, chair = item_of(seller, campaign, 1200), item_of(seller, campaign, 800)
    order = handed_over(paid_basket([lamp, chair]), days_ago=PERIOD)

    assert receipts_issue_due() == 2

    by_line = {
        covered.order_line_id: covered.receipt.amount_cents
        for covered in TaxReceiptLine.objects.select_related("receipt")
    }
    assert by_line == {line_of(order, lamp).pk: 1200, line_of(order, chair).pk: 800}
    assert set(TaxReceipt.objects.values_list("giver", flat=True)) == {seller.pk}


def test_yearly_receipts_sum_a_sellers_items_across_baskets_one_receipt_per_seller() -> None:
    organisation = ready_organisation(receipts_consolidated=True)
    campaign = ready_campaign(organisation)
    louise, paul = giver(email="louise@example.org"), giver(email="paul@example.org", first_name="Paul")
    lamp, chair, table = item_of(louise, campaign, 1200), item_of(louise, campaign, 800), item_of(paul, campaign, 5000)
    first = handed_over(paid_basket([lamp, table]), days_ago=PERIOD)
    second = handed_over(paid_basket([chair]), days_ago=PERIOD)
    assert receipts_issue_due() == 0  # yearly: not one by one

    receipts = receipts_issue_consolidated(year=timezone.localtime().year)

    by_giver = {receipt.giver: receipt for receipt in receipts}
    assert set(by_giver) == {louise, paul}
    assert by_giver[louise].amount_cents == 2000 and by_giver[louise].consolidated
    assert set(by_giver[louise].lines.values_list("order_line", flat=True)) == {
        line_of(first, lamp).pk,
        line_of(second, chair).pk,
    }
    assert set(by_giver[louise].lines.values_list("order", flat=True)) == {first.pk, second.pk}
    assert list(by_giver[paul].lines.values_list("order_line", flat=True)) == [line_of(first, table).pk]
    assert receipts_issue_consolidated(year=timezone.localtime().year) == []  # again: nothing new


def test_a_line_refunded_under_a_yearly_receipt_cancels_it_and_the_next_run_receipts_the_rest() -> None:
    organisation = ready_organisation(receipts_consolidated=True)
    seller = giver()
    campaign = ready_campaign(organisation)
    lamp, chair = item_of(seller, campaign, 1200), item_of(seller, campaign, 800)
    order = handed_over(paid_basket([lamp, chair]), days_ago=PERIOD)
    [yearly] = receipts_issue_consolidated(year=timezone.localtime().year)

    refund_line(line_of(order, lamp))

    yearly.refresh_from_db()
    assert yearly.status == TaxReceipt.Status.CANCELLED
    [again] = receipts_issue_consolidated(year=timezone.localtime().year)
    assert again.amount_cents == 800 and again.replaces == yearly
    assert list(again.lines.values_list("order_line", flat=True)) == [line_of(order, chair).pk]


def test_a_seller_without_an_address_waits_per_item_is_told_once_then_gets_each_receipt() -> None:
    seller = UserFactory(first_name="Louise", last_name="Martin")  # no postal address
    campaign = ready_campaign()
    lamp, chair = item_of(seller, campaign, 1200), item_of(seller, campaign, 800)
    order = handed_over(paid_basket([lamp, chair]), days_ago=PERIOD)

    assert receipts_issue_due() == 0

    waits = ReceiptWait.objects.order_by("order_line")
    assert [(wait.order_id, wait.order_line_id) for wait in waits] == [
        (order.pk, line_of(order, lamp).pk),
        (order.pk, line_of(order, chair).pk),
    ]
    assert all(wait.giver == seller and "address_line1" in wait.missing for wait in waits)
    assert receipts_issue_due() == 0  # still waiting: no second row, no number taken
    assert ReceiptWait.objects.count() == 2 and not TaxReceipt.objects.exists()
    # One email for the basket, however many of the seller's items it holds and however often the job runs.
    told = [message for message in mail.outbox if message.subject == "Votre reçu fiscal attend quelques informations"]
    assert [message.to for message in told] == [[seller.email]]

    seller.address_line1, seller.postal_code, seller.city = "3 rue des Lilas", "64000", "Pau"
    seller.save()
    assert receipts_issue_due() == 2
    assert not ReceiptWait.objects.exists()


def test_a_dispute_on_a_basket_holds_back_every_line_even_one_it_did_not_debit() -> None:
    order, first, second = two_sellers_two_organisations()
    handed_over(order, days_ago=PERIOD)
    # A dispute for less than the first line: its debit falls on that line alone.
    event_receive(
        event=PaymentEvent(
            provider="demo",
            id=f"evt_dispute_{order.pk}",
            type="dispute.opened",
            payment_id=order.provider_payment_id,
            amount_cents=500,
            currency="EUR",
            dispute_id=f"dp_{order.pk}",
            dispute_status="needs_response",
        )
    )
    assert not second.ledger_entries.filter(reason="dispute").exists()

    assert line_receiptable_cents(first) == line_receiptable_cents(second) == 0
    assert receipts_issue_due() == 0
    assert receipt_issue_for_order_line(line_id=second.pk) is None
    assert not TaxReceipt.objects.exists()


def test_an_object_given_in_kind_in_a_basket_receipts_nobody_and_the_sellers_item_its_seller() -> None:
    campaign = ready_campaign()
    sold = item_of(giver(), campaign, 2500)
    given = GiftInKindFactory(campaign=campaign, price_cents=1500, status="listed")
    handed_over(paid_basket([sold, given]), days_ago=PERIOD)

    assert receipts_issue_due() == 1
    assert TaxReceipt.objects.get().amount_cents == 2500


def test_what_is_not_a_line_or_not_receipted_is_refused_quietly() -> None:
    order, first, _second = two_sellers_two_organisations()
    assert receipt_issue_for_order_line(line_id=0) is None
    assert receipt_issue_for_order_line(line_id=2**62) is None
    assert receipts_cancel_for_line(line=first, reason="rien") == 0
    assert receipts_cancel_for_payment(order=order, reason="rien") == 0
    with pytest.raises(ValueError, match="a gift or an order"):
        receipts_cancel_for_payment(reason="ni l'un ni l'autre")
    assert not TaxReceipt.objects.exists()


def test_an_organisation_lists_only_its_own_line_of_a_basket() -> None:
    order, first, _second = two_sellers_two_organisations()
    handed_over(order, days_ago=PERIOD)
    assert receipts_issue_due() == 2
    organisation: Organisation = first.fulfilment.organisation
    treasurer = manager(organisation, role=Membership.Role.TREASURER)

    assert [receipt.amount_cents for receipt in receipts_managed(user=treasurer)] == [3000]
