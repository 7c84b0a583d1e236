"""On PostgreSQL, with real threads: receipts issued at the same instant for one
organisation get distinct numbers with no gap, and one payment is receipted
once however many workers race for it. (SQLite serialises writers and ignores
row locks, so these run in CI's PostgreSQL job.)"""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from donations.models import ReceiptCounter, TaxReceipt
from donations.receipts import receipt_issue_for_gift
from tests.components import require
from tests.receipts_support import giver, paid_gift, ready_campaign
from tests.test_checkout_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


@pytest.fixture(autouse=True)
def _no_delivery() -> object:
    # The PDF and the email come after commit and are not what these tests measure.
    # Payments are made without their after-commit receipt: the tests issue them.
    with (
        mock.patch("donations.receipts.receipt_deliver"),
        mock.patch("payments.services.events.receipt_issue_for_gift"),
    ):
        yield


def test_fifty_receipts_issued_at_once_for_one_organisation_get_numbers_one_to_fifty() -> None:
    campaign = ready_campaign()
    person = giver()
    gifts = [paid_gift(campaign, 1000 + n, user=person) for n in range(50)]

    results = race(50, lambda n: receipt_issue_for_gift(gift_id=gifts[n].pk))

    assert all(isinstance(result, TaxReceipt) for result in results), Counter(type(r).__name__ for r in results)
    year = timezone.localtime().year
    sequences = sorted(TaxReceipt.objects.filter(organisation=campaign.organisation).values_list("sequence", flat=True))
    assert sequences == list(range(1, 51))
    numbers = set(TaxReceipt.objects.values_list("number", flat=True))
    assert numbers == {f"{year}-{n:06d}" for n in range(1, 51)}
    assert ReceiptCounter.objects.get(organisation=campaign.organisation, year=year).last_sequence == 50


def test_workers_racing_to_receipt_one_gift_issue_one_receipt_and_leave_no_gap() -> None:
    campaign = ready_campaign()
    gift = paid_gift(campaign, 2000, user=giver())

    results = race(8, lambda n: receipt_issue_for_gift(gift_id=gift.pk))

    assert Counter(type(result).__name__ for result in results) == Counter({"TaxReceipt": 1, "NoneType": 7})
    later = receipt_issue_for_gift(gift_id=paid_gift(campaign, 3000, user=giver()).pk)
    assert later is not None and later.sequence == 2
