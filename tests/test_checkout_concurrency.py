"""On PostgreSQL, with real threads: one unique item is never sold twice, and
one event delivered at the same moment twice counts once. (SQLite serialises
writers and ignores row locks, so these run in CI's PostgreSQL job.)"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, close_old_connections, connection, connections

from checkout.services import ItemUnavailable, gift_start, order_start
from donations.models import Item, ItemStatus, Order, PaymentStatus, Reservation
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from payments import demo_gateway
from payments.events import event_receive
from tests.components import require
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def race(workers: int, job: Callable[[int], Any]) -> list[Any]:
    """Run ``job(n)`` in ``workers`` threads released at the same instant; results or exceptions."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def connect() -> None:
        # Open this thread's connection before the start line, so the race is
        # about the item, not about connecting; a busy shared server may refuse
        # a connection for a moment.
        for _attempt in range(40):
            try:
                connection.ensure_connection()
                return
            except OperationalError:
                time.sleep(0.25)
        connection.ensure_connection()

    def run(n: int) -> None:
        try:
            connect()
            barrier.wait()
            results[n] = job(n)
        except Exception as error:  # the outcome under test, collected per thread
            results[n] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a worker thread is stuck"
    close_old_connections()
    return results


def test_fifty_concurrent_buyers_of_one_item_make_exactly_one_reservation_each_round() -> None:
    for _round in range(20):
        item = ItemFactory()
        results = race(
            50, lambda n, item=item, r=_round: order_start(item_id=item.pk, email=f"buyer{r}-{n}@example.org")
        )

        kinds = Counter(type(result).__name__ for result in results)
        others = [repr(r)[:200] for r in results if not isinstance(r, Order | ItemUnavailable)]
        assert kinds == Counter({"Order": 1, "ItemUnavailable": 49}), (kinds, others[:3])
        assert all(isinstance(r, Order | ItemUnavailable) for r in results)
        assert Reservation.objects.filter(item=item, status=Reservation.Status.HELD).count() == 1
        assert Item.objects.get(pk=item.pk).status == ItemStatus.RESERVED


def test_the_same_payment_delivered_concurrently_sells_once_and_counts_once() -> None:
    item = ItemFactory(price_cents=2700)
    order = order_start(item_id=item.pk, email="buyer@example.org")
    completed = demo_gateway.completed_event(
        kind="order",
        object_id=order.pk,
        session_id=order.provider_session_id or "",
        amount_cents=order.amount_cents,
        currency=order.currency,
    )

    results = race(8, lambda n: event_receive(event=completed))

    assert sorted(results) == [False] * 7 + [True]
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SOLD
    assert LedgerEntry.objects.count() == 1
    assert campaign_progress(campaign_id=item.campaign_id) == (2700, 1)


def test_two_different_events_for_one_gift_arriving_together_credit_once() -> None:
    campaign = CampaignFactory()
    gift = gift_start(campaign_slug=campaign.slug, amount_cents=1500, email="d@example.org")
    first = demo_gateway.completed_event(
        kind="gift",
        object_id=gift.pk,
        session_id=gift.provider_session_id or "",
        amount_cents=1500,
        currency="EUR",
    )
    second = type(first)(**{**first.__dict__, "id": "evt_async", "type": "payment.succeeded"})

    race(2, lambda n: event_receive(event=(first, second)[n]))

    assert campaign_progress(campaign_id=campaign.pk) == (1500, 1)


def test_buyers_in_separate_processes_make_exactly_one_reservation() -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tests.support.buyer_process import buy

    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    with ProcessPoolExecutor(8, mp_context=multiprocessing.get_context("spawn")) as pool:
        for round_ in range(20):
            item = ItemFactory()
            # every process ready (the first round starts them), then all at once
            start_at = time.time() + (4 if round_ == 0 else 1)
            futures = [pool.submit(buy, database_url, item.pk, n, start_at) for n in range(8)]
            outcomes = sorted(future.result(timeout=120) for future in futures)
            assert outcomes == ["409"] * 7 + ["order"]
            assert Reservation.objects.filter(item=item, status=Reservation.Status.HELD).count() == 1
