"""Matchfunding under concurrency, on PostgreSQL with real threads: gifts paid at
the same instant never take more than the partner's cap between them (the
pledge row is locked while a share is computed and recorded)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from checkout.services import gift_start, pledge_create
from donations.models import Gift
from ledger.models import PledgeMatch
from ledger.pledges import pledge_matched_cents
from tests.components import require
from tests.receipts_support import manager, pay, ready_campaign
from tests.test_checkout_concurrency import race
from tests.test_matchfunding import COMPANY

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def test_gifts_paid_together_share_the_cap_and_never_exceed_it() -> None:
    campaign = ready_campaign()
    pledge = pledge_create(
        actor=manager(campaign.organisation),
        campaign=campaign,
        partner=COMPANY,
        ratio_percent=100,
        cap_cents=5000,
        ends_at=timezone.now() + timedelta(days=5),
    )
    gifts = [gift_start(campaign_slug=campaign.slug, amount_cents=2000, email=f"g{n}@example.org") for n in range(6)]

    outcomes = race(len(gifts), lambda n: pay(gifts[n]))

    assert [outcome for outcome in outcomes if isinstance(outcome, Exception)] == []
    assert Gift.objects.filter(status="paid").count() == 6
    assert pledge_matched_cents(pledge_id=pledge.pk) == 5000
    assert sorted(PledgeMatch.objects.values_list("amount_cents", flat=True)) == [1000, 2000, 2000]
