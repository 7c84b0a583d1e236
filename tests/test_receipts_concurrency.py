"""On PostgreSQL, with real threads: receipts issued at the same instant for one
organisation get distinct numbers with no gap, and one payment is receipted
once however many workers race for it; a line of a basket refunded while it is
receipted keeps no issued receipt; and, step by step, that a second issuer
waits for the counter's row lock rather than read the number the first one is
taking. (SQLite serialises writers and ignores row locks, so these run in CI's
PostgreSQL job.)"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any
from unittest import mock

import pytest
from django.db import connection, connections
from django.utils import timezone

from campaigns.models import Membership
from checkout.services import payment_refund
from donations.models import OrderLine
from receipts.issuing import receipt_issue_for_gift, receipt_issue_for_order_line
from receipts.models import ReceiptCounter, TaxReceipt
from tests.components import require
from tests.factories import ItemFactory
from tests.receipts_support import giver, handed_over, line_of, manager, paid_basket, paid_gift, ready_campaign
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
        mock.patch("receipts.issuing.receipt_deliver"),
        mock.patch("checkout.services.events.receipt_issue_for_gift"),
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


def waiting_on_a_lock() -> int:
    """Connections to this test database that wait for a row lock right now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def test_a_second_issuer_waits_for_the_counter_lock_instead_of_reading_the_same_number() -> None:
    # Deterministic, unlike a crowd of threads: the first issuer has read the counter and
    # stops right before writing it; only then does the second one start. With the counter
    # row locked, the second waits and takes the next number. Without the lock it reads the
    # same number, and one of the two receipts dies on the unique number (not issued).
    campaign = ready_campaign()
    # The year's counter row exists already (an earlier receipt): the very first receipt of a
    # year is serialised anyway, by the INSERT … ON CONFLICT that creates the row.
    earlier = receipt_issue_for_gift(gift_id=paid_gift(campaign, 500, user=giver()).pk)
    assert earlier is not None and earlier.sequence == 1
    first_gift, second_gift = paid_gift(campaign, 1000, user=giver()), paid_gift(campaign, 2000, user=giver())
    counter_read, first_may_write = threading.Event(), threading.Event()
    counter_update = f'UPDATE "{ReceiptCounter._meta.db_table}"'
    results: dict[str, Any] = {}

    def pause_before_writing_the_counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith(counter_update):
            counter_read.set()
            first_may_write.wait(timeout=30)
        return execute(sql, params, many, context)

    def issue(name: str, gift_id: int) -> None:
        try:
            if name == "first":
                with connection.execute_wrapper(pause_before_writing_the_counter):
                    results[name] = receipt_issue_for_gift(gift_id=gift_id)
            else:
                results[name] = receipt_issue_for_gift(gift_id=gift_id)
        except Exception as error:  # the outcome under test
            results[name] = error
        finally:
            connections.close_all()

    first = threading.Thread(target=issue, args=("first", first_gift.pk))
    first.start()
    assert counter_read.wait(timeout=30)
    second = threading.Thread(target=issue, args=("second", second_gift.pk))
    second.start()
    # Let the second issuer go as far as it can: to the first one's lock, or to its end.
    deadline = time.monotonic() + 30
    while second.is_alive() and not waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.05)
    first_may_write.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert isinstance(results["first"], TaxReceipt), results["first"]
    assert isinstance(results["second"], TaxReceipt), results["second"]
    assert (results["first"].sequence, results["second"].sequence) == (2, 3)
    year = timezone.localtime().year
    assert ReceiptCounter.objects.get(organisation=campaign.organisation, year=year).last_sequence == 3


def test_a_line_refunded_while_its_receipt_is_issued_never_keeps_an_issued_receipt(settings: Any) -> None:
    # A basket's line refunded in whole at the instant the job receipts it, and the other line
    # receipted at the same instant: whichever goes first (the refund holds the order's lock,
    # the issuer the order's then the lines'), the refunded line ends with no issued receipt,
    # the other with exactly one, and nobody deadlocks. Several rounds, each a new basket.
    settings.RECEIPT_RETURN_PERIOD_DAYS = 0
    for _round in range(5):
        first = ItemFactory(price_cents=3000, owner=giver(), campaign=ready_campaign())
        second = ItemFactory(price_cents=4500, owner=giver(), campaign=ready_campaign())
        order = handed_over(paid_basket([first, second]), days_ago=1)
        refunded, other = line_of(order, first), line_of(order, second)
        treasurer = manager(refunded.fulfilment.organisation, role=Membership.Role.TREASURER)

        def job(n: int, refunded: OrderLine = refunded, other: OrderLine = other, treasurer: Any = treasurer) -> Any:
            if n == 0:
                return payment_refund(actor=treasurer, reason="Abîmé", order_id=refunded.order_id, line_id=refunded.pk)
            return receipt_issue_for_order_line(line_id=(refunded if n == 1 else other).pk)

        results = race(3, job)

        assert not [result for result in results if isinstance(result, Exception)], results
        assert not TaxReceipt.objects.filter(
            status=TaxReceipt.Status.ISSUED, lines__order_line=refunded, lines__active=True
        ).exists()
        assert TaxReceipt.objects.filter(status=TaxReceipt.Status.ISSUED, lines__order_line=other).count() == 1
        assert receipt_issue_for_order_line(line_id=refunded.pk) is None
