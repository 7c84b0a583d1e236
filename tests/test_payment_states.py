"""Orders, gifts, holds and refunds change status only by the moves their
tables declare (donations.models), applied by one function as one conditional
UPDATE (checkout.services.states, kernel.states), as items' statuses are."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from checkout.services import gift_start, order_start
from checkout.services.states import payment_transition, reservation_transition
from donations.models import (
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    RESERVATION_TRANSITIONS,
    Gift,
    PaymentStatus,
    Refund,
    Reservation,
)
from kernel.states import TransitionRefused
from tests.components import require
from tests.factories import CampaignFactory, ItemFactory
from tests.test_checkout_concurrency import race

ROOT = Path(__file__).resolve().parent.parent


def _gift() -> Gift:
    return gift_start(campaign_slug=CampaignFactory().slug, amount_cents=2500, email="g@example.org")


def test_every_status_has_its_moves_declared() -> None:
    assert set(PAYMENT_TRANSITIONS) == set(PaymentStatus.values)
    assert set(RESERVATION_TRANSITIONS) == set(Reservation.Status.values)
    assert set(REFUND_TRANSITIONS) == set(Refund.Status.values)
    # Nothing ever leaves a refunded payment, an ended hold or a sent refund.
    assert PAYMENT_TRANSITIONS[PaymentStatus.REFUNDED] == frozenset()
    assert RESERVATION_TRANSITIONS[Reservation.Status.RELEASED] == frozenset()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "to"),
    [
        (PaymentStatus.REFUNDED, PaymentStatus.PAID),
        (PaymentStatus.PAID, PaymentStatus.PENDING),
        (PaymentStatus.PAID, PaymentStatus.EXPIRED),
        (PaymentStatus.EXPIRED, PaymentStatus.PENDING),
    ],
)
def test_a_move_the_table_does_not_declare_is_refused_and_changes_nothing(start: str, to: str) -> None:
    gift = _gift()
    Gift.objects.filter(pk=gift.pk).update(status=start)
    gift.refresh_from_db()

    with pytest.raises(TransitionRefused):
        payment_transition(gift, to=PaymentStatus(to), paid_at=None)

    assert Gift.objects.get(pk=gift.pk).status == start


@pytest.mark.django_db
def test_a_move_from_a_status_the_row_no_longer_has_is_refused() -> None:
    gift = _gift()
    stale = Gift.objects.get(pk=gift.pk)
    payment_transition(gift, to=PaymentStatus.EXPIRED)

    with pytest.raises(TransitionRefused):
        payment_transition(stale, to=PaymentStatus.FAILED)

    assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.EXPIRED


@pytest.mark.django_db
def test_fields_go_in_the_same_update_as_the_move() -> None:
    gift = _gift()

    payment_transition(gift, to=PaymentStatus.PAID, provider_payment_id="pi_same_update")

    stored = Gift.objects.get(pk=gift.pk)
    assert (stored.status, stored.provider_payment_id) == (PaymentStatus.PAID, "pi_same_update")
    assert gift.provider_payment_id == "pi_same_update"


@pytest.mark.django_db
def test_ending_a_hold_twice_ends_it_once() -> None:

    item = ItemFactory()
    order = order_start(item_id=item.pk, email="b@example.org")

    assert reservation_transition(order_id=order.pk, to=Reservation.Status.RELEASED) == [item.pk]
    assert reservation_transition(order_id=order.pk, to=Reservation.Status.CONVERTED) == []
    assert Reservation.objects.get(order=order).status == Reservation.Status.RELEASED


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_of_one_payment_have_exactly_one_winner() -> None:
    """On PostgreSQL, 8 threads at the same instant: half pay the gift, half
    expire it. One move wins; every other is refused, none is lost or doubled."""
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    for _round in range(10):
        gift = _gift()
        targets = [PaymentStatus.PAID if n % 2 else PaymentStatus.EXPIRED for n in range(8)]

        def move(n: int, gift_id: int = gift.pk, targets: list[PaymentStatus] = targets) -> str:
            # Each thread read the gift pending: only the conditional UPDATE tells them apart.
            payment_transition(Gift.objects.get(pk=gift_id), to=targets[n], expected=PaymentStatus.PENDING)
            return str(targets[n])

        results = race(8, move)

        winners = [r for r in results if isinstance(r, str)]
        refused = [r for r in results if isinstance(r, TransitionRefused)]
        assert len(winners) == 1, results
        assert len(refused) == 7, results
        assert Gift.objects.get(pk=gift.pk).status == winners[0]


def test_only_the_transition_functions_write_a_status_column() -> None:
    """No ``.update(status=…)`` on an order, gift, hold, refund or item outside
    the one function that applies moves (kernel/states.py)."""
    watched = ("checkout", "donations", "payments", "campaigns", "qr", "accounts", "receipts", "ledger", "frontend")
    found: Counter[str] = Counter()
    for folder in watched:
        for path in (ROOT / folder).rglob("*.py") if (ROOT / folder).exists() else []:
            if "migrations" in path.parts or "management" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "update"
                    and any(keyword.arg == "status" for keyword in node.keywords)
                ):
                    receiver = ast.unparse(node.func.value)
                    if any(name in receiver for name in ("Order", "Gift", "Reservation", "Refund", "Item", "model")):
                        found[f"{path.relative_to(ROOT)}: {receiver}"] += 1
    assert not found, f"status written outside kernel.states.transition_apply: {sorted(found)}"


@pytest.mark.django_db(transaction=True)
def test_the_use_cases_that_call_the_provider_refuse_to_run_inside_a_callers_transaction() -> None:
    """Their transactions are durable: nobody can call them while holding locks, so the
    provider is never waited for under a lock. Nothing is written, the provider is not called."""
    from unittest import mock

    from django.db import transaction

    item = ItemFactory()
    campaign = CampaignFactory()
    with mock.patch("payments.demo_gateway.DemoGateway.checkout_create") as checkout_create:
        for start in (
            lambda: order_start(item_id=item.pk, email="b@example.org"),
            lambda: gift_start(campaign_slug=campaign.slug, amount_cents=2500, email="g@example.org"),
        ):
            with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
                start()
    checkout_create.assert_not_called()
    assert not Reservation.objects.exists() and not Gift.objects.exists()


def test_checkout_applies_every_payment_event_the_adapter_makes_wait() -> None:
    from checkout.services import AFTER_PAYMENT_TYPES
    from checkout.services.events import payment_event_apply
    from payments import events
    from payments.gateways import AFTER_PAYMENT, PAYMENT_EVENT_TYPES

    assert set(AFTER_PAYMENT_TYPES) == set(AFTER_PAYMENT) <= PAYMENT_EVENT_TYPES
    # Registered at start-up by CheckoutConfig.ready: the adapter hands every recorded event to checkout.
    assert events._receiver == [payment_event_apply]


def test_a_provider_name_never_passes_the_adapter() -> None:
    from payments.gateways import PaymentEvent

    with pytest.raises(ValueError, match="not a payment event type"):
        PaymentEvent(provider="stripe", id="evt_1", type="charge.refunded")
