"""Near misses of the holds cap (``HOLDS_MAX_PER_EMAIL``, ``HOLDS_MAX_PER_CLIENT``):
a hold past its expiry that the worker has not released yet no longer counts
towards the buyer's cap; a hold still running, even for one more second, does."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from checkout.services import TooManyHolds, order_start
from donations.models import Item, ItemStatus, Order, Reservation
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """One instant for the whole test: every "now" the code asks for is this one."""
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)
    return instant


def hold_until(until: datetime, **buyer: str) -> Order:
    """A hold of one item for ``buyer``, ending at ``until``, left as the worker would find it."""
    order = order_start(item_id=ItemFactory().pk, **buyer)
    Reservation.objects.filter(order=order).update(expires_at=until)
    Order.objects.filter(pk=order.pk).update(expires_at=until)
    return order


CAPS = {
    "per email": ("HOLDS_MAX_PER_EMAIL", {"email": "avide@example.org", "client_key": ""}),
    "per client": ("HOLDS_MAX_PER_CLIENT", {"email": "", "client_key": "client-1"}),
}


def buyer(cap: tuple[str, dict[str, str]], n: int) -> dict[str, str]:
    """The same buyer for the cap under test, and someone else for the other cap."""
    _name, same = cap
    return {
        "email": same["email"] or f"someone{n}@example.org",
        "client_key": same["client_key"] or f"client-{n + 100}",
    }


ENDED = {
    "a minute ago": timedelta(minutes=-1),
    "one second ago": timedelta(seconds=-1),
    "exactly now": timedelta(0),
}


@pytest.mark.parametrize("ended", ENDED.values(), ids=ENDED.keys())
@pytest.mark.parametrize("cap", CAPS.values(), ids=CAPS.keys())
def test_an_expired_hold_the_worker_has_not_released_yet_does_not_count_towards_the_cap(
    settings: Any, now: datetime, cap: tuple[str, dict[str, str]], ended: timedelta
) -> None:
    setting, _same = cap
    setattr(settings, setting, 1)
    expired = hold_until(now + ended, **buyer(cap, 1))
    assert Reservation.objects.get(order=expired).status == Reservation.Status.HELD  # not released yet

    order = order_start(item_id=ItemFactory().pk, **buyer(cap, 2))

    assert Reservation.objects.get(order=order).status == Reservation.Status.HELD
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.RESERVED


@pytest.mark.parametrize("cap", CAPS.values(), ids=CAPS.keys())
def test_a_hold_with_one_second_left_still_counts_towards_the_cap(
    settings: Any, now: datetime, cap: tuple[str, dict[str, str]]
) -> None:
    setting, _same = cap
    setattr(settings, setting, 1)
    hold_until(now + timedelta(seconds=1), **buyer(cap, 1))
    item = ItemFactory()

    with pytest.raises(TooManyHolds):
        order_start(item_id=item.pk, **buyer(cap, 2))

    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    assert not Order.objects.filter(lines__item=item).exists()


def test_over_the_api_an_expired_hold_frees_the_buyer_and_a_running_one_gets_429(
    api: APIClient, settings: Any, now: datetime
) -> None:
    settings.HOLDS_MAX_PER_EMAIL = 1
    first, second, third = ItemFactory(), ItemFactory(), ItemFactory()
    held = api.post(f"/api/items/{first.pk}/checkout/", {"email": "avide@example.org"}, format="json")
    assert held.status_code == 201
    assert (
        api.post(f"/api/items/{second.pk}/checkout/", {"email": "avide@example.org"}, format="json").status_code == 429
    )

    Reservation.objects.filter(item=first).update(expires_at=now - timedelta(seconds=1))  # the worker is late
    response = api.post(f"/api/items/{third.pk}/checkout/", {"email": "AVIDE@example.org"}, format="json")

    assert response.status_code == 201
    assert Item.objects.get(pk=first.pk).status == ItemStatus.RESERVED  # still the worker's to release


def test_the_cap_reads_the_buyers_own_holds_not_every_running_hold() -> None:
    """At every checkout, refused ones included: with thousands of running holds (a busy sale, a
    crowd at a window) it must read an index range of the buyer's, not scan them all."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from checkout.services import orders
    from kernel.sql import rows_select

    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    order = order_start(item_id=ItemFactory().pk, email="premier@example.org", client_key="client-0")
    campaign = Item.objects.get(reservations__order=order).campaign
    items = Item.objects.bulk_create(
        Item(campaign=campaign, title=f"Objet {n}", status=ItemStatus.RESERVED, price_cents=1_000) for n in range(2000)
    )
    until = timezone.now() + timedelta(minutes=15)
    Reservation.objects.bulk_create(
        Reservation(item=item, order=order, email=f"Passant{n}@example.org", client_key=f"c{n}", expires_at=until)
        for n, item in enumerate(items)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE donations_reservation")
    counted = orders.holds_counted(email="passant7@example.org", client_key="c8", now=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        (read,) = rows_select(Item, where="t0.id = %s", params=[items[7].pk], annotations=counted)
    assert (read.holds_by_email, read.holds_by_client) == (1, 1)  # the one order holding them all
    (count,) = [query["sql"] for query in queries.captured_queries if "COUNT" in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + count)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "reservation_held_email" in plan and "reservation_client_status" in plan, plan
    assert "reservation_status_expiry" not in plan and "Seq Scan" not in plan, plan
