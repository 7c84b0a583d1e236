"""A buyer in its own process, for the PostgreSQL concurrency test. Nothing
Django is imported at module level: the spawned interpreter sets up Django
itself, pointed at the test database."""

from __future__ import annotations

import os
import time


def buy(database_url: str, item_id: int, n: int, start_at: float) -> str:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tremma.settings")
    import django

    django.setup()
    from checkout.services import ItemUnavailable, order_start

    time.sleep(max(0.0, start_at - time.time()))
    try:
        order_start(item_id=item_id, email=f"process{n}-item{item_id}@example.org")  # one hold per buyer and round
    except ItemUnavailable:
        return "409"
    return "order"
