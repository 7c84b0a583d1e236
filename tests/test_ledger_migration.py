"""The ledger's models moved to their own app with their tables: rows written
under the old schema (campaigns.LedgerEntry, payments.Transfer) are read back
through ledger.models after migrating forward, each entry in its campaign's
account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from ledger.models import LedgerEntry, Transfer

pytestmark = pytest.mark.django_db(transaction=True)

# The schema just before the ledger app existed.
BEFORE = [("campaigns", "0005_stripe_connect"), ("payments", "0002_transfers_and_fees"), ("ledger", None)]


def _migrate(targets: list[tuple[str, str | None]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets if targets is not None else executor.loader.graph.leaf_nodes())
    return MigrationExecutor(connection)


@pytest.fixture
def old_schema() -> Iterator[MigrationExecutor]:
    executor = _migrate(BEFORE)
    try:
        yield executor
    finally:
        _migrate()  # back to the latest schema, whatever happened


def test_rows_written_before_the_move_are_read_through_the_ledger_app(old_schema: MigrationExecutor) -> None:
    # The state of what is applied now (every app as far as the old schema allows: donations, say,
    # before its migrations that need the ledger app).
    old = old_schema.loader.project_state(sorted(old_schema.loader.applied_migrations)).apps
    organisation = old.get_model("campaigns", "Organisation").objects.create(
        name="Emmaüs Test",
        slug="emmaus-test",
        legal_name="Emmaüs Test",
        legal_form="association",
        rna="W123456789",
        address_line1="1 rue du Test",
        postal_code="75001",
        city="Paris",
        contact_email="contact@example.org",
    )
    campaign = old.get_model("campaigns", "Campaign").objects.create(
        organisation=organisation,
        slug="atelier",
        title="Atelier",
        summary="Un atelier",
        goal_cents=10_000,
        starts_at=timezone.now(),
        status="live",
    )
    gift = old.get_model("donations", "Gift").objects.create(
        campaign=campaign, email="d@example.org", amount_cents=2500, provider="demo", status="paid"
    )
    old.get_model("campaigns", "LedgerEntry").objects.create(
        campaign=campaign,
        organisation=organisation,
        gift=gift,
        kind="credit",
        reason="payment",
        amount_cents=2500,
        key=f"gift:{gift.pk}:credit",
        provider_event_id="evt_before_the_move",
    )
    old.get_model("payments", "Transfer").objects.create(
        organisation=organisation, gift=gift, provider="demo", provider_transfer_id="tr_before", amount_cents=2500
    )

    _migrate()

    entry = LedgerEntry.objects.get()
    assert (entry.account, entry.campaign_id, entry.organisation_id, entry.gift_id) == (
        LedgerEntry.Account.CAMPAIGN,
        campaign.pk,
        organisation.pk,
        gift.pk,
    )
    assert (entry.amount_cents, entry.provider_event_id) == (2500, "evt_before_the_move")
    transfer = Transfer.objects.get()
    assert (transfer.provider_transfer_id, transfer.amount_cents, transfer.gift_id) == ("tr_before", 2500, gift.pk)
    assert list(transfer.reversals.all()) == []
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(LedgerEntry).app_label == "ledger"
    assert not ContentType.objects.filter(app_label="campaigns", model="ledgerentry").exists()
