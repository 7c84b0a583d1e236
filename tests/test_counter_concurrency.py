"""On PostgreSQL, with real threads: a sale at the shop counter and online checkouts of the
same object at the same instant make exactly one winner (the counter claims the object with
the very conditional UPDATE an online hold makes), and a correction made twice at once
counts once. (SQLite serialises writers: these run in CI's PostgreSQL job.)"""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from checkout.services import ItemUnavailable, order_start
from checkout.services.counter import CounterEntryCancelled, counter_cancel, counter_gift, counter_sale
from donations.models import CounterEntry, Item, ItemStatus, Order, Reservation
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from tests.components import require
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory
from tests.test_checkout_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def test_a_counter_sale_racing_online_holds_of_the_same_object_has_exactly_one_winner() -> None:
    campaign = CampaignFactory()
    person = MembershipFactory(organisation=campaign.organisation).user
    winners: Counter[str] = Counter()
    for round_ in range(12):
        item = ItemFactory(campaign=campaign, price_cents=2000)

        def attempt(n: int, item_id: int = item.pk, r: int = round_) -> object:
            if n == 0:  # the counter, among online buyers, all released at the same instant
                return counter_sale(
                    actor=person, organisation_id=campaign.organisation_id, item_id=item_id, means="cash"
                )
            return order_start(item_id=item_id, email=f"buyer{r}-{n}@example.org")

        results = race(6, attempt)

        won = [r for r in results if isinstance(r, CounterEntry | Order)]
        others = [repr(r)[:200] for r in results if not isinstance(r, CounterEntry | Order | ItemUnavailable)]
        assert len(won) == 1 and not others, (results, others)
        stored = Item.objects.get(pk=item.pk)
        if isinstance(won[0], CounterEntry):
            winners["counter"] += 1
            assert stored.status == ItemStatus.HANDED_OVER
            assert not Reservation.objects.filter(item=item).exists()
        else:
            winners["online"] += 1
            assert stored.status == ItemStatus.RESERVED
            assert not CounterEntry.objects.filter(order__lines__item=item).exists()
            assert Reservation.objects.filter(item=item, status=Reservation.Status.HELD).count() == 1
    # Whoever won, the campaign counts each counter sale once and nothing else (holds are not money).
    assert campaign_progress(campaign_id=campaign.pk)[0] == 2000 * winners["counter"]
    assert LedgerEntry.objects.count() == winners["counter"]


def test_one_entry_cancelled_twice_at_the_same_instant_is_debited_once() -> None:
    campaign = CampaignFactory()
    person = MembershipFactory(organisation=campaign.organisation).user
    entry = counter_gift(
        actor=person, organisation_id=campaign.organisation_id, campaign_id=campaign.pk, amount_cents=3000, means="cash"
    )

    results = race(4, lambda n: counter_cancel(actor=person, entry_id=entry.pk, reason=f"erreur {n}"))

    assert Counter(type(r).__name__ for r in results) == Counter({"CounterEntry": 1, "CounterEntryCancelled": 3})
    assert all(isinstance(r, CounterEntry | CounterEntryCancelled) for r in results)
    assert campaign_progress(campaign_id=campaign.pk) == (0, 0)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DEBIT).count() == 1
