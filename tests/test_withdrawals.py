"""The buyer's withdrawal from a distance sale: within WITHDRAWAL_DAYS of delivery, some or all
objects of a parcel; refunded once the organisation confirms it has them back (the shipping too
when the whole parcel comes back); no seller's receipt while it is open; closed without a
return, the return period starts again; past the window, or before delivery, refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import AuditEntry, Organisation
from checkout.services.withdrawals import (
    WithdrawalClosed,
    WithdrawalLinesInvalid,
    withdrawal_cancel,
    withdrawal_receive,
    withdrawal_request,
)
from donations.models import Fulfilment, ItemStatus, Order, Refund, Withdrawal, WithdrawalStatus
from kernel.errors import DomainError
from receipts.issuing import receipts_issue_due
from receipts.models import TaxReceiptLine
from tests.factories import ItemFactory, manager_of
from tests.parcels_support import SHIPPING_CENTS, FakeCarrier, fake_carrier, parcel_basket, track
from tests.receipts_support import giver, ready_campaign, ready_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def carrier(monkeypatch: Any) -> FakeCarrier:
    return fake_carrier(monkeypatch)


@pytest.fixture
def commits(django_capture_on_commit_callbacks: Any) -> Any:
    return django_capture_on_commit_callbacks


def delivered_parcel(commits: Any, *, days_ago: int = 0) -> tuple[Order, Fulfilment]:
    organisation = ready_organisation(
        name="Emmaüs Pau", stripe_account_id=f"acct_demo_{Organisation.objects.count()}", stripe_transfers_active=True
    )
    campaign = ready_campaign(organisation)
    seller = giver()
    items = [
        ItemFactory(title="Lampe", price_cents=1500, weight_grams=800, campaign=campaign, owner=seller),
        ItemFactory(title="Livre", price_cents=500, weight_grams=300, campaign=campaign, owner=seller),
    ]
    order = parcel_basket(items, commits=commits)
    parcel = order.fulfilments.get()
    assert track(parcel, "delivered", commits=commits)
    if days_ago:
        at = timezone.now() - timedelta(days=days_ago)
        Fulfilment.objects.filter(pk=parcel.pk).update(delivered_at=at, handed_over_at=at)
    parcel.refresh_from_db()
    return order, parcel


def lines(parcel: Fulfilment) -> list[int]:
    return list(parcel.lines.order_by("pk").values_list("pk", flat=True))


def test_a_withdrawal_is_refunded_once_the_organisation_has_the_object_back(carrier: FakeCarrier, commits: Any) -> None:
    order, parcel = delivered_parcel(commits, days_ago=3)
    lamp = lines(parcel)[0]
    mail.outbox.clear()

    with commits(execute=True):
        withdrawal = withdrawal_request(fulfilment=parcel, line_ids=[lamp], reason="Trop grande")
    assert [m.subject for m in mail.outbox] == ["Votre rétractation est enregistrée : 2 objets"]
    assert parcel.organisation.address_line1 in mail.outbox[0].body  # where to send it back
    assert Refund.objects.count() == 0  # nothing is refunded before the object is back

    treasurer = manager_of(parcel.organisation)
    with commits(execute=True):
        withdrawal_receive(withdrawal_id=withdrawal.pk, actor=treasurer)
    with pytest.raises(DomainError):
        withdrawal_receive(withdrawal_id=withdrawal.pk, actor=treasurer)  # a double click refunds nothing more

    order.refresh_from_db()
    assert order.refunded_cents == 1500  # the lamp only; the shipping stays (the book was kept)
    assert parcel.lines.get(pk=lamp).item.status == ItemStatus.WITHDRAWN
    assert Withdrawal.objects.get().status == WithdrawalStatus.RECEIVED
    assert AuditEntry.objects.filter(action="withdrawal_received", actor=treasurer).count() == 1
    assert mail.outbox[-1].subject == "Objet rendu : vous êtes remboursé (2 objets)"


def test_a_whole_parcel_sent_back_refunds_its_shipping_too(carrier: FakeCarrier, commits: Any) -> None:
    order, parcel = delivered_parcel(commits)
    with commits(execute=True):
        withdrawal = withdrawal_request(fulfilment=parcel, line_ids=lines(parcel))
    with commits(execute=True):
        withdrawal_receive(withdrawal_id=withdrawal.pk, actor=manager_of(parcel.organisation))
    order.refresh_from_db()
    assert order.refunded_cents == 2000 + SHIPPING_CENTS == order.amount_cents


def test_no_sellers_receipt_while_a_withdrawal_is_open_and_its_clock_restarts_when_closed_without_return(
    carrier: FakeCarrier, commits: Any, settings: Any
) -> None:
    _order, parcel = delivered_parcel(commits, days_ago=settings.WITHDRAWAL_DAYS - 1)
    lamp, book = lines(parcel)
    with commits(execute=True):
        withdrawal = withdrawal_request(fulfilment=parcel, line_ids=[lamp])
    at = timezone.now() - timedelta(days=settings.RECEIPT_RETURN_PERIOD_DAYS + 1)
    Fulfilment.objects.filter(pk=parcel.pk).update(handed_over_at=at, delivered_at=at)

    with commits(execute=True):
        receipts_issue_due()
    receipted = set(TaxReceiptLine.objects.filter(active=True).values_list("order_line_id", flat=True))
    assert receipted == {book}  # the lamp waits for its withdrawal

    with commits(execute=True):
        withdrawal_cancel(withdrawal_id=withdrawal.pk, actor=manager_of(parcel.organisation))
        receipts_issue_due()
    assert not TaxReceiptLine.objects.filter(order_line_id=lamp).exists()  # its return period starts again

    Withdrawal.objects.filter(pk=withdrawal.pk).update(closed_at=at)
    with commits(execute=True):
        receipts_issue_due()
    assert TaxReceiptLine.objects.filter(order_line_id=lamp, active=True).exists()


def test_past_the_window_or_before_delivery_a_withdrawal_is_refused_with_a_clear_message(
    carrier: FakeCarrier, commits: Any, settings: Any
) -> None:
    _order, parcel = delivered_parcel(commits, days_ago=settings.WITHDRAWAL_DAYS + 1)
    with pytest.raises(WithdrawalClosed) as refused:
        withdrawal_request(fulfilment=parcel, line_ids=lines(parcel))
    assert "14 jours après la livraison" in str(refused.value.detail)

    organisation = ready_organisation()
    waiting = parcel_basket(
        [ItemFactory(price_cents=900, weight_grams=100, campaign=ready_campaign(organisation))], commits=commits
    )
    with pytest.raises(WithdrawalClosed):
        withdrawal_request(fulfilment=waiting.fulfilments.get(), line_ids=lines(waiting.fulfilments.get()))
    assert not Withdrawal.objects.exists()


def test_lines_of_another_parcel_or_already_on_their_way_back_are_refused(carrier: FakeCarrier, commits: Any) -> None:
    _order, parcel = delivered_parcel(commits)
    _other_order, other = delivered_parcel(commits)
    with pytest.raises(WithdrawalLinesInvalid):
        withdrawal_request(fulfilment=parcel, line_ids=lines(other))
    with pytest.raises(WithdrawalLinesInvalid):
        withdrawal_request(fulfilment=parcel, line_ids=[])
    withdrawal_request(fulfilment=parcel, line_ids=lines(parcel)[:1])
    with pytest.raises(WithdrawalLinesInvalid):
        withdrawal_request(fulfilment=parcel, line_ids=lines(parcel)[:1])
    assert Withdrawal.objects.count() == 1


def test_another_organisations_member_cannot_close_a_withdrawal(carrier: FakeCarrier, commits: Any) -> None:
    _order, parcel = delivered_parcel(commits)
    withdrawal = withdrawal_request(fulfilment=parcel, line_ids=lines(parcel))
    stranger = manager_of(ready_organisation(name="Ailleurs"))
    with pytest.raises(DomainError):
        withdrawal_receive(withdrawal_id=withdrawal.pk, actor=stranger)
    assert Withdrawal.objects.get().status == WithdrawalStatus.REQUESTED
