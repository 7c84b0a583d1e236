"""One-item orders become orders of one line with one fulfilment: an order
written under the old schema (item, campaign, claim code and hand-over on the
order) is read after migrating forward as one line (what was bought, for which
campaign, what was refunded) and one fulfilment (how it was collected, and its
transfer), with its ledger entries, transfer, receipt line and receipt wait
pointing at them; migrating back puts every field on the order again. Real
migrations on the test database: SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from donations.models import Fulfilment, Order, OrderLine
from ledger.models import LedgerEntry, Transfer
from receipts.models import ReceiptWait, TaxReceiptLine
from tests.factories import CampaignFactory, ItemFactory, UserFactory

# The last state with one item per order.
BEFORE = [
    ("donations", "0010_order_pickup_reminders"),
    ("ledger", "0002_ledger_accounts"),
    ("receipts", "0001_initial"),
]

pytestmark = pytest.mark.django_db(transaction=True)  # real migrations: no test transaction around them


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # what is applied now
    return executor


def _latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _old_apps() -> Any:
    return _migrate(BEFORE).loader.project_state(BEFORE).apps


def _receipt(old: Any, *, organisation_id: int, giver_id: int) -> Any:
    return old.get_model("receipts", "TaxReceipt").objects.create(
        organisation_id=organisation_id,
        year=2026,
        sequence=1,
        number="2026-000001",
        giver_id=giver_id,
        giver_email="seller@example.org",
        giver_last_name="Martin",
        giver_first_names="Louise",
        giver_address_line1="3 rue des Lilas",
        giver_postal_code="64000",
        giver_city="Pau",
        beneficiary_name="Association Emmaüs",
        beneficiary_address_line1="1 rue de la Paix",
        beneficiary_postal_code="75002",
        beneficiary_city="Paris",
        beneficiary_legal_form="Association",
        beneficiary_registration="W000000001",
        beneficiary_purpose="Accueil et réemploi",
        beneficiary_status="Œuvre d'intérêt général",
        tax_regime="general_interest",
        signatory_name="Claire Dupuis",
        signatory_title="Présidente",
        amount_cents=1500,
        payment_date=date(2026, 3, 1),
        payment_method="Carte bancaire",
        nature="waived_proceeds",
        issued_at=timezone.now(),
    )


def test_a_one_item_order_becomes_one_line_and_one_fulfilment_and_back() -> None:
    campaign = CampaignFactory()
    seller = UserFactory()
    item = ItemFactory(campaign=campaign, owner=seller, price_cents=2000)
    # Created under today's schema, before migrating back (items have gained columns since).
    other_item = ItemFactory(campaign=campaign, price_cents=900)
    paid_at = timezone.now() - timedelta(days=30)
    handed_over_at = timezone.now() - timedelta(days=20)
    try:
        old = _old_apps()
        order = old.get_model("donations", "Order").objects.create(
            item_id=item.pk,
            campaign_id=campaign.pk,
            email="buyer@example.org",
            amount_cents=2000,
            refunded_cents=500,
            status="paid",
            provider="demo",
            provider_payment_id="pay_before_baskets",
            paid_at=paid_at,
            expires_at=paid_at,
            claim_code="ABCD2345",
            claim_token="token-of-the-claim-page",
            handed_over_at=handed_over_at,
            pickup_reminded_at=paid_at + timedelta(days=3),
            transfer_id="tr_before_baskets",
        )
        # Another order, not collected: two rows must come back with their own claim code and token.
        other = old.get_model("donations", "Order").objects.create(
            item_id=other_item.pk,
            campaign_id=campaign.pk,
            email="other@example.org",
            amount_cents=900,
            status="paid",
            provider="demo",
            paid_at=paid_at,
            expires_at=paid_at,
            claim_code="WXYZ6789",
            claim_token="token-of-the-other-page",
        )
        entries = old.get_model("ledger", "LedgerEntry").objects
        common = {"campaign_id": campaign.pk, "organisation_id": campaign.organisation_id, "order_id": order.pk}
        credit = entries.create(
            **common,
            kind="credit",
            reason="payment",
            amount_cents=2000,
            key=f"order:{order.pk}:credit",
            provider_event_id="evt_paid",
        )
        debit = entries.create(
            **common,
            kind="debit",
            reason="refund",
            amount_cents=500,
            key=f"order:{order.pk}:refund:500",
            provider_event_id="evt_refunded",
        )
        transfer = old.get_model("ledger", "Transfer").objects.create(
            organisation_id=campaign.organisation_id,
            order_id=order.pk,
            provider="demo",
            provider_transfer_id="tr_before_baskets",
            amount_cents=1500,
        )
        receipt = _receipt(old, organisation_id=campaign.organisation_id, giver_id=seller.pk)
        receipt_line = old.get_model("receipts", "TaxReceiptLine").objects.create(
            receipt=receipt, order_id=order.pk, amount_cents=1500, paid_on=date(2026, 3, 1)
        )
        wait = old.get_model("receipts", "ReceiptWait").objects.create(
            order_id=order.pk, giver_id=seller.pk, email=seller.email, missing=["address_line1"]
        )

        _migrate(_latest())

        [fulfilment] = Fulfilment.objects.filter(order_id=order.pk)
        assert (fulfilment.organisation_id, fulfilment.claim_code, fulfilment.claim_token) == (
            campaign.organisation_id,
            "ABCD2345",
            "token-of-the-claim-page",
        )
        assert (fulfilment.handed_over_at, fulfilment.transfer_id) == (handed_over_at, "tr_before_baskets")
        assert fulfilment.pickup_reminded_at == paid_at + timedelta(days=3)
        [line] = OrderLine.objects.filter(order_id=order.pk)
        assert (line.fulfilment_id, line.item_id, line.campaign_id) == (fulfilment.pk, item.pk, campaign.pk)
        assert (line.amount_cents, line.refunded_cents) == (2000, 500)
        assert Order.objects.get(pk=order.pk).refunded_cents == 500
        assert set(LedgerEntry.objects.filter(order_line=line).values_list("pk", flat=True)) == {credit.pk, debit.pk}
        assert Transfer.objects.get(pk=transfer.pk).fulfilment_id == fulfilment.pk
        moved = TaxReceiptLine.objects.get(pk=receipt_line.pk)
        assert (moved.order_id, moved.order_line_id, moved.active) == (order.pk, line.pk, True)
        waiting = ReceiptWait.objects.get(pk=wait.pk)
        assert (waiting.order_id, waiting.order_line_id, waiting.missing) == (order.pk, line.pk, ["address_line1"])
        assert line.receipt_wait == waiting and list(line.receipt_lines.all()) == [moved]
        [other_line] = OrderLine.objects.filter(order_id=other.pk)
        assert (other_line.fulfilment.claim_code, other_line.fulfilment.handed_over_at) == ("WXYZ6789", None)
        assert other_line.fulfilment_id != fulfilment.pk and other_line.amount_cents == 900

        back = _migrate(BEFORE).loader.project_state(BEFORE).apps
        restored = back.get_model("donations", "Order").objects.get(pk=order.pk)
        assert (restored.item_id, restored.campaign_id, restored.amount_cents, restored.refunded_cents) == (
            item.pk,
            campaign.pk,
            2000,
            500,
        )
        assert (restored.claim_code, restored.claim_token, restored.handed_over_at, restored.transfer_id) == (
            "ABCD2345",
            "token-of-the-claim-page",
            handed_over_at,
            "tr_before_baskets",
        )
        assert restored.pickup_reminded_at == paid_at + timedelta(days=3)
        restored_other = back.get_model("donations", "Order").objects.get(pk=other.pk)
        assert (restored_other.claim_code, restored_other.claim_token, restored_other.handed_over_at) == (
            "WXYZ6789",
            "token-of-the-other-page",
            None,
        )
        assert back.get_model("ledger", "LedgerEntry").objects.filter(order_id=order.pk).count() == 2
        assert back.get_model("receipts", "TaxReceiptLine").objects.get(pk=receipt_line.pk).order_id == order.pk
        assert back.get_model("receipts", "ReceiptWait").objects.get(pk=wait.pk).order_id == order.pk
    finally:
        _migrate(_latest())
