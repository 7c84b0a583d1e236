"""Money going out, through the gateway and after commit: automatic refunds
of late payments, refunds asked by managers, Connect transfers to the
organisations, and the demo gateway's refunds. The ledger follows each refund
when the provider's ``charge.refunded`` event is processed (checkout.services.events)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry, Campaign
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from checkout.services.states import refund_transition
from checkout.services.targets import PaymentUnavailable, payment_of, payment_ref
from donations.models import COUNTER_PROVIDER, Fulfilment, Gift, Order, OrderLine, PaymentStatus, Refund
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
    if _gift_transferable(gift):
        _gift_transfer_send(gift)


@task(timeout=120)
def fulfilment_transfer(*, fulfilment_id: int) -> None:
    """Pay one organisation its part of a sale once that part is handed over: what
    remains of its lines after refunds, one Transfer in the order's transfer group."""
    fulfilment = Fulfilment.objects.select_related("order", "organisation").get(pk=fulfilment_id)
    if not _fulfilment_transferable(fulfilment):
        return
    amount = _fulfilment_remaining_cents(fulfilment)
    try:
        transfer_id = gateway().transfer_create(
            amount_cents=amount,
            currency=fulfilment.order.currency,
            destination=fulfilment.organisation.stripe_account_id,
            # The group of the order's payment (payments.gateways: the request's reference).
            transfer_group=f"order-{fulfilment.order_id}",
            idempotency_key=f"tremma-fulfilment-{fulfilment.pk}-transfer",
        )
    except GatewayError:
        logger.exception("payments: transfer of fulfilment %s failed; transfers_pay retries it", fulfilment.pk)
        return
    with transaction.atomic():
        Fulfilment.objects.filter(pk=fulfilment.pk, transfer_id="").update(transfer_id=transfer_id)
        transfer_record(
            target=fulfilment, provider=gateway().name, provider_transfer_id=transfer_id, amount_cents=amount
        )


def _fulfilment_remaining_cents(fulfilment: Fulfilment) -> int:
    remaining = fulfilment.lines.aggregate(total=Sum(F("amount_cents") - F("refunded_cents")))["total"]
    return int(remaining or 0)


def _fulfilment_transferable(fulfilment: Fulfilment) -> bool:
    """Its order paid, handed over, not transferred yet, something left after refunds,
    and a connected account that can receive transfers."""
    return (
        fulfilment.order.status == PaymentStatus.PAID
        and fulfilment.order.provider != COUNTER_PROVIDER
        and fulfilment.handed_over_at is not None
        and not fulfilment.transfer_id
        and bool(fulfilment.organisation.stripe_account_id)
        and fulfilment.organisation.stripe_transfers_active
        and _fulfilment_remaining_cents(fulfilment) > 0
    )


def _gift_transferable(gift: Gift) -> bool:
    """Paid, not transferred yet, something left after refunds, and a connected
    account that can receive transfers (Stripe said so: payments.services.connect)."""
    return (
        gift.status == PaymentStatus.PAID
        and gift.provider != COUNTER_PROVIDER
        and not gift.transfer_id
        and bool(gift.campaign.organisation.stripe_account_id)
        and gift.campaign.organisation.stripe_transfers_active
        and gift.amount_cents - gift.refunded_cents > 0
    )


def _gift_transfer_send(gift: Gift) -> None:
    """One Transfer of what remains of a gift (idempotency key and group from our row), recorded once."""
    amount = gift.amount_cents - gift.refunded_cents
    try:
        transfer_id = gateway().transfer_create(
            amount_cents=amount,
            currency=gift.currency,
            destination=gift.campaign.organisation.stripe_account_id,
            transfer_group=f"gift-{gift.pk}",
            idempotency_key=f"tremma-gift-{gift.pk}-transfer",
        )
    except GatewayError:
        logger.exception("payments: transfer of gift %s failed; transfers_pay retries it", gift.pk)
        return
    with transaction.atomic():
        Gift.objects.filter(pk=gift.pk, transfer_id="").update(transfer_id=transfer_id)
        transfer_record(target=gift, provider=gateway().name, provider_transfer_id=transfer_id, amount_cents=amount)


def _fulfilments_due() -> QuerySet[Fulfilment]:
    return (
        Fulfilment.objects.filter(
            order__status=PaymentStatus.PAID,
            handed_over_at__isnull=False,
            transfer_id="",
            organisation__stripe_transfers_active=True,
        )
        .exclude(organisation__stripe_account_id="")
        .exclude(order__provider=COUNTER_PROVIDER)
    )


@task(timeout=240)
def transfers_pay(*, limit: int = 100) -> int:
    """Periodic job: transfers and late refunds not done yet (provider down, account connected since)."""
    done = 0
    # Money taken at the counter is the organisation's already: never transferred (checkout.services.counter).
    gifts = (
        Gift.objects.filter(
            status=PaymentStatus.PAID, transfer_id="", campaign__organisation__stripe_transfers_active=True
        )
        .exclude(campaign__organisation__stripe_account_id="")
        .exclude(provider=COUNTER_PROVIDER)
    )
    for gift_id in gifts.order_by("id").values_list("id", flat=True)[:limit]:
        gift_transfer(gift_id=gift_id)
        done += 1
    for fulfilment_id in _fulfilments_due().order_by("id").values_list("id", flat=True)[:limit]:
        fulfilment_transfer(fulfilment_id=fulfilment_id)
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


class CounterRefundRefused(RefundRefused):
    code = "counter_payment"
    default_detail = _(
        "Ce paiement a été encaissé au comptoir : corrigez-le depuis la caisse (annulation de la saisie)."
    )


class RefundTooLarge(DomainError):
    code = "refund_too_large"
    default_detail = _("Le montant dépasse ce qui reste à rembourser.")


MAX_REFUND_CENTS = 1_000_000_000  # never more than was paid; beyond 10 M€ it is not even a typo


def refund_allocation(order: Order, refunded: int) -> dict[int, int]:
    """How an order's cumulative refunded amount splits among its lines: the
    refunds asked through Trëmma first, in the order they were asked (one naming
    a line goes to that line; one for the whole order fills its lines in turn),
    then any rest (a refund made at the provider's dashboard) fills the lines in
    turn. Each line gets at most its amount. The same inputs always give the same
    split, and a larger total never gives a line less."""
    lines = list(order.lines.order_by("pk").values_list("pk", "amount_cents"))
    room = dict(lines)
    share = dict.fromkeys(room, 0)
    left = refunded

    def give(line_ids: list[int], amount: int) -> None:
        nonlocal left
        for line_id in line_ids:
            part = min(amount, room[line_id] - share[line_id], left)
            share[line_id] += part
            amount -= part
            left -= part

    asked = Refund.objects.filter(order=order).exclude(status=Refund.Status.FAILED).order_by("pk")
    for line_id, amount, shipping_of in asked.values_list("line_id", "amount_cents", "shipping_of"):
        if shipping_of is not None:
            # A parcel's shipping given back is no line's price: it takes its part and nothing else.
            left -= min(amount, left)
            continue
        give([line_id] if line_id in room else list(room), amount)
    give(list(room), left)
    return share


def _asked_cents(target: Order | Gift) -> int:
    """Refunds asked and not failed (even before the provider confirms them), or what the provider
    confirmed if more (a refund made at its dashboard)."""
    asked = Refund.objects.filter(**payment_of(target)).exclude(status=Refund.Status.FAILED)
    return max(asked.aggregate(total=Sum("amount_cents"))["total"] or 0, target.refunded_cents)


def refundable_cents(target: Order | Gift, *, line: OrderLine | None = None) -> int:
    """What a manager may still refund of ``target`` (or of one ``line`` of an order): its
    amount less what was already refunded, counting refunds asked and not failed even before the
    provider confirms them. ``payment_refund`` reads it again under lock; pages show it."""
    already = _asked_cents(target)
    if line is None:
        return max(target.amount_cents - already, 0)
    assert isinstance(target, Order)
    share = refund_allocation(target, already)
    return max(line.amount_cents - share.get(line.pk, line.amount_cents), 0)


class RefundLineRequired(DomainError):
    code = "line_required"
    field = "line"
    default_detail = _("Cette commande réunit plusieurs organisations : remboursez-la ligne par ligne.")


def payment_refund(
    *,
    actor: User | None,
    reason: str,
    order_id: int | None = None,
    gift_id: int | None = None,
    line_id: int | None = None,
    amount_cents: int | None = None,
) -> Refund:
    """A treasurer or an admin of the organisation refunds a paid order, one line of
    it, or a gift, in whole (``amount_cents`` None) or in part. The refund is
    recorded, then sent to the provider with a key derived from its row; the
    ledger's debit comes with the provider's ``charge.refunded`` event, as for
    any refund. An order of several organisations is refunded line by line, each
    by its own organisation. A gift refunded in whole also gives back its tip (Trëmma's,
    in the same payment). ``actor`` None is Trëmma itself applying a rule (an
    object never collected: checkout.services.pickups), never a request's user."""
    pk = order_id if order_id is not None else gift_id
    if pk is None or (line_id is not None and order_id is None):
        raise ValueError("payment_refund needs order_id (and maybe line_id) or gift_id")
    with transaction.atomic(durable=True):
        model: type[Order] | type[Gift] = Order if order_id is not None else Gift
        target = model.objects.select_for_update().filter(pk=pk).first()
        if target is None:
            raise NotFound(f"{model.__name__} {pk}")
        line = None
        if isinstance(target, Order):
            organisations = sorted(set(target.fulfilments.values_list("organisation_id", flat=True)))
            if line_id is not None:
                line = target.lines.select_related("fulfilment").filter(pk=line_id).first()
                if line is None:
                    raise NotFound(f"line {line_id} of order {pk}")
                organisations = [line.fulfilment.organisation_id]
            elif len(organisations) > 1 and actor is not None:
                # Each organisation refunds its own lines; a person never refunds another's.
                for organisation_id in organisations:
                    permission_require(actor, organisation_id, Permission.REFUND)
                raise RefundLineRequired(f"order {pk} spans {organisations}")
        else:
            organisations = [
                Campaign.objects.filter(pk=target.campaign_id).values_list("organisation_id", flat=True)[0]
            ]
        # A member whose role may not refund is told so (403); anyone else gets the answer of a
        # missing payment (404): another organisation's ids are not a hint. No actor: Trëmma
        # applying a rule (a purchase never collected), not a person.
        if actor is not None:
            permission_require(actor, organisations[0], Permission.REFUND)
        if target.status != PaymentStatus.PAID or not target.provider_payment_id:
            raise RefundRefused(f"{payment_ref(target)} is {target.status}")
        if target.provider == COUNTER_PROVIDER:
            raise CounterRefundRefused(f"{payment_ref(target)} was taken at the counter")
        remaining = refundable_cents(target, line=line)
        amount = remaining if amount_cents is None else amount_cents
        if not 0 < amount <= remaining:
            raise RefundTooLarge(f"{amount} of {remaining} for {payment_ref(target)} line {line_id}")
        # A gift refunded in whole gives its tip back too, in the same refund (the giver gets all they
        # paid; the ledger debits the tips account when the provider confirms). A partial refund leaves it.
        tip_back = target.tip_cents if isinstance(target, Gift) and amount == remaining else 0
        refund = Refund.objects.create(
            amount_cents=amount, reason=reason[:300], actor=actor, line=line, **payment_of(target)
        )
        audit_record(
            organisation_id=organisations[0],
            actor=actor,
            action=AuditEntry.Action.REFUND,
            subject=payment_ref(target),
            details={
                "refund": refund.pk,
                **({"line": line.pk, "item": line.item_id} if line is not None else {}),
                "amount_cents": amount,
                "whole": amount == (line.amount_cents if line is not None else target.amount_cents),
                "reason": refund.reason,
                **({"tip_cents": tip_back} if tip_back else {}),
            },
        )
    # After commit: the provider is never called while rows are locked, and
    # the recorded row gives the idempotency key of any retry.
    try:
        provider_refund_id = gateway().refund_create(
            payment_id=target.provider_payment_id,
            amount_cents=amount + tip_back,
            idempotency_key=f"tremma-refund-{refund.pk}",
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
    gifts = Gift.objects.filter(
        status=PaymentStatus.PAID, transfer_id="", campaign__organisation_id=organisation_id
    ).exclude(provider=COUNTER_PROVIDER)
    fulfilments = Fulfilment.objects.filter(
        order__status=PaymentStatus.PAID, handed_over_at__isnull=False, transfer_id="", organisation_id=organisation_id
    ).exclude(order__provider=COUNTER_PROVIDER)
    done = 0
    for gift_id in gifts.order_by("id").values_list("id", flat=True)[:limit]:
        gift_transfer(gift_id=gift_id)
        done += 1
    for fulfilment_id in fulfilments.order_by("id").values_list("id", flat=True)[: max(limit - done, 0)]:
        fulfilment_transfer(fulfilment_id=fulfilment_id)
        done += 1
    return done
