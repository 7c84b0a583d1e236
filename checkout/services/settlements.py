"""What happens to the money after a payment, besides the ledger: the record
of each transfer to an organisation, the reversal of a transfer after a
refund or a lost dispute, and the provider's fee on each payment.

Who bears the provider's fees — the rule: **the platform does.** The price
of an object, or a gift, goes entirely to its campaign, and the organisation
receives the whole amount by transfer; the fee Stripe takes on each payment
is the platform's cost. It is recorded here (``PaymentFee``) for the
treasurer's statement, never deducted from a transfer. Stripe does not give
the fee back when a payment is refunded, so a refunded payment still costs
the platform its fee: the row stays, and the statement says so.

Reversals follow one rule, so they can be retried safely at any time: what
was transferred for a payment, less what was already reversed, must not
exceed what the organisation keeps of it (credited, less refunds and lost
disputes). A refund before the transfer is already out of the transfer's
amount, so it needs none. The idempotency key names the cumulative amount
reversed on the transfer, and both it and the provider's id are unique in
``TransferReversal``: a replayed event or two workers never reverse twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from campaigns.models import Campaign
from checkout.services.targets import PAYMENT_MODELS, payment_kind, payment_of
from donations.models import Fulfilment, Gift, Order
from kernel.money import CURRENCY
from kernel.tasks import task, task_enqueue
from ledger.models import LedgerEntry, PaymentFee, Transfer, TransferReversal
from payments import gateways as gw
from payments.gateways import GatewayError, gateway
from payments.models import ProviderEvent

logger = logging.getLogger(__name__)

# How long the worker keeps retrying a reversal or a fee that could not be done at once.
RETRY_WINDOW = timedelta(days=90)
# --- Transfers ----------------------------------------------------------------------------------


def _kept_cents(target: Order | Gift, *, fulfilment: Fulfilment | None = None) -> int:
    """What the organisation keeps of a payment (of an order: of its ``fulfilment``'s lines):
    its credit, less refunds and lost disputes. An open dispute is not counted yet: the transfer
    is reversed only if the dispute is lost."""
    # The campaign's money only: a gift's tip is Trëmma's, never transferred, never reversed.
    entries = LedgerEntry.objects.filter(account=LedgerEntry.Account.CAMPAIGN, **payment_of(target))
    if fulfilment is not None:
        entries = entries.filter(order_line__fulfilment=fulfilment)
    lost = set(
        ProviderEvent.objects.filter(
            type=gw.DISPUTE_CLOSED, payment_id=target.provider_payment_id, event__dispute_status="lost"
        ).values_list("event__dispute_id", flat=True)
    )
    kept = 0
    for reason, key, amount in entries.values_list("reason", "key", "amount_cents"):
        lost_dispute = reason == LedgerEntry.Reason.DISPUTE and key.rsplit(":", 1)[-1] in lost
        if reason == LedgerEntry.Reason.PAYMENT:
            kept += amount
        elif reason == LedgerEntry.Reason.REFUND or lost_dispute:
            kept -= amount
    return max(kept, 0)


@task(timeout=120)
def transfer_reverse_due(*, kind: str, object_id: int) -> int:
    """Reverse what was transferred for a gift, or for each organisation's part of an
    order, beyond what that organisation keeps of it (after commit, and from the
    worker). Returns the cents reversed now."""
    target = PAYMENT_MODELS[kind].objects.get(pk=object_id)
    if isinstance(target, Order):
        fulfilments = list(target.fulfilments.filter(transfers__isnull=False).distinct().order_by("pk"))
        return sum(_reverse_due(target, fulfilment=fulfilment) for fulfilment in fulfilments)
    return _reverse_due(target)


def _reverse_due(target: Order | Gift, *, fulfilment: Fulfilment | None = None) -> int:
    provider = gateway()
    # Only the configured provider can reverse its own transfers (never a demo transfer at Stripe).
    transfers = Transfer.objects.filter(provider=provider.name, **payment_of(target))
    if fulfilment is not None:
        transfers = transfers.filter(fulfilment=fulfilment)
    transfers_left = list(transfers.annotate(reversed_cents=Sum("reversals__amount_cents")).order_by("-id"))
    outstanding = sum(t.amount_cents - (t.reversed_cents or 0) for t in transfers_left)
    due = outstanding - _kept_cents(target, fulfilment=fulfilment)
    done = 0
    for transfer in transfers_left:  # one per payment (or part of an order) in practice; the newest first otherwise
        already = transfer.reversed_cents or 0
        part = min(due - done, transfer.amount_cents - already)
        if part <= 0:
            continue
        key = f"tremma-transfer-{transfer.pk}-reversed-{already + part}"
        try:
            reversal = provider.transfer_reverse(
                transfer_id=transfer.provider_transfer_id, amount_cents=part, idempotency_key=key
            )
        except GatewayError:
            logger.exception("payments: reversal of transfer %s failed; the worker retries it", transfer.pk)
            break
        try:
            with transaction.atomic():
                TransferReversal.objects.create(
                    transfer=transfer, provider_reversal_id=reversal.id, key=key, amount_cents=reversal.amount_cents
                )
        except IntegrityError:
            logger.info("payments: reversal %s of transfer %s was already recorded", reversal.id, transfer.pk)
            break
        done += reversal.amount_cents
    return done


def transfer_reverse_after_commit(target: Order | Gift) -> None:
    """Called by event processing (a refund, a lost dispute): reverse what is due once the ledger is committed."""
    kind, object_id = payment_kind(target), target.pk
    # A task recorded with the event: a provider that fails there never fails the event; the task retries.
    task_enqueue(transfer_reverse_due, kind=kind, object_id=object_id)


@task(timeout=240)
def transfer_reversals_pay(*, limit: int = 200) -> int:
    """Periodic job: reversals not done yet (provider down, or a refund that
    crossed its transfer). Looks at transferred payments with a recent debit
    or dispute closure. Returns the cents reversed."""
    cutoff = timezone.now() - RETRY_WINDOW
    closed = ProviderEvent.objects.filter(type=gw.DISPUTE_CLOSED, received_at__gte=cutoff).values("payment_id")
    recent = Q(ledger_entries__kind=LedgerEntry.Kind.DEBIT, ledger_entries__created_at__gte=cutoff) | Q(
        provider_payment_id__in=closed
    )
    reversed_cents = 0
    for kind, model in PAYMENT_MODELS.items():
        candidates = model.objects.filter(recent, transfers__isnull=False).distinct().order_by("-id")
        for object_id in candidates.values_list("id", flat=True)[:limit]:
            reversed_cents += transfer_reverse_due(kind=kind, object_id=object_id)
    return reversed_cents


# --- Fees ---------------------------------------------------------------------------------------


@task(timeout=120)
def payment_fee_record(*, kind: str, object_id: int) -> PaymentFee | None:
    """Read and record the provider's fee of a payment, once; None when it is
    not known yet (the worker retries) or was already recorded."""
    target = PAYMENT_MODELS[kind].objects.get(pk=object_id)
    provider = gateway()
    if not target.provider_payment_id or target.provider != provider.name:
        return None
    try:
        fee = provider.payment_fee(target.provider_payment_id)
    except GatewayError:
        logger.warning("payments: fee of %s %s not read; the worker retries", kind, object_id, exc_info=True)
        return None
    if fee is None:
        return None
    if fee.currency != CURRENCY:
        logger.error("payments: fee of %s %s is in %s; not recorded", kind, object_id, fee.currency)
        return None
    try:
        with transaction.atomic():
            return PaymentFee.objects.create(
                organisation_id=_fee_organisation_id(target),
                provider=provider.name,
                provider_balance_id=fee.balance_id,
                amount_cents=fee.amount_cents,
                **payment_of(target),
            )
    except IntegrityError:
        return None


def _fee_organisation_id(target: Order | Gift) -> int:
    """The organisation whose statement shows the fee (the platform bears it): a gift's, or an
    order's first organisation (a basket of several organisations is paid with one fee)."""
    if isinstance(target, Gift):
        return Campaign.objects.filter(pk=target.campaign_id).values_list("organisation_id", flat=True)[0]
    return target.fulfilments.order_by("pk").values_list("organisation_id", flat=True)[0]


def payment_fee_after_commit(target: Order | Gift) -> None:
    """Called when a payment is received: its fee is read once the payment is committed."""
    kind, object_id = payment_kind(target), target.pk
    task_enqueue(payment_fee_record, kind=kind, object_id=object_id)


@task(timeout=240)
def payment_fees_record(*, limit: int = 200) -> int:
    """Periodic job: the fees of recent payments not recorded yet. Returns how many were recorded."""
    cutoff = timezone.now() - RETRY_WINDOW
    recorded = 0
    for kind, model in PAYMENT_MODELS.items():
        missing = model.objects.filter(
            provider=gateway().name, created_at__gte=cutoff, provider_fee__isnull=True
        ).exclude(provider_payment_id="")
        for object_id in missing.order_by("id").values_list("id", flat=True)[:limit]:
            recorded += payment_fee_record(kind=kind, object_id=object_id) is not None
    return recorded
