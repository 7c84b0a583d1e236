"""The buyer's and the sellers' emails of a basket (checkout/emails.py): one
receipt listing each organisation's part with its own claim code and page,
one "sold" email per seller for their own object, and the pick-up reminders
and never-collected notice per organisation's part, in the buyer's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.utils import translation

from checkout.emails import order_receipt_send, order_uncollected_send, pickup_reminder_send, seller_sold_send
from checkout.services import order_start
from donations.models import Fulfilment, Order, OrderLine
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, UserFactory
from tests.receipts_support import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def basket(django_capture_on_commit_callbacks: Any) -> Order:
    north = CampaignFactory(title="Atelier vélo", organisation=OrganisationFactory(name="Emmaüs Nord"))
    south = CampaignFactory(title="Toit d'hiver", organisation=OrganisationFactory(name="Emmaüs Sud"))
    items = [
        ItemFactory(campaign=north, title="Lampe", price_cents=1250, owner=UserFactory(email="lea@example.org")),
        ItemFactory(campaign=north, title="Chaise", price_cents=800, owner=UserFactory(email="max@example.org")),
        ItemFactory(campaign=south, title="Théière", price_cents=2400, owner=None),
    ]
    with translation.override("en"):
        order = order_start(item_ids=[item.pk for item in items], email="buyer@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        pay(order)
    return Order.objects.get(pk=order.pk)


def part_of(order: Order, name: str) -> Fulfilment:
    return order.fulfilments.get(organisation__name=name)


def test_the_receipt_lists_each_organisation_s_part_with_its_own_code_and_page(basket: Order) -> None:
    (receipt,) = [m for m in mail.outbox if m.to == ["buyer@example.org"]]
    body = receipt.body
    north, south = part_of(basket, "Emmaüs Nord"), part_of(basket, "Emmaüs Sud")

    assert basket.language == "en" and receipt.subject == "Your purchase on Trëmma: 3 items"
    assert "Amount paid: €44.50" in body
    north_part = body[body.index("To collect at Emmaüs Nord") : body.index("To collect at Emmaüs Sud")]
    assert "“Lampe”, €12.50: the full price goes to the project “Atelier vélo”." in north_part
    assert "“Chaise”, €8.00" in north_part and "Théière" not in north_part
    assert north.claim_code in north_part and f"/retrait/{north.claim_token}/" in north_part
    assert south.claim_code not in north_part
    assert south.claim_code in body and f"/retrait/{south.claim_token}/" in body
    assert "«" not in body  # no French left in an English email


def test_each_seller_hears_of_their_own_object_only(basket: Order) -> None:
    sold = {m.to[0]: m for m in mail.outbox if m.to != ["buyer@example.org"]}

    assert set(sold) == {"lea@example.org", "max@example.org"}  # the organisation's own object: nobody to tell
    assert sold["lea@example.org"].subject == "Votre objet « Lampe » a été vendu"
    assert "vendu 12,50\u00a0€" in sold["lea@example.org"].body and "« Atelier vélo »" in sold["lea@example.org"].body
    assert "Chaise" not in sold["lea@example.org"].body and "8,00" in sold["max@example.org"].body
    mail.outbox.clear()
    seller_sold_send(line_id=basket.lines.get(item__title="Théière").pk)
    assert mail.outbox == []


def test_a_reminder_names_every_object_waiting_at_that_organisation(basket: Order) -> None:
    mail.outbox.clear()
    north = part_of(basket, "Emmaüs Nord")

    pickup_reminder_send(fulfilment_id=north.pk, again=True)

    (reminder,) = mail.outbox
    assert reminder.subject == "Last reminder: your 2 items are waiting for you at Emmaüs Nord"
    assert "Your 2 items are waiting for you at Emmaüs Nord" in reminder.body
    assert "“Lampe”" in reminder.body and "“Chaise”" in reminder.body and "Théière" not in reminder.body
    assert north.claim_code in reminder.body and part_of(basket, "Emmaüs Sud").claim_code not in reminder.body


def test_a_reminder_of_one_object_keeps_its_title_in_the_subject(basket: Order) -> None:
    mail.outbox.clear()
    pickup_reminder_send(fulfilment_id=part_of(basket, "Emmaüs Sud").pk)
    (reminder,) = mail.outbox
    assert reminder.subject == "Reminder: “Théière” is waiting for you"
    assert "Your item is waiting for you at Emmaüs Sud" in reminder.body


def test_nothing_is_sent_once_the_part_was_collected(basket: Order) -> None:
    from django.utils import timezone

    mail.outbox.clear()
    north = part_of(basket, "Emmaüs Nord")
    Fulfilment.objects.filter(pk=north.pk).update(handed_over_at=timezone.now())
    pickup_reminder_send(fulfilment_id=north.pk)
    assert mail.outbox == []


def test_the_never_collected_notice_tells_what_comes_back_of_that_part_only(
    basket: Order, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from checkout.services import payment_refund
    from tests.factories import manager_of

    north = part_of(basket, "Emmaüs Nord")
    chair = OrderLine.objects.get(order=basket, item__title="Chaise")
    # The chair was refunded on its own before: it is not refunded (nor told) again.
    with django_capture_on_commit_callbacks(execute=True):
        treasurer = manager_of(north.organisation, role="treasurer")
        payment_refund(actor=treasurer, reason="rayure", order_id=basket.pk, line_id=chair.pk)
    Fulfilment.objects.filter(pk=north.pk).update(pickup_expired_at=timezone.now() + timedelta(seconds=1))
    mail.outbox.clear()

    order_uncollected_send(fulfilment_id=north.pk)

    (notice,) = mail.outbox
    assert notice.subject == "Item not collected: your order “Lampe” is refunded"
    assert "(€12.50, to the payment method you used" in notice.body
    assert "Chaise" not in notice.body and "Théière" not in notice.body
    assert "You did not collect your item at Emmaüs Nord within 30 days" in notice.body


def test_the_never_collected_notice_of_several_objects(basket: Order) -> None:
    mail.outbox.clear()
    order_uncollected_send(fulfilment_id=part_of(basket, "Emmaüs Nord").pk)
    (notice,) = mail.outbox
    assert notice.subject == "Items not collected at Emmaüs Nord: 2 items refunded"
    assert "(€20.50," in notice.body and "You did not collect your 2 items at Emmaüs Nord" in notice.body


def test_the_receipt_is_sent_once_per_order_whatever_the_number_of_parts(basket: Order) -> None:
    mail.outbox.clear()
    order_receipt_send(order_id=basket.pk)
    assert len(mail.outbox) == 1
