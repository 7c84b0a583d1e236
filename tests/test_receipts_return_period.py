"""Near misses of the return period: an item sold is receipted (to its seller) only
once ``RECEIPT_RETURN_PERIOD_DAYS`` have passed since the hand-over of its part of
the order, by whichever path asks: a direct call, the periodic job, or the yearly
consolidated run. Two guards back each other up, and each is shown necessary on
its own: the selector ``lines_due_receipt`` (what the job and the yearly run look
at, so they never even lock a sale still in its return period) and the service's
own check (``_line_source``, what a direct call relies on)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from donations.models import Fulfilment, OrderLine
from receipts import issuing
from receipts.models import TaxReceipt
from receipts.selectors import lines_due_receipt
from tests.receipts_support import giver, handed_over, line_of, ready_campaign, ready_organisation, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """One instant for the whole test: every "now" the code asks for is this one."""
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)
    return instant


def final_sale(*, handed_over_at: datetime, consolidated: bool = False) -> OrderLine:
    """The line of a paid sale of a seller with every mention a receipt needs, handed over at ``handed_over_at``."""
    organisation = ready_organisation(receipts_consolidated=consolidated)
    line = line_of(handed_over(sale(4500, seller=giver(), campaign=ready_campaign(organisation))))
    hand_over_moved(line, handed_over_at)
    return line


def hand_over_moved(line: OrderLine, handed_over_at: datetime) -> None:
    # Time passing, not a shortcut: only the hand-over date of the line's part moves back.
    Fulfilment.objects.filter(pk=line.fulfilment_id).update(handed_over_at=handed_over_at)


def issue_directly(line: OrderLine, now: datetime) -> None:
    issuing.receipt_issue_for_order_line(line_id=line.pk)


def issue_by_the_periodic_job(line: OrderLine, now: datetime) -> None:
    issuing.receipts_issue_due()


def issue_yearly(line: OrderLine, now: datetime) -> None:
    issuing.receipts_issue_consolidated(year=timezone.localtime(now).year)


PATHS: dict[str, tuple[Callable[[OrderLine, datetime], None], bool]] = {
    "direct call": (issue_directly, False),
    "periodic job": (issue_by_the_periodic_job, False),
    "yearly consolidated run": (issue_yearly, True),
}

# How long before "now" the object was handed over, for a return period of ``days``.
NOT_YET = {
    "on its last day but one": lambda days: timedelta(days=days - 1),
    "one second before it ends": lambda days: timedelta(days=days) - timedelta(seconds=1),
    "one microsecond before it ends": lambda days: timedelta(days=days) - timedelta(microseconds=1),
}


@pytest.mark.parametrize("days", [14, 30])
@pytest.mark.parametrize("moment", NOT_YET.values(), ids=NOT_YET.keys())
@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_no_path_receipts_a_sale_before_its_return_period_is_over(
    settings: Any, now: datetime, days: int, moment: Callable[[int], timedelta], path: tuple[Any, bool]
) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = days
    issue, consolidated = path
    line = final_sale(handed_over_at=now - moment(days), consolidated=consolidated)

    issue(line, now)

    assert not TaxReceipt.objects.exists()
    # The same sale, once its period is over, is receipted by the very same path: the refusal was the period's.
    hand_over_moved(line, now - timedelta(days=days))
    issue(line, now)
    receipted = TaxReceipt.objects.get().lines.get()
    assert (receipted.order_line_id, receipted.order_id) == (line.pk, line.order_id)


@pytest.mark.parametrize("days", [14, 30])
@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_every_path_receipts_a_sale_exactly_when_its_return_period_ends(
    settings: Any, now: datetime, days: int, path: tuple[Any, bool]
) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = days
    issue, consolidated = path
    line = final_sale(handed_over_at=now - timedelta(days=days), consolidated=consolidated)

    issue(line, now)

    receipt = TaxReceipt.objects.get()
    assert receipt.amount_cents == 4500 and receipt.consolidated is consolidated
    assert receipt.giver == line.item.owner


@pytest.mark.parametrize("days", [14, 30])
def test_the_selector_lists_a_sale_only_from_the_end_of_its_return_period(
    settings: Any, now: datetime, days: int
) -> None:
    # The guard the periodic job and the yearly run stand on (the service's own check is the other).
    settings.RECEIPT_RETURN_PERIOD_DAYS = days
    day_before = final_sale(handed_over_at=now - timedelta(days=days - 1))
    second_before = final_sale(handed_over_at=now - timedelta(days=days) + timedelta(seconds=1))
    at_the_end = final_sale(handed_over_at=now - timedelta(days=days))
    after = final_sale(handed_over_at=now - timedelta(days=days + 1))

    due = set(lines_due_receipt(now=now).values_list("pk", flat=True))

    assert due == {at_the_end.pk, after.pk}
    assert not due & {day_before.pk, second_before.pk}


def test_the_periodic_job_and_the_yearly_run_never_even_lock_a_sale_in_its_return_period(
    settings: Any, now: datetime
) -> None:
    # Locking it would make a refund or a dispute on it wait for the job; the selector keeps it out.
    settings.RECEIPT_RETURN_PERIOD_DAYS = 14
    final_sale(handed_over_at=now - timedelta(days=13))
    final_sale(handed_over_at=now - timedelta(days=13), consolidated=True)

    with (
        mock.patch.object(
            issuing, "receipt_issue_for_order_line", wraps=issuing.receipt_issue_for_order_line
        ) as one_by_one,
        mock.patch.object(issuing, "_issue_consolidated", wraps=issuing._issue_consolidated) as yearly,
    ):
        assert issuing.receipts_issue_due() == 0
        assert issuing.receipts_issue_consolidated(year=timezone.localtime(now).year) == []

    assert not one_by_one.called and not yearly.called
    assert not TaxReceipt.objects.exists()


def test_a_direct_call_on_day_thirteen_is_refused_by_the_service_itself(settings: Any, now: datetime) -> None:
    # The guard a direct call stands on: nothing selected it, the service checks the period again.
    settings.RECEIPT_RETURN_PERIOD_DAYS = 14
    line = final_sale(handed_over_at=now - timedelta(days=13))

    assert issuing.receipt_issue_for_order_line(line_id=line.pk) is None
    assert issuing.receipt_issue_for_order_line(line_id=line.pk, now=now + timedelta(days=1)) is not None
