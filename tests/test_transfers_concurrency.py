"""On PostgreSQL, with real threads: workers reversing the same transfer at
the same moment reverse it once (the provider's idempotency key and our
unique keys), and recording the same fee twice at once keeps one row."""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest
from django.db import connection

from campaigns.models import Membership
from checkout.services import payment_fee_record, payment_refund, transfer_reverse_due, transfers_pay
from donations.models import Gift
from ledger.models import PaymentFee, Transfer, TransferReversal
from payments.demo_gateway import DemoGateway
from payments.gateways import GatewayError
from tests.components import require
from tests.factories import CampaignFactory, MembershipFactory, OrganisationFactory
from tests.test_checkout_concurrency import race
from tests.test_payments_refunds import paid_gift

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")


def test_workers_reversing_the_same_refund_at_once_reverse_it_once() -> None:
    campaign = CampaignFactory(organisation=OrganisationFactory(stripe_account_id="acct_demo_race"))
    gift = paid_gift(campaign, 3000)  # transferred after commit
    transfers_pay()
    # The reversal after the refund's commit fails (provider down): the workers will race for it.
    with mock.patch.object(DemoGateway, "transfer_reverse", side_effect=GatewayError("down")):
        payment_refund(
            actor=MembershipFactory(organisation=campaign.organisation, role=Membership.Role.TREASURER).user,
            reason="x",
            gift_id=gift.pk,
            amount_cents=1200,
        )

    assert Transfer.objects.get().amount_cents == 3000 and not TransferReversal.objects.exists()

    results = race(4, lambda _n: transfer_reverse_due(kind="gift", object_id=gift.pk))

    assert Counter(results) == Counter({1200: 1, 0: 3})
    assert list(TransferReversal.objects.values_list("amount_cents", flat=True)) == [1200]


def test_fees_recorded_twice_at_once_keep_one_row() -> None:
    gift: Gift = paid_gift(CampaignFactory(), 2000)

    race(4, lambda _n: payment_fee_record(kind="gift", object_id=gift.pk))

    assert list(PaymentFee.objects.values_list("gift_id", "amount_cents")) == [(gift.pk, 55)]
