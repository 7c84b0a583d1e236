"""Race safety of short codes with real threads, on PostgreSQL (SQLite serialises writers)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from qr.models import ShortCode
from qr.services import short_code_for, short_codes_ensure
from tests.components import require
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(count: int, work) -> list:  # type: ignore[no-untyped-def,type-arg]
    barrier = threading.Barrier(count)
    results: list = [None] * count  # type: ignore[type-arg]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


def test_concurrent_requests_for_one_items_code_all_get_the_same_single_code() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    item = ItemFactory()

    codes = run_together(6, lambda: short_code_for(target=item).code)

    assert len(set(codes)) == 1
    assert ShortCode.objects.filter(item=item).count() == 1


def test_concurrent_pages_creating_the_same_missing_codes_agree() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    items = [ItemFactory() for _ in range(5)]
    ids = [item.pk for item in items]

    def ensure() -> dict[int, str]:
        from donations.models import Item

        fresh = list(Item.objects.filter(pk__in=ids).order_by("pk"))
        return {pk: code.code for pk, code in short_codes_ensure(targets=fresh).items()}

    results = run_together(4, ensure)

    assert all(result == results[0] for result in results)
    assert ShortCode.objects.filter(item__in=ids).count() == 5
