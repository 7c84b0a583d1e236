"""Transfers recorded, reversed after a refund or a lost dispute, and the
provider's fee of each payment, through the demo gateway (the Stripe path is
in test_transfers_and_fees_stripe.py)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from campaigns.models import Campaign, Membership
from checkout.services import fulfilment_hand_over, payment_fees_record, transfer_reversals_pay, transfers_pay
from donations.models import Gift
from ledger.models import PaymentFee, Transfer, TransferReversal
from payments.demo_gateway import DemoGateway, demo_fee_cents
from payments.events import event_receive
from payments.gateways import GatewayError, PaymentEvent
from payments.models import ProviderEvent
from tests.factories import CampaignFactory, MembershipFactory, OrganisationFactory
from tests.test_payments_refunds import paid_gift, paid_order

pytestmark = pytest.mark.django_db


def connected_campaign() -> Campaign:
    return CampaignFactory(organisation=OrganisationFactory(stripe_account_id="acct_demo_1"))


def refund(gift: Gift, amount_cents: int) -> Any:
    api = APIClient()
    api.force_authenticate(
        MembershipFactory(organisation=gift.campaign.organisation, role=Membership.Role.TREASURER).user
    )
    response = api.post(
        f"/api/gifts/{gift.pk}/refund/", {"amount_cents": amount_cents, "reason": "Erreur"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response


def reversed_amounts(gift: Gift) -> list[int]:
    return list(
        TransferReversal.objects.filter(transfer__gift=gift).order_by("id").values_list("amount_cents", flat=True)
    )


@pytest.mark.parametrize(("amount", "fee"), [(100, 27), (2000, 55), (3333, 75), (1_000_000, 15_025)])
def test_the_demo_fee_is_one_and_a_half_percent_plus_25_cents_in_whole_cents(amount: int, fee: int) -> None:
    assert demo_fee_cents(amount) == fee


def test_a_paid_gift_records_its_transfer_of_the_whole_amount_and_its_fee(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = connected_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(campaign, 2000)
    gift.refresh_from_db()

    transfer = Transfer.objects.get()
    assert (transfer.gift_id, transfer.organisation_id) == (gift.pk, campaign.organisation_id)
    # The platform bears the fee: the organisation receives the whole amount.
    assert transfer.amount_cents == 2000 and transfer.provider_transfer_id == gift.transfer_id
    fee = PaymentFee.objects.get()
    assert (fee.gift_id, fee.amount_cents, fee.provider) == (gift.pk, 55, "demo")
    assert fee.provider_balance_id == f"demo_txn_{gift.provider_payment_id}"


def test_a_sale_handed_over_records_its_transfer_and_its_fee(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order(4000)
    # The organisation connects its account (and Stripe says it can receive transfers) after the payment.
    organisation = order.lines.get().campaign.organisation
    organisation.stripe_account_id = "acct_demo_2"
    organisation.stripe_transfers_active = True
    organisation.save(update_fields=["stripe_account_id", "stripe_transfers_active"])
    manager = MembershipFactory(organisation=organisation).user
    with django_capture_on_commit_callbacks(execute=True):
        fulfilment_hand_over(
            fulfilment=order.fulfilments.get(), claim_code=order.fulfilments.get().claim_code, actor=manager
        )

    assert list(Transfer.objects.values_list("order_id", "amount_cents")) == [(order.pk, 4000)]
    assert list(PaymentFee.objects.values_list("order_id", "amount_cents")) == [(order.pk, 85)]


def test_a_partial_refund_after_the_transfer_reverses_that_amount_once_even_when_replayed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(connected_campaign(), 3000)
    with django_capture_on_commit_callbacks(execute=True):
        refund(gift, 1000)
    gift.refresh_from_db()

    assert reversed_amounts(gift) == [1000]
    reversal = TransferReversal.objects.get()
    assert reversal.transfer.provider_transfer_id == gift.transfer_id
    assert reversal.key == f"tremma-transfer-{reversal.transfer_id}-reversed-1000"

    # The provider's event delivered again, and the worker: nothing more is reversed.
    delivered = ProviderEvent.objects.get(type="payment.refunded", payment_id=gift.provider_payment_id)
    replay = PaymentEvent(
        provider="demo",
        id=delivered.event_id,
        type="payment.refunded",
        payment_id=gift.provider_payment_id,
        amount_cents=3000,
        currency="EUR",
        refunded_cents=1000,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert event_receive(event=replay) is False
        assert event_receive(event=PaymentEvent(**{**replay.__dict__, "id": "demo_evt_other_delivery"})) is True
    assert transfer_reversals_pay() == 0
    assert reversed_amounts(gift) == [1000]

    # The rest refunded: the rest of the transfer is reversed.
    with django_capture_on_commit_callbacks(execute=True):
        refund(gift, 2000)
    assert reversed_amounts(gift) == [1000, 2000]
    assert transfer_reversals_pay() == 0


def test_a_refund_before_the_transfer_makes_a_smaller_transfer_and_no_reversal(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = CampaignFactory()  # no connected account yet: nothing is transferred
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(campaign, 3000)
        refund(gift, 1200)
    assert not Transfer.objects.exists()

    # The organisation connects its account (and Stripe says it can receive transfers) after the payment.
    campaign.organisation.stripe_account_id = "acct_demo_3"
    campaign.organisation.stripe_transfers_active = True
    campaign.organisation.save(update_fields=["stripe_account_id", "stripe_transfers_active"])
    transfers_pay()

    assert list(Transfer.objects.values_list("amount_cents", flat=True)) == [1800]
    assert transfer_reversals_pay() == 0 and not TransferReversal.objects.exists()


def test_a_reversal_the_provider_refused_is_made_by_the_worker(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(connected_campaign(), 2500)
    with (
        mock.patch.object(DemoGateway, "transfer_reverse", side_effect=GatewayError("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        refund(gift, 2500)
    assert not TransferReversal.objects.exists()

    assert transfer_reversals_pay() == 2500
    assert reversed_amounts(gift) == [2500]
    assert transfer_reversals_pay() == 0


def dispute(gift: Gift, type: str, status: str, event_id: str) -> PaymentEvent:
    return PaymentEvent(
        provider="demo",
        id=event_id,
        type=type,
        payment_id=gift.provider_payment_id,
        amount_cents=gift.amount_cents,
        currency="EUR",
        dispute_id="dp_demo_1",
        dispute_status=status,
    )


def test_a_lost_dispute_after_the_transfer_reverses_it_and_an_open_one_does_not_yet(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(connected_campaign(), 4000)
    with django_capture_on_commit_callbacks(execute=True):
        event_receive(event=dispute(gift, "dispute.opened", "needs_response", "evt_dp_open"))
    assert transfer_reversals_pay() == 0 and not TransferReversal.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        event_receive(event=dispute(gift, "dispute.closed", "lost", "evt_dp_lost"))
        event_receive(event=dispute(gift, "dispute.closed", "lost", "evt_dp_lost"))

    assert reversed_amounts(gift) == [4000]
    assert transfer_reversals_pay() == 0


def test_a_won_dispute_reverses_nothing(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(connected_campaign(), 4000)
        event_receive(event=dispute(gift, "dispute.opened", "needs_response", "evt_dp_open"))
        event_receive(event=dispute(gift, "dispute.closed", "won", "evt_dp_won"))

    assert transfer_reversals_pay() == 0 and not TransferReversal.objects.exists()


def test_a_fee_not_known_at_payment_is_recorded_once_by_the_worker(django_capture_on_commit_callbacks: Any) -> None:
    with (
        mock.patch.object(DemoGateway, "payment_fee", side_effect=GatewayError("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        gift = paid_gift(CampaignFactory(), 1000)
    assert not PaymentFee.objects.exists()

    assert payment_fees_record() == 1
    assert payment_fees_record() == 0
    assert list(PaymentFee.objects.values_list("gift_id", "amount_cents")) == [(gift.pk, 40)]


def test_the_fee_stays_recorded_when_the_payment_is_refunded(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(CampaignFactory(), 1000)
        refund(gift, 1000)

    # Stripe does not give its fee back on a refund: the platform's cost stays.
    assert list(PaymentFee.objects.values_list("gift_id", "amount_cents")) == [(gift.pk, 40)]
    assert payment_fees_record() == 0


def test_two_workers_reversing_at_once_record_one_reversal() -> None:
    gift = paid_gift(connected_campaign(), 2000)
    transfers_pay()
    refund(gift, 500)
    from checkout.services import transfer_reverse_due

    # The second call finds the first one's row; and a duplicate insert is refused by the unique key.
    assert transfer_reverse_due(kind="gift", object_id=gift.pk) == 500
    assert transfer_reverse_due(kind="gift", object_id=gift.pk) == 0
    reversal = TransferReversal.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        TransferReversal.objects.create(
            transfer=reversal.transfer, provider_reversal_id=reversal.provider_reversal_id, key="x", amount_cents=500
        )


def test_the_worker_retries_reversals_and_fees(settings: Any) -> None:
    assert ("checkout.services.transfer_reversals_pay", 5) in settings.PERIODIC_JOBS
    assert ("checkout.services.payment_fees_record", 10) in settings.PERIODIC_JOBS


def test_reconcile_reports_a_transfer_that_is_not_recorded(django_capture_on_commit_callbacks: Any) -> None:
    import io

    from django.core.management import CommandError, call_command

    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(connected_campaign(), 1000)
    call_command("reconcile", stdout=io.StringIO())  # recorded: it agrees

    Transfer.objects.all().delete()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", stdout=out)
    assert f"gift {gift.pk}: transfer demo_tr_gift-{gift.pk} is not recorded" in out.getvalue()


def test_the_admin_shows_transfers_reversals_and_fees_read_only(django_capture_on_commit_callbacks: Any) -> None:
    from django.test import Client

    from tests.factories import UserFactory

    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(connected_campaign(), 1000)
    with django_capture_on_commit_callbacks(execute=True):
        refund(gift, 1000)
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    for path in ("ledger/transfer", "ledger/transferreversal", "ledger/paymentfee"):
        assert client.get(f"/admin/{path}/").status_code == 200
        assert client.get(f"/admin/{path}/add/").status_code == 403
    assert "demo_trr_tremma-transfer-" in client.get("/admin/ledger/transferreversal/").content.decode()


def test_a_transfer_made_by_another_provider_is_never_reversed_through_this_one(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(connected_campaign(), 2000)
    Transfer.objects.update(provider="stripe")  # made while Stripe was configured; the demo gateway runs now

    with django_capture_on_commit_callbacks(execute=True):
        refund(gift, 2000)

    assert transfer_reversals_pay() == 0 and not TransferReversal.objects.exists()
