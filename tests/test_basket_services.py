"""Baskets at the level of checkout's services: all items held or none, each line credited
to its own campaign, refunds shared among lines, one organisation's part handed over,
transferred, reminded and refunded without touching the other's, the buyer's cancel
releasing at once, a late basket payment all or none, the provider's page listing
every item in the buyer's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db.models import Sum
from django.utils import timezone, translation

from campaigns.models import Campaign, Membership
from checkout.services import (
    BasketEmpty,
    BasketTooLarge,
    ItemUnavailable,
    RefundLineRequired,
    fulfilment_hand_over,
    order_cancel,
    order_start,
    payment_refund,
    pickups_sweep,
    refund_allocation,
    reservations_release_expired,
)
from donations.models import Fulfilment, Item, ItemStatus, Order, OrderLine, PaymentStatus, Refund, Reservation
from kernel.errors import NotFound
from ledger.models import LedgerEntry, Transfer
from ledger.selectors import campaign_progress, ledger_differences
from payments import demo_gateway
from payments.events import event_receive
from payments.gateways import CheckoutRequest, CheckoutSession, PaymentEvent
from realtime.models import RealtimeEvent
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, OrganisationFactory
from tests.test_ledger_totals import dispute as dispute_of
from tests.test_ledger_totals import refunded as refunded_of

pytestmark = pytest.mark.django_db


def two_organisations() -> tuple[Campaign, Campaign]:
    return (
        CampaignFactory(
            organisation=OrganisationFactory(stripe_account_id="acct_demo_a", stripe_transfers_active=True)
        ),
        CampaignFactory(
            organisation=OrganisationFactory(stripe_account_id="acct_demo_b", stripe_transfers_active=True)
        ),
    )


def basket_of_three() -> tuple[list[Item], Campaign, Campaign]:
    lescar, pau = two_organisations()
    items = [
        ItemFactory(campaign=lescar, price_cents=1200),
        ItemFactory(campaign=lescar, price_cents=800),
        ItemFactory(campaign=pau, price_cents=3000),
    ]
    return items, lescar, pau


def pay(order: Order) -> Order:
    event_receive(
        event=demo_gateway.completed_event(
            kind="order",
            object_id=order.pk,
            session_id=order.provider_session_id or "",
            amount_cents=order.amount_cents,
            currency="EUR",
        )
    )
    return Order.objects.get(pk=order.pk)


def statuses(items: list[Item]) -> list[str]:
    return [Item.objects.get(pk=item.pk).status for item in items]


def hand_over(fulfilment: Fulfilment) -> None:
    member = MembershipFactory(organisation=fulfilment.organisation).user
    fulfilment_hand_over(fulfilment=fulfilment, claim_code=fulfilment.claim_code, actor=member)


def treasurer(campaign: Campaign) -> Any:
    return MembershipFactory(organisation=campaign.organisation, role=Membership.Role.TREASURER).user


def test_a_basket_of_three_items_from_two_organisations_is_one_order_with_two_fulfilments() -> None:
    items, lescar, pau = basket_of_three()

    order = order_start(item_ids=[item.pk for item in reversed(items)], email="passant@example.org")

    assert order.amount_cents == 5000 and order.status == PaymentStatus.PENDING
    assert statuses(items) == [ItemStatus.RESERVED] * 3
    lines = list(order.lines.order_by("item_id").values_list("item_id", "campaign_id", "amount_cents"))
    assert lines == [(items[0].pk, lescar.pk, 1200), (items[1].pk, lescar.pk, 800), (items[2].pk, pau.pk, 3000)]
    parts = {f.organisation_id: f for f in order.fulfilments.all()}
    assert set(parts) == {lescar.organisation_id, pau.organisation_id}
    assert parts[lescar.organisation_id].lines.count() == 2 and parts[pau.organisation_id].lines.count() == 1
    assert len({f.claim_code for f in parts.values()}) == 2
    assert Reservation.objects.filter(order=order, status=Reservation.Status.HELD).count() == 3


def test_paying_a_basket_sells_every_item_and_credits_each_campaign_exactly_its_items(
    django_capture_on_commit_callbacks: Any,
) -> None:
    items, lescar, pau = basket_of_three()
    order = order_start(item_ids=[item.pk for item in items], email="passant@example.org")

    with django_capture_on_commit_callbacks(execute=True):
        order = pay(order)

    assert order.status == PaymentStatus.PAID
    assert statuses(items) == [ItemStatus.SOLD] * 3
    assert campaign_progress(campaign_id=lescar.pk) == (2000, 1)
    assert campaign_progress(campaign_id=pau.pk) == (3000, 1)
    credits = LedgerEntry.objects.filter(order=order, reason=LedgerEntry.Reason.PAYMENT)
    assert sorted(credits.values_list("order_line__item_id", "campaign_id", "amount_cents")) == sorted(
        [(items[0].pk, lescar.pk, 1200), (items[1].pk, lescar.pk, 800), (items[2].pk, pau.pk, 3000)]
    )
    assert list(ledger_differences()) == []
    # The buyer gets one receipt; each seller hears their own object was sold.
    assert [m.to for m in mail.outbox].count(["passant@example.org"]) == 1
    assert sorted(RealtimeEvent.objects.filter(type="item.sold").values_list("public__item", flat=True)) == sorted(
        item.pk for item in items
    )
    # Paid again (the success page's refetch, then the webhook): nothing counts twice.
    pay(order)
    assert LedgerEntry.objects.filter(order=order).count() == 3


def test_when_one_item_of_a_basket_is_taken_nothing_is_held_and_the_answer_names_it() -> None:
    items, _lescar, _pau = basket_of_three()
    other = order_start(item_id=items[1].pk, email="rapide@example.org")

    with pytest.raises(ItemUnavailable) as refused:
        order_start(item_ids=[item.pk for item in items], email="passant@example.org")

    assert refused.value.unavailable == [items[1].pk]
    assert statuses(items) == [ItemStatus.LISTED, ItemStatus.RESERVED, ItemStatus.LISTED]
    assert Order.objects.exclude(pk=other.pk).count() == 0
    assert not OrderLine.objects.exclude(order=other).exists()
    assert not Fulfilment.objects.exclude(order=other).exists()
    assert Reservation.objects.filter(status=Reservation.Status.HELD).count() == 1
    assert RealtimeEvent.objects.filter(type="item.reserved").count() == 1


def test_a_withdrawn_or_unknown_item_in_a_basket_is_named_unavailable_and_a_lone_one_is_not_found() -> None:
    listed = ItemFactory()
    withdrawn = ItemFactory(status=ItemStatus.WITHDRAWN)
    in_review = ItemFactory(status=ItemStatus.IN_REVIEW)

    with pytest.raises(ItemUnavailable) as refused:
        order_start(item_ids=[listed.pk, withdrawn.pk, in_review.pk, 999_999], email="passant@example.org")
    assert refused.value.unavailable == [withdrawn.pk, in_review.pk, 999_999]
    assert Item.objects.get(pk=listed.pk).status == ItemStatus.LISTED
    with pytest.raises(NotFound):
        order_start(item_id=withdrawn.pk, email="passant@example.org")
    assert not Order.objects.exists()


def test_an_empty_or_oversized_basket_is_refused_before_anything_is_held(settings: Any) -> None:
    settings.BASKET_MAX_ITEMS = 2
    items = [ItemFactory() for _ in range(3)]

    with pytest.raises(BasketEmpty):
        order_start(item_ids=[], email="passant@example.org")
    with pytest.raises(BasketTooLarge) as refused:
        order_start(item_ids=[item.pk for item in items], email="passant@example.org")

    assert "2" in str(refused.value.detail)
    assert statuses(items) == [ItemStatus.LISTED] * 3 and not Order.objects.exists()


def test_a_basket_counts_once_towards_the_holds_cap(settings: Any) -> None:
    settings.HOLDS_MAX_PER_EMAIL = 1
    order = order_start(item_ids=[ItemFactory().pk for _ in range(5)], email="passant@example.org")

    assert order.reservations.count() == 5


def test_cancelling_on_the_payment_page_releases_every_item_at_once() -> None:
    items, _lescar, _pau = basket_of_three()
    order = order_start(item_ids=[item.pk for item in items], email="passant@example.org")

    assert order_cancel(order_id=order.pk) is True

    assert statuses(items) == [ItemStatus.LISTED] * 3
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.EXPIRED
    assert not Reservation.objects.filter(status=Reservation.Status.HELD).exists()
    released = RealtimeEvent.objects.filter(type="item.released").values_list("public__item", flat=True)
    assert sorted(released) == sorted(item.pk for item in items)
    # A second cancel (a reload of the page) changes nothing.
    assert order_cancel(order_id=order.pk) is False
    assert RealtimeEvent.objects.filter(type="item.released").count() == 3


def test_expired_basket_holds_are_released_once_by_the_periodic_job() -> None:
    items, _lescar, _pau = basket_of_three()
    order = order_start(item_ids=[item.pk for item in items], email="passant@example.org")
    Reservation.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert reservations_release_expired() == 1

    assert statuses(items) == [ItemStatus.LISTED] * 3
    assert reservations_release_expired() == 0


def test_a_late_basket_payment_sells_all_items_when_they_are_still_free() -> None:
    items, _lescar, _pau = basket_of_three()
    order = order_start(item_ids=[item.pk for item in items], email="passant@example.org")
    order_cancel(order_id=order.pk)

    order = pay(order)

    assert order.status == PaymentStatus.PAID and statuses(items) == [ItemStatus.SOLD] * 3


def test_a_late_basket_payment_with_one_item_sold_meanwhile_is_refunded_whole_and_takes_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    items, _lescar, _pau = basket_of_three()
    order = order_start(item_ids=[item.pk for item in items], email="passant@example.org")
    order_cancel(order_id=order.pk)
    winner = pay(order_start(item_id=items[2].pk, email="rapide@example.org"))

    with django_capture_on_commit_callbacks(execute=True):
        order = pay(order)

    order.refresh_from_db()
    assert order.status == PaymentStatus.REFUNDED and order.refund_reason == "item_unavailable"
    assert order.refund_id  # the demo gateway refunded it
    assert statuses(items) == [ItemStatus.LISTED, ItemStatus.LISTED, ItemStatus.SOLD]
    assert winner.status == PaymentStatus.PAID
    assert not LedgerEntry.objects.filter(order=order, reason=LedgerEntry.Reason.PAYMENT).exists()


def refunded(order: Order, cumulative: int) -> PaymentEvent:
    return replace(refunded_of(order, cumulative), payment_id=order.provider_payment_id)


def dispute(order: Order, number: int, amount: int, status: str) -> PaymentEvent:
    return replace(dispute_of(order, number, amount, status), payment_id=order.provider_payment_id)


def paid_basket(django_capture_on_commit_callbacks: Any) -> tuple[Order, list[Item], Campaign, Campaign]:
    items, lescar, pau = basket_of_three()
    with django_capture_on_commit_callbacks(execute=True):
        order = pay(order_start(item_ids=[item.pk for item in items], email="passant@example.org"))
    return order, items, lescar, pau


def test_one_organisations_hand_over_and_transfer_leave_the_other_part_waiting(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, items, lescar, pau = paid_basket(django_capture_on_commit_callbacks)
    lescar_part = order.fulfilments.get(organisation=lescar.organisation)

    with django_capture_on_commit_callbacks(execute=True):
        hand_over(lescar_part)

    assert statuses(items) == [ItemStatus.HANDED_OVER, ItemStatus.HANDED_OVER, ItemStatus.SOLD]
    transfers = Transfer.objects.values_list("organisation_id", "fulfilment_id", "order_id", "amount_cents")
    assert list(transfers) == [(lescar.organisation_id, lescar_part.pk, order.pk, 2000)]
    pau_part = order.fulfilments.get(organisation=pau.organisation)
    assert pau_part.handed_over_at is None and pau_part.transfer_id == ""

    with django_capture_on_commit_callbacks(execute=True):
        hand_over(pau_part)

    assert sorted(Transfer.objects.values_list("organisation_id", "amount_cents")) == sorted(
        [(lescar.organisation_id, 2000), (pau.organisation_id, 3000)]
    )


def test_a_manager_cannot_hand_over_another_organisations_part_of_a_basket(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, items, lescar, pau = paid_basket(django_capture_on_commit_callbacks)
    pau_part = order.fulfilments.get(organisation=pau.organisation)
    lescar_member = MembershipFactory(organisation=lescar.organisation).user

    with pytest.raises(NotFound):
        fulfilment_hand_over(fulfilment=pau_part, claim_code=pau_part.claim_code, actor=lescar_member)

    assert statuses(items)[2] == ItemStatus.SOLD


def test_refunding_one_line_debits_its_campaign_relists_its_item_and_leaves_the_others(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, items, lescar, pau = paid_basket(django_capture_on_commit_callbacks)
    line = order.lines.get(item=items[2])

    with django_capture_on_commit_callbacks(execute=True):
        refund = payment_refund(actor=treasurer(pau), reason="Rayure", order_id=order.pk, line_id=line.pk)

    assert (refund.amount_cents, refund.line_id, refund.status) == (3000, line.pk, Refund.Status.SENT)
    order.refresh_from_db()
    assert order.refunded_cents == 3000 and order.status == PaymentStatus.PAID
    assert OrderLine.objects.get(pk=line.pk).refunded_cents == 3000
    assert campaign_progress(campaign_id=pau.pk) == (0, 0)
    assert campaign_progress(campaign_id=lescar.pk) == (2000, 1)
    assert statuses(items) == [ItemStatus.SOLD, ItemStatus.SOLD, ItemStatus.LISTED]
    assert list(ledger_differences()) == []
    # Nothing is left to hand over at Pau; Lescar's part still waits for its buyer.
    pau_part = order.fulfilments.get(organisation=pau.organisation)
    member = MembershipFactory(organisation=pau.organisation).user
    with pytest.raises(Exception, match="nothing left"):
        fulfilment_hand_over(fulfilment=pau_part, claim_code=pau_part.claim_code, actor=member)


def test_a_treasurer_may_not_refund_another_organisations_line_nor_a_whole_shared_basket(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, items, lescar, _pau = paid_basket(django_capture_on_commit_callbacks)
    pau_line = order.lines.get(item=items[2])

    with pytest.raises(NotFound):
        payment_refund(actor=treasurer(lescar), reason="x", order_id=order.pk, line_id=pau_line.pk)
    with pytest.raises((NotFound, RefundLineRequired)):
        payment_refund(actor=treasurer(lescar), reason="x", order_id=order.pk)

    assert not Refund.objects.exists()


def test_a_partial_refund_of_a_line_after_the_transfer_reverses_only_that_organisations_transfer(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, items, lescar, pau = paid_basket(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        for fulfilment in order.fulfilments.all():
            hand_over(fulfilment)
    line = order.lines.get(item=items[0])

    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(actor=treasurer(lescar), reason="Abîmé", order_id=order.pk, line_id=line.pk, amount_cents=500)

    reversed_by_organisation = {
        transfer.organisation_id: sum(r.amount_cents for r in transfer.reversals.all())
        for transfer in Transfer.objects.prefetch_related("reversals")
    }
    assert reversed_by_organisation == {lescar.organisation_id: 500, pau.organisation_id: 0}
    assert campaign_progress(campaign_id=lescar.pk) == (1500, 1)
    # A handed-over object partly refunded stays with the buyer.
    assert statuses(items) == [ItemStatus.HANDED_OVER] * 3


def test_refunds_are_shared_among_lines_the_same_way_whatever_arrives_first(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, items, _lescar, _pau = paid_basket(django_capture_on_commit_callbacks)
    lines = {line.item_id: line for line in order.lines.all()}
    Refund.objects.create(order=order, line=lines[items[2].pk], amount_cents=1000, reason="a", status="sent")
    Refund.objects.create(order=order, amount_cents=1500, reason="b", status="sent")

    # Asked first goes first: 1000 to Pau's line, then the whole-order refund fills lines in turn.
    assert refund_allocation(order, 2500) == {
        lines[items[0].pk].pk: 1200,
        lines[items[1].pk].pk: 300,
        lines[items[2].pk].pk: 1000,
    }
    # Before the provider confirmed it all, the first asked is served first; never more than a line's price.
    assert refund_allocation(order, 600)[lines[items[2].pk].pk] == 600
    assert sum(refund_allocation(order, 99_999).values()) == 5000

    # The provider's events in any order, twice: the ledger ends the same, each line debited once.
    for cumulative in (2500, 1000, 2500):
        event_receive(event=refunded(order, cumulative))
    debits = dict(
        LedgerEntry.objects.filter(order=order, reason=LedgerEntry.Reason.REFUND)
        .values_list("order_line__item_id")
        .annotate(total=Sum("amount_cents"))
    )
    assert debits == {items[0].pk: 1200, items[1].pk: 300, items[2].pk: 1000}
    assert list(ledger_differences()) == []


def test_a_dispute_on_a_basket_debits_its_lines_in_turn_and_a_won_one_credits_them_back(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, _items, lescar, pau = paid_basket(django_capture_on_commit_callbacks)

    event_receive(event=dispute(order, 1, 2500, "needs_response"))

    assert campaign_progress(campaign_id=lescar.pk)[0] == 0
    assert campaign_progress(campaign_id=pau.pk)[0] == 2500
    event_receive(event=dispute(order, 1, 2500, "won"))
    assert campaign_progress(campaign_id=lescar.pk)[0] == 2000
    assert campaign_progress(campaign_id=pau.pk)[0] == 3000


def test_an_uncollected_part_of_a_basket_is_refunded_alone_and_the_other_part_kept(
    django_capture_on_commit_callbacks: Any,
) -> None:
    order, items, lescar, _pau = paid_basket(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        hand_over(order.fulfilments.get(organisation=lescar.organisation))
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=settings.PICKUP_DEADLINE_DAYS + 1))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert pickups_sweep() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert pickups_sweep() == 0

    order.refresh_from_db()
    assert order.refunded_cents == 3000 and order.status == PaymentStatus.PAID
    assert statuses(items) == [ItemStatus.HANDED_OVER, ItemStatus.HANDED_OVER, ItemStatus.LISTED]
    assert Refund.objects.filter(actor__isnull=True).count() == 1
    assert [m.to for m in mail.outbox] == [["passant@example.org"]]
    assert campaign_progress(campaign_id=lescar.pk) == (2000, 1)


class Recording:
    """A provider that keeps what it was asked (the demo gateway's answers otherwise)."""

    name = "demo"

    def __init__(self) -> None:
        self.requests: list[CheckoutRequest] = []

    def checkout_create(self, request: CheckoutRequest) -> CheckoutSession:
        self.requests.append(request)
        return demo_gateway.DemoGateway().checkout_create(request)


def test_the_providers_page_lists_every_item_and_opens_in_the_buyers_language(monkeypatch: Any) -> None:
    items, _lescar, _pau = basket_of_three()
    provider = Recording()
    monkeypatch.setattr("checkout.services.orders.gateway", lambda: provider)

    with translation.override("en"):
        order_start(item_ids=[item.pk for item in items], email="passer-by@example.org")

    (request,) = provider.requests
    assert request.locale == "en" and request.amount_cents == 5000
    assert [(line.description, line.amount_cents) for line in request.lines] == [
        (item.title, item.price_cents) for item in items
    ]
