"""What follows a parcel's payment: its label (made once, the carrier down → made later), the
sender marking it shipped (their own parcels only), the carrier's tracking (in transit;
delivered → the hand-over's clock: items handed over, transfer, seller's receipt after the
return period; returned → the objects refunded, the shipping kept), and the ship-by rule
(a parcel not shipped in time → cancelled, its objects and shipping refunded once, its
objects back on sale, buyer and sender told once)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.utils import timezone

from campaigns.models import AuditEntry
from checkout.services.parcels import (
    parcel_label_make,
    parcels_mark_shipped,
    parcels_sweep,
    tracking_apply,
)
from delivery.carriers import CarrierError, TrackingUpdate
from donations.models import Fulfilment, Item, ItemStatus, Order, PaymentStatus, Refund, ShipmentStatus
from kernel.errors import NotFound
from ledger.models import LedgerEntry
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
    """Run what a transaction records for after its commit (tasks, emails), as production does."""
    return django_capture_on_commit_callbacks


def two_organisations_basket(commits: Any) -> tuple[Order, Fulfilment, Fulfilment]:
    """A lamp (800 g) and a book (300 g) of Emmaüs Pau, a vase (1,200 g) of Recyclerie Nay, each
    organisation's part a parcel to a relay point."""
    pau = ready_organisation(name="Emmaüs Pau", stripe_account_id="acct_demo_pau", stripe_transfers_active=True)
    nay = ready_organisation(name="Recyclerie Nay", stripe_account_id="acct_demo_nay", stripe_transfers_active=True)
    campaign_pau, campaign_nay = ready_campaign(pau), ready_campaign(nay)
    seller = giver()
    items = [
        ItemFactory(title="Lampe", price_cents=1500, weight_grams=800, campaign=campaign_pau, owner=seller),
        ItemFactory(title="Livre", price_cents=500, weight_grams=300, campaign=campaign_pau, owner=seller),
        ItemFactory(title="Vase", price_cents=2500, weight_grams=1200, campaign=campaign_nay, owner=seller),
    ]
    order = parcel_basket(items, commits=commits)
    first, second = order.fulfilments.order_by("organisation__name")
    return order, first, second


# --- Labels -------------------------------------------------------------------------------------


def test_paying_makes_each_parcels_label_once_with_its_weight_sender_and_relay_point(
    carrier: FakeCarrier, commits: Any
) -> None:
    _order, pau, nay = two_organisations_basket(commits)

    pau.refresh_from_db()
    sent = {request.reference: request for request in carrier.requests}
    request = sent[f"fulfilment-{pau.pk}"]
    assert request.weight_grams == 1100
    assert request.relay_point_id == "DEMO-75004-00"
    assert request.sender.name == "Emmaüs Pau" and request.sender.postal_code == pau.organisation.postal_code
    assert request.recipient_email == "buyer@example.org" and request.recipient is None
    assert sent[f"fulfilment-{nay.pk}"].weight_grams == 1200
    assert pau.tracking_number.startswith("FK") and pau.carrier == "fake"
    assert default_storage.open(pau.label).read().startswith(b"%PDF")

    # Asked again (a retried task): the same label, nothing stored twice.
    label = pau.label
    parcel_label_make(fulfilment_id=pau.pk)
    pau.refresh_from_db()
    assert pau.label == label
    assert len(carrier.requests) == 2


def test_a_carrier_down_at_payment_leaves_the_label_to_the_periodic_job(carrier: FakeCarrier, commits: Any) -> None:
    carrier.down = True
    order, pau, _nay = two_organisations_basket(commits)
    pau.refresh_from_db()
    assert pau.label == "" and pau.tracking_number == ""
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID  # the payment is never lost

    carrier.down = False
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(minutes=20))
    with commits(execute=True):
        parcels_sweep()

    pau.refresh_from_db()
    assert pau.label and pau.tracking_number


# --- Shipped -------------------------------------------------------------------------------------


def test_a_member_marks_the_organisations_parcel_shipped_once_and_the_buyer_is_told(
    carrier: FakeCarrier, commits: Any
) -> None:
    _order, pau, _nay = two_organisations_basket(commits)
    volunteer = manager_of(pau.organisation, role="volunteer")
    mail.outbox.clear()

    with commits(execute=True):
        moved = parcels_mark_shipped(actor=volunteer, fulfilment_ids=[pau.pk])
        again = parcels_mark_shipped(actor=volunteer, fulfilment_ids=[pau.pk])

    pau.refresh_from_db()
    assert [parcel.pk for parcel in moved] == [pau.pk] and again == []
    assert pau.shipment_status == ShipmentStatus.SHIPPED and pau.shipped_at is not None
    assert (
        AuditEntry.objects.filter(organisation=pau.organisation, action="parcel_shipped", actor=volunteer).count() == 1
    )
    assert [message.subject for message in mail.outbox] == ["Votre colis est parti : 2 objets"]
    assert pau.tracking_number in mail.outbox[0].body


def test_another_organisations_member_cannot_ship_its_parcel_and_nothing_moves(
    carrier: FakeCarrier, commits: Any
) -> None:
    _order, pau, nay = two_organisations_basket(commits)
    stranger = manager_of(nay.organisation)

    with pytest.raises(NotFound):
        parcels_mark_shipped(actor=stranger, fulfilment_ids=[nay.pk, pau.pk])

    assert Fulfilment.objects.filter(shipment_status=ShipmentStatus.SHIPPED).count() == 0


# --- Tracking ------------------------------------------------------------------------------------


def test_delivered_starts_the_hand_over_clock_transfer_then_the_sellers_receipt(
    carrier: FakeCarrier, settings: Any, commits: Any
) -> None:
    _order, pau, nay = two_organisations_basket(commits)
    with commits(execute=True):
        parcels_mark_shipped(actor=manager_of(pau.organisation), fulfilment_ids=[pau.pk])
    assert track(pau, "in_transit", commits=commits)
    pau.refresh_from_db()
    assert pau.shipment_status == ShipmentStatus.IN_TRANSIT

    assert track(pau, "delivered", commits=commits)

    pau.refresh_from_db()
    assert pau.shipment_status == ShipmentStatus.DELIVERED
    assert pau.delivered_at is not None and pau.handed_over_at == pau.delivered_at
    assert set(pau.lines.values_list("item__status", flat=True)) == {ItemStatus.HANDED_OVER}
    assert pau.transfer_id  # the organisation is paid its items' prices (the shipping is not theirs)
    # The other organisation's parcel is not touched.
    nay.refresh_from_db()
    assert nay.handed_over_at is None and nay.shipment_status == ShipmentStatus.TO_SHIP
    # The seller's receipt waits for the return period, then comes.
    with commits(execute=True):
        receipts_issue_due()
    assert not TaxReceiptLine.objects.filter(order_line__fulfilment=pau).exists()
    Fulfilment.objects.filter(pk=pau.pk).update(
        handed_over_at=timezone.now() - timedelta(days=settings.RECEIPT_RETURN_PERIOD_DAYS + 1)
    )
    with commits(execute=True):
        receipts_issue_due()
    assert TaxReceiptLine.objects.filter(order_line__fulfilment=pau, active=True).count() == 2


def test_a_replayed_or_late_tracking_event_changes_nothing(carrier: FakeCarrier, commits: Any) -> None:
    _order, pau, _nay = two_organisations_basket(commits)
    assert track(pau, "delivered", commits=commits)
    assert not track(pau, "delivered", commits=commits)  # the same event again: recorded once
    assert track(
        pau, "in_transit", commits=commits, event_id="late-in-transit"
    )  # recorded, out of order: nothing moves
    pau.refresh_from_db()
    assert pau.shipment_status == ShipmentStatus.DELIVERED


def test_a_tracking_number_we_never_gave_applies_to_nothing() -> None:
    update = TrackingUpdate(carrier="fake", event_id="e1", tracking_number="FKFORGED", status="delivered", payload={})
    assert tracking_apply(update) is False
    assert (
        tracking_apply(
            TrackingUpdate(carrier="fake", event_id="e2", tracking_number="", status="delivered", payload={})
        )
        is False
    )


def test_returned_refunds_the_objects_keeps_the_shipping_and_relists_them(carrier: FakeCarrier, commits: Any) -> None:
    order, pau, _nay = two_organisations_basket(commits)
    with commits(execute=True):
        parcels_mark_shipped(actor=manager_of(pau.organisation), fulfilment_ids=[pau.pk])
    mail.outbox.clear()

    assert track(pau, "returned", commits=commits)

    pau.refresh_from_db()
    order.refresh_from_db()
    assert pau.shipment_status == ShipmentStatus.RETURNED and pau.returned_at is not None
    assert list(pau.lines.values_list("refunded_cents", flat=True)) == [1500, 500]
    assert order.refunded_cents == 2000  # the items' prices, not the shipping
    # The shipping was carried: the shipping account keeps it.
    assert not LedgerEntry.objects.filter(order=order, account="platform_shipping", kind="debit").exists()
    assert set(pau.lines.values_list("item__status", flat=True)) == {ItemStatus.LISTED}
    assert order.status == PaymentStatus.PAID  # the other organisation's part goes on
    assert [m.subject for m in mail.outbox] == ["Colis non retiré, retourné à l'expéditeur : 2 objets"]
    assert AuditEntry.objects.filter(action="parcel_returned", actor__isnull=True).count() == 1


# --- The ship-by rule ----------------------------------------------------------------------------


def test_a_parcel_not_shipped_in_time_is_cancelled_refunded_with_its_shipping_and_relisted_once(
    carrier: FakeCarrier, commits: Any
) -> None:
    order, pau, nay = two_organisations_basket(commits)
    with commits(execute=True):
        parcels_mark_shipped(actor=manager_of(nay.organisation), fulfilment_ids=[nay.pk])
    Fulfilment.objects.filter(order=order).update(ship_by=timezone.now() - timedelta(minutes=1))
    mail.outbox.clear()

    with commits(execute=True):
        assert parcels_sweep() == 1
    with commits(execute=True):
        assert parcels_sweep() == 0  # run twice: nothing twice

    pau.refresh_from_db()
    order.refresh_from_db()
    assert pau.shipment_status == ShipmentStatus.CANCELLED
    assert order.refunded_cents == 1500 + 500 + SHIPPING_CENTS
    # One refund of the whole part, naming it; the shipping account gives back its shipping.
    assert Refund.objects.filter(order=order).count() == 1
    assert Refund.objects.get(fulfilment=pau).amount_cents == 1500 + 500 + SHIPPING_CENTS
    shipping = LedgerEntry.objects.filter(order=order, account="platform_shipping", kind="debit")
    assert sum(shipping.values_list("amount_cents", flat=True)) == SHIPPING_CENTS
    assert set(pau.lines.values_list("item__status", flat=True)) == {ItemStatus.LISTED}
    # The campaigns lose exactly their items' prices; the shipping was never theirs.
    debits = LedgerEntry.objects.filter(order=order, kind="debit", account="campaign")
    assert sum(debits.values_list("amount_cents", flat=True)) == 2000
    # The shipped parcel of the other organisation is untouched.
    nay.refresh_from_db()
    assert nay.shipment_status == ShipmentStatus.SHIPPED
    assert nay.lines.get().item.status == ItemStatus.SOLD
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        "Colis non expédié : votre commande « 2 objets » est remboursée",
        f"Colis non expédié à temps : commande n° {order.pk} annulée",
    ]
    assert AuditEntry.objects.filter(action="parcel_cancelled", organisation=pau.organisation).count() == 1


def test_a_carrier_down_fails_the_label_task_so_that_the_engine_tries_again(carrier: FakeCarrier, commits: Any) -> None:
    carrier.down = True
    _order, pau, _nay = two_organisations_basket(commits)
    with pytest.raises(CarrierError):
        parcel_label_make(fulfilment_id=pau.pk)
    assert Fulfilment.objects.get(pk=pau.pk).label == ""


def test_delivered_with_an_object_that_cannot_be_handed_over_moves_none_of_them(
    carrier: FakeCarrier, commits: Any
) -> None:
    _order, pau, _nay = two_organisations_basket(commits)
    lamp, book = pau.lines.order_by("pk")
    Item.objects.filter(pk=book.item_id).update(status=ItemStatus.WITHDRAWN)

    assert track(pau, "delivered", commits=commits)

    pau.refresh_from_db()
    assert pau.shipment_status == ShipmentStatus.DELIVERED and pau.handed_over_at is None
    assert Item.objects.get(pk=lamp.item_id).status == ItemStatus.SOLD
