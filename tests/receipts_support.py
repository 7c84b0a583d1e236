"""Shared helpers of the tax receipt tests: payments driven through the real
event processing (demo gateway events), and the hand-over of a sale (each
organisation's part of an order, with its own claim code)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.test import TestCase
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from campaigns.models import Campaign, Membership, Organisation
from checkout.services import fulfilment_hand_over, gift_start, order_start
from donations.models import Fulfilment, Gift, Item, Order, OrderLine
from payments import demo_gateway
from payments.events import event_receive
from payments.gateways import PaymentEvent
from receipts import issuing
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, OrganisationFactory, UserFactory


def ready_organisation(**fields: Any) -> Organisation:
    """An organisation whose legal details allow receipts."""
    fields.setdefault("signatory_name", "Claire Dupuis")
    fields.setdefault("signatory_title", "Présidente")
    return OrganisationFactory(**fields)


def ready_campaign(organisation: Organisation | None = None) -> Campaign:
    return CampaignFactory(organisation=organisation or ready_organisation())


def giver(**fields: Any) -> User:
    """A person with every mention a receipt needs."""
    defaults = {
        "first_name": "Louise Marie",
        "last_name": "Martin",
        "address_line1": "3 rue des Lilas",
        "postal_code": "64000",
        "city": "Pau",
    }
    return UserFactory(**{**defaults, **fields})


def pay(target: Order | Gift) -> None:
    kind = "order" if isinstance(target, Order) else "gift"
    event_receive(
        event=demo_gateway.completed_event(
            kind=kind,
            object_id=target.pk,
            session_id=target.provider_session_id or "",
            amount_cents=target.amount_cents,
            currency="EUR",
        )
    )


def paid_gift(campaign: Campaign, amount_cents: int = 5000, *, user: User | None = None, email: str = "") -> Gift:
    gift = gift_start(
        campaign_slug=campaign.slug,
        amount_cents=amount_cents,
        email=email or (user.email if user else "giver@example.org"),
        name="Louise Martin",
        user=user,
    )
    pay(gift)
    return Gift.objects.get(pk=gift.pk)


def paid_order(item: Item, *, buyer: User | None = None) -> Order:
    return paid_basket([item], buyer=buyer)


def paid_basket(items: Sequence[Item], *, buyer: User | None = None) -> Order:
    """One payment for every item of ``items`` (a line each, a fulfilment per organisation)."""
    order = order_start(
        item_ids=[item.pk for item in items], email=buyer.email if buyer else "buyer@example.org", user=buyer
    )
    pay(order)
    return Order.objects.get(pk=order.pk)


def line_of(order: Order, item: Item | None = None) -> OrderLine:
    """The line of ``order`` that sold ``item`` (its only line when none is named)."""
    lines = order.lines.select_related("fulfilment", "item", "campaign")
    return lines.get(item=item) if item is not None else lines.get()


def manager(organisation: Organisation, role: str = Membership.Role.MANAGER) -> User:
    return MembershipFactory(organisation=organisation, role=role).user


def handed_over(order: Order, *, days_ago: int = 0, organisation: Organisation | None = None) -> Order:
    """Hand the order's objects over (one organisation's part only, if named) with the
    buyer's claim code of each part, ``days_ago`` days ago."""
    parts = order.fulfilments.select_related("organisation").order_by("pk")
    if organisation is not None:
        parts = parts.filter(organisation=organisation)
    for fulfilment in parts:
        fulfilment_hand_over(
            fulfilment=fulfilment, claim_code=fulfilment.claim_code, actor=manager(fulfilment.organisation)
        )
        if days_ago:
            handed_over_days_ago(fulfilment, days_ago)
    return Order.objects.get(pk=order.pk)


def handed_over_days_ago(part: Order | Fulfilment, days: int) -> None:
    """Time passing, not a shortcut through the service: only the hand-over date moves back
    (of every part of an order already handed over, or of one part)."""
    parts = Fulfilment.objects.filter(order=part) if isinstance(part, Order) else Fulfilment.objects.filter(pk=part.pk)
    parts.filter(handed_over_at__isnull=False).update(handed_over_at=timezone.now() - timedelta(days=days))


def sale(price_cents: int, *, seller: User | None = None, campaign: Campaign | None = None) -> Order:
    item = ItemFactory(price_cents=price_cents, owner=seller or giver(), campaign=campaign or ready_campaign())
    return paid_order(item)


def refund_event(target: Order | Gift, cumulative: int) -> PaymentEvent:
    return PaymentEvent(
        provider="demo",
        id=f"evt_refund_{target.pk}_{cumulative}_{target.provider_payment_id}",
        type="payment.refunded",
        payment_id=target.provider_payment_id,
        amount_cents=target.amount_cents,
        currency="EUR",
        refunded_cents=cumulative,
    )


def dispute_event(target: Order | Gift, status: str) -> PaymentEvent:
    return PaymentEvent(
        provider="demo",
        id=f"evt_dispute_{target.provider_payment_id}_{status}",
        type="dispute.opened" if status == "needs_response" else "dispute.closed",
        payment_id=target.provider_payment_id,
        amount_cents=target.amount_cents,
        currency="EUR",
        dispute_id=f"dp_{target.provider_payment_id}",
        dispute_status=status,
    )


def pdf_text(data: bytes) -> str:
    """The PDF's text without any space (extraction splits some kerned pairs)."""
    reader = PdfReader(io.BytesIO(data))
    return "".join("".join((page.extract_text() or "").split()) for page in reader.pages)


def squeeze(text: str) -> str:
    return "".join(text.split())


def receipts_issue_due(**kwargs: Any) -> int:
    """The periodic job, then the tasks it recorded (each receipt's PDF and email), as a worker
    would run them right after: the test's transaction never commits, so they are run here."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return issuing.receipts_issue_due(**kwargs)
