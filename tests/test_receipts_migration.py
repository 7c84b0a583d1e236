"""The tax receipt models moved from donations to receipts without moving a row:
a receipt written before the move (donations' historical models) is read after
it through receipts.models, and its content type (so the admin permissions on
it) follows. Real migrations on the test database: SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from donations.models import Gift
from receipts.models import TaxReceipt, TaxReceiptLine
from tests.factories import CampaignFactory, UserFactory

# The last state with the receipt models in donations.
BEFORE = [("donations", "0008_gift_receipt_details"), ("receipts", None)]

pytestmark = pytest.mark.django_db(transaction=True)  # real migrations: no test transaction around them


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # what is applied now
    return executor


def _latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_a_receipt_written_before_the_move_is_read_through_the_receipts_app() -> None:
    campaign = CampaignFactory()
    person = UserFactory()
    gift = Gift.objects.create(campaign=campaign, user=person, email=person.email, amount_cents=5000, provider="demo")
    content_type = ContentType.objects.get_for_model(TaxReceipt)
    try:
        old = _migrate(BEFORE).loader.project_state(BEFORE[:1]).apps
        old_receipts = old.get_model("donations", "TaxReceipt")
        old_lines = old.get_model("donations", "TaxReceiptLine")
        old_receipt = old_receipts.objects.create(
            organisation_id=campaign.organisation_id,
            year=2026,
            sequence=1,
            number="2026-00001",
            giver_id=person.pk,
            giver_email=person.email,
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
            amount_cents=5000,
            payment_date=date(2026, 3, 1),
            payment_method="Carte bancaire",
            issued_at=timezone.now(),
        )
        old_lines.objects.create(receipt=old_receipt, gift_id=gift.pk, amount_cents=5000, paid_on=date(2026, 3, 1))
        # Before the move the content type (and its permissions) belonged to donations.
        assert ContentType.objects.filter(pk=content_type.pk, app_label="donations").exists()
    finally:
        _migrate(_latest())

    receipt = TaxReceipt.objects.get(pk=old_receipt.pk)
    assert (receipt.number, receipt.organisation_id, receipt.giver_id) == (
        "2026-00001",
        campaign.organisation_id,
        person.pk,
    )
    assert receipt.status == TaxReceipt.Status.ISSUED and receipt.nature == "cash"
    [line] = TaxReceiptLine.objects.filter(receipt=receipt)
    assert line.gift_id == gift.pk and line.active
    assert list(gift.receipt_lines.all()) == [line]
    # The same content type row, now the receipts app's: the admin permissions followed it.
    moved = ContentType.objects.get(pk=content_type.pk)
    assert (moved.app_label, moved.model) == ("receipts", "taxreceipt")
    assert Permission.objects.filter(content_type=moved, codename="view_taxreceipt").exists()
