"""Money going out, through the gateway and after commit: automatic refunds
of late payments, refunds asked by managers, Connect transfers to the
organisations, and the demo gateway's refunds. The ledger follows each refund
when the provider's ``charge.refunded`` event is processed (checkout.services.events)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry, Campaign
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from checkout.services.states import refund_transition
from checkout.services.targets import PaymentUnavailable, payment_of, payment_ref
from donations.models import Gift, ItemStatus, Order, PaymentStatus, Refund
from kernel.errors import Conflict, DomainError, NotFound
from kernel.tasks import task
from ledger.services import transfer_record
from payments.gateways import GatewayError, gateway

logger = logging.getLogger(__name__)


# --- After commit: refunds and transfers through the gateway ----------------------------------


@task(timeout=120)
def order_refund_late(*, order_id: int) -> None:
    """Refund a payment that arrived for an item someone else bought. The
    idempotency key comes from the order, so a retry never refunds twice."""
    order = Order.objects.get(pk=order_id)
    if order.refund_id or order.refund_reason != "item_unavailable":
        return
    try:
        refund_id = gateway().refund_create(
            payment_id=order.provider_payment_id, amount_cents=None, idempotency_key=f"tremma-order-{order.pk}-late"
        )
    except GatewayError:
        logger.exception("payments: late refund of order %s failed; transfers_pay retries it", order.pk)
        return
    Order.objects.filter(pk=order.pk, refund_id="").update(refund_id=refund_id)


@task(timeout=120)
def gift_transfer(*, gift_id: int) -> None:
    """Pay a paid gift to the organisation's connected account (separate charges
    and transfers). Without a connected account, the money accrues to its balance."""
    gift = Gift.objects.select_related("campaign__organisation").get(pk=gift_id)
    if _transferable(gift):
        _transfer_send(gift, kind="gift")


@task(timeout=120)
def order_transfer(*, order_id: int) -> None:
    """Pay a sale to the organisation once the object is handed over."""
    order = Order.objects.select_related("campaign__organisation", "item").get(pk=order_id)
    if _transferable(order) and order.item.status == ItemStatus.HANDED_OVER:
        _transfer_send(order, kind="order")


def _transferable(target: Order | Gift) -> bool:
    """Paid, not transferred yet, something left after refunds, and a connected
    account that can receive transfers (Stripe said so: payments.services.connect)."""
    return (
        target.status == PaymentStatus.PAID
        and not target.transfer_id
        and bool(target.campaign.organisation.stripe_account_id)
        and target.campaign.organisation.stripe_transfers_active
        and target.amount_cents - target.refunded_cents > 0
    )


def _transfer_send(target: Order | Gift, *, kind: str) -> None:
    """One Transfer of what remains of ``target`` (idempotency key and group from our row), recorded once."""
    amount = target.amount_cents - target.refunded_cents
    try:
        transfer_id = gateway().transfer_create(
            amount_cents=amount,
            currency=target.currency,
            destination=target.campaign.organisation.stripe_account_id,
            transfer_group=f"{kind}-{target.pk}",
            idempotency_key=f"tremma-{kind}-{target.pk}-transfer",
        )
    except GatewayError:
        logger.exception("payments: transfer of %s %s failed; transfers_pay retries it", kind, target.pk)
        return
    with transaction.atomic():
        type(target).objects.filter(pk=target.pk, transfer_id="").update(transfer_id=transfer_id)
        transfer_record(target=target, provider=gateway().name, provider_transfer_id=transfer_id, amount_cents=amount)


@task(timeout=240)
def transfers_pay(*, limit: int = 100) -> int:
    """Periodic job: transfers and late refunds not done yet (provider down, account connected since)."""
    done = 0
    gifts = Gift.objects.filter(
        status=PaymentStatus.PAID, transfer_id="", campaign__organisation__stripe_transfers_active=True
    ).exclude(campaign__organisation__stripe_account_id="")
    for gift_id in gifts.order_by("id").values_list("id", flat=True)[:limit]:
        gift_transfer(gift_id=gift_id)
        done += 1
    orders = Order.objects.filter(
        status=PaymentStatus.PAID,
        transfer_id="",
        item__status=ItemStatus.HANDED_OVER,
        campaign__organisation__stripe_transfers_active=True,
    ).exclude(campaign__organisation__stripe_account_id="")
    for order_id in orders.order_by("id").values_list("id", flat=True)[:limit]:
        order_transfer(order_id=order_id)
        done += 1
    late = Order.objects.filter(refund_reason="item_unavailable", refund_id="").order_by("id")
    for order_id in late.values_list("id", flat=True)[:limit]:
        order_refund_late(order_id=order_id)
        done += 1
    return done


# --- Refunds asked by a manager ----------------------------------------------------------------


class RefundRefused(Conflict):
    code = "not_refundable"
    default_detail = _("Ce paiement ne peut pas être remboursé.")


class RefundTooLarge(DomainError):
    code = "refund_too_large"
    default_detail = _("Le montant dépasse ce qui reste à rembourser.")


MAX_REFUND_CENTS = 1_000_000_000  # never more than was paid; beyond 10 M€ it is not even a typo


def refundable_cents(target: Order | Gift) -> int:
    """What a manager may still refund of ``target``: its amount less what was already refunded,
    counting refunds asked and not failed even before the provider confirms them.
    ``payment_refund`` reads it again under lock; pages show it."""
    asked = Refund.objects.filter(**payment_of(target)).exclude(status=Refund.Status.FAILED)
    already = max(asked.aggregate(total=Sum("amount_cents"))["total"] or 0, target.refunded_cents)
    return max(target.amount_cents - already, 0)


def payment_refund(
    *,
    actor: User | None,
    reason: str,
    order_id: int | None = None,
    gift_id: int | None = None,
    amount_cents: int | None = None,
) -> Refund:
    """A treasurer or an admin of the organisation refunds a paid order or gift, in whole
    (``amount_cents`` None) or in part. The refund is recorded, then sent to
    the provider with a key derived from its row; the ledger's debit comes
    with the provider's ``charge.refunded`` event, as for any refund.
    ``actor`` None is Trëmma itself applying a rule (an object never collected:
    checkout.services.pickups), never a request's user."""
    pk = order_id if order_id is not None else gift_id
    if pk is None:
        raise ValueError("payment_refund needs order_id or gift_id")
    with transaction.atomic(durable=True):
        model: type[Order] | type[Gift] = Order if order_id is not None else Gift
        target = model.objects.select_for_update().filter(pk=pk).first()
        if target is None:
            raise NotFound(f"{model.__name__} {pk}")
        organisation_id = Campaign.objects.filter(pk=target.campaign_id).values_list("organisation_id", flat=True)[0]
        # A member whose role may not refund is told so (403); anyone else gets the answer of a
        # missing payment (404): another organisation's ids are not a hint. No actor: Trëmma
        # applying a rule (a purchase never collected), not a person.
        if actor is not None:
            permission_require(actor, organisation_id, Permission.REFUND)
        if target.status != PaymentStatus.PAID or not target.provider_payment_id:
            raise RefundRefused(f"{payment_ref(target)} is {target.status}")
        remaining = refundable_cents(target)
        amount = remaining if amount_cents is None else amount_cents
        if not 0 < amount <= remaining:
            raise RefundTooLarge(f"{amount} of {remaining} for {payment_ref(target)}")
        refund = Refund.objects.create(amount_cents=amount, reason=reason[:300], actor=actor, **payment_of(target))
        audit_record(
            organisation_id=organisation_id,
            actor=actor,
            action=AuditEntry.Action.REFUND,
            subject=payment_ref(target),
            details={
                "refund": refund.pk,
                "amount_cents": amount,
                "whole": amount == target.amount_cents,
                "reason": refund.reason,
            },
        )
    # After commit: the provider is never called while rows are locked, and
    # the recorded row gives the idempotency key of any retry.
    try:
        provider_refund_id = gateway().refund_create(
            payment_id=target.provider_payment_id, amount_cents=amount, idempotency_key=f"tremma-refund-{refund.pk}"
        )
    except GatewayError:
        logger.warning("payments: refund %s failed at the provider", refund.pk, exc_info=True)
        refund_transition(refund, to=Refund.Status.FAILED)
        raise PaymentUnavailable(f"refund {refund.pk}") from None
    refund_transition(refund, to=Refund.Status.SENT, provider_refund_id=provider_refund_id)
    refund.refresh_from_db()
    return refund


# --- When an organisation's account can receive transfers ---------------------------------------

# Transfers sent right after the account becomes able to receive them; the periodic job sends the rest.
TRANSFERS_AT_ONCE = 25


def organisation_transfers_pay(*, organisation_id: int, limit: int = TRANSFERS_AT_ONCE) -> int:
    """Send the organisation's pending transfers (the same functions as the
    periodic ``transfers_pay``, which sends what is left)."""
    gifts = Gift.objects.filter(status=PaymentStatus.PAID, transfer_id="", campaign__organisation_id=organisation_id)
    orders = Order.objects.filter(
        status=PaymentStatus.PAID,
        transfer_id="",
        item__status=ItemStatus.HANDED_OVER,
        campaign__organisation_id=organisation_id,
    )
    done = 0
    for gift_id in gifts.order_by("id").values_list("id", flat=True)[:limit]:
        gift_transfer(gift_id=gift_id)
        done += 1
    for order_id in orders.order_by("id").values_list("id", flat=True)[: max(limit - done, 0)]:
        order_transfer(order_id=order_id)
        done += 1
    return done
