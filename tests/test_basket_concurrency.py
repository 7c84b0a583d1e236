"""On PostgreSQL, with real threads: baskets that overlap race for their common
items through ``POST /api/orders/``. Every item ends in one order at most, the
loser holds nothing (not even its items nobody else wanted), nobody deadlocks
(the items are locked in ascending id order whatever order the buyer listed
them in) and no answer is a 5xx. SQLite serialises writers and ignores row
locks, so this runs in CI's PostgreSQL job."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from campaigns.models import Organisation
from donations.models import Item, ItemStatus, OrderLine, Reservation
from realtime.models import RealtimeEvent
from tests.components import require
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory
from tests.test_checkout_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)

RUNS = 50


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def items_of_two_organisations(first: Organisation, second: Organisation) -> list[Item]:
    """Six listed items, alternately of each organisation."""
    campaigns = [CampaignFactory(organisation=first), CampaignFactory(organisation=second)]
    return [ItemFactory(campaign=campaigns[n % 2], price_cents=1000 + n) for n in range(6)]


def post_basket(run: int, n: int, item_ids: list[int]) -> tuple[int, dict[str, Any]]:
    """One buyer (own email, own address: the per-client limits are not what races here)."""
    response = APIClient().post(
        "/api/orders/",
        {"email": f"buyer{run}-{n}@example.org", "items": item_ids},
        format="json",
        REMOTE_ADDR=f"10.0.{run}.{n + 1}",
    )
    return response.status_code, response.json()


def test_overlapping_baskets_racing_fifty_times_make_exactly_the_expected_winners(settings: Any) -> None:
    settings.PAYMENT_ATTEMPTS_PER_EMAIL = settings.PAYMENT_ATTEMPTS_PER_CLIENT = 10_000
    first, second = OrganisationFactory(), OrganisationFactory()
    statuses: Counter[int] = Counter()
    for run in range(RUNS):
        a, b, c, d, e, f = (item.pk for item in items_of_two_organisations(first, second))
        # x and y want b and c (listed in opposite orders); z wants what nobody else does.
        baskets = {"x": [a, b, c], "y": [d, c, b], "z": [f, e]}
        names = sorted(baskets)
        RealtimeEvent.objects.all().delete()

        wanted = [baskets[name] for name in names]
        results = race(len(names), lambda n, run=run, wanted=wanted: post_basket(run, n, wanted[n]))

        answers = dict(zip(names, results, strict=True))
        failures = {name: repr(answer)[:300] for name, answer in answers.items() if not isinstance(answer, tuple)}
        assert not failures, (run, failures)
        statuses.update(status for status, _body in answers.values())
        assert answers["z"][0] == 201, (run, answers["z"])
        assert sorted(answers[name][0] for name in ("x", "y")) == [201, 409], (run, answers)
        winner, loser = ("x", "y") if answers["x"][0] == 201 else ("y", "x")
        assert answers[loser][1]["code"] == "item_unavailable"
        assert answers[loser][1]["unavailable"] == sorted([b, c]), (run, answers[loser])

        # No item in two orders, and exactly the winners' items held, each by its own order.
        won = {pk for name in (winner, "z") for pk in baskets[name]}
        lines = OrderLine.objects.filter(item_id__in=[a, b, c, d, e, f])
        assert sorted(lines.values_list("item_id", flat=True)) == sorted(won), run
        for name in (winner, "z"):
            order_id = answers[name][1]["order_id"]
            assert sorted(lines.filter(order_id=order_id).values_list("item_id", flat=True)) == sorted(baskets[name])
        held = Reservation.objects.filter(item_id__in=[a, b, c, d, e, f], status=Reservation.Status.HELD)
        assert sorted(held.values_list("item_id", flat=True)) == sorted(won), run
        status_of = dict(Item.objects.filter(pk__in=[a, b, c, d, e, f]).values_list("pk", "status"))
        assert {pk for pk, status in status_of.items() if status == ItemStatus.RESERVED} == won, run
        # The loser's own item is free again, and nobody was told it had been reserved.
        (own,) = set(baskets[loser]) - {b, c}
        assert status_of[own] == ItemStatus.LISTED, run
        reserved = RealtimeEvent.objects.filter(type="item.reserved").values_list("public__item", flat=True)
        assert sorted(reserved) == sorted(won), run
    assert statuses == Counter({201: 2 * RUNS, 409: RUNS})
