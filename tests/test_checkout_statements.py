"""The checkout's SQL has a ceiling, so that it cannot creep back: every statement a one-item
checkout and a three-item basket send to the database, counted as they run in production (their
own transactions, not a test's savepoints). Lower the ceilings when the checkout gets leaner."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Measured on 2026-12-01, the same on SQLite and PostgreSQL (with the demo gateway, whose own session
# row is written in our database too; BEGIN and savepoints count). The speed work lowers them.
ONE_ITEM_CEILING = 17
BASKET_CEILING = 33


def statements(run: Any) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        answer = run()
    assert answer.status_code == 201, answer.content
    return [query["sql"] for query in queries.captured_queries]


def test_a_one_item_checkout_stays_under_its_statement_ceiling(api: APIClient) -> None:
    item = ItemFactory(price_cents=4500)
    ItemFactory(price_cents=100)  # another item of the same campaign: nothing read about it
    sent = statements(
        lambda: api.post(f"/api/items/{item.pk}/checkout/", {"email": "passant@example.org"}, format="json")
    )
    assert len(sent) <= ONE_ITEM_CEILING, "\n".join(sent)


def test_a_three_item_basket_of_two_organisations_stays_under_its_statement_ceiling(api: APIClient) -> None:
    first, second = CampaignFactory(status="live"), CampaignFactory(status="live")
    items = [ItemFactory(campaign=first), ItemFactory(campaign=first), ItemFactory(campaign=second)]
    sent = statements(
        lambda: api.post(
            "/api/orders/", {"email": "passant@example.org", "items": [item.pk for item in items]}, format="json"
        )
    )
    assert len(sent) <= BASKET_CEILING, "\n".join(sent)
