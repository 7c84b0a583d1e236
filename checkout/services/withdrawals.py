"""The buyer's withdrawal from a distance sale (droit de rétractation), for parcels.

The rule, as the terms of sale (/conditions/#retractation) state it:

- Within WITHDRAWAL_DAYS of its delivery, the buyer of a delivered parcel may
  withdraw from some or all of its objects, from their order page, without a reason.
- They send the objects back themselves, at their own cost, to the organisation's
  address (a private giver's parcel comes back to the organisation too: no buyer
  learns a giver's address, and no giver a buyer's).
- Once the organisation confirms it has them, their prices are refunded, and the
  parcel's shipping too when every object of the parcel comes back; the objects
  are withdrawn from sale (they left with a buyer, as any refund after a hand-over).
- While a withdrawal is open, its objects' sale is not final: no seller's tax
  receipt. Closed without a return (the objects never came back), the sale's
  return period starts again from that day (receipts.issuing and
  receipts.selectors read ``Withdrawal``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from checkout.parcel_emails import parcel_news_send
from checkout.services.parcels import parcel_refund
from donations.models import (
    WITHDRAWAL_TRANSITIONS,
    Fulfilment,
    Order,
    OrderLine,
    PaymentStatus,
    ShipmentStatus,
    Withdrawal,
    WithdrawalStatus,
)
from kernel.errors import Conflict, DomainError, NotFound
from kernel.states import transition_apply
from kernel.tasks import task, task_enqueue

# What the refund rows say (managers read them); in French, as the organisation's books are.
WITHDRAWAL_REFUND_REASON = "Rétractation : objet rendu, remboursé"


class WithdrawalClosed(Conflict):
    code = "withdrawal_closed"
    default_detail = _("Le délai de rétractation est passé : il court %(days)d jours après la livraison.")


class WithdrawalLinesInvalid(DomainError):
    code = "invalid"
    field = "lines"
    default_detail = _("Choisissez au moins un objet de ce colis qui n'est ni remboursé ni déjà en cours de retour.")


def withdrawal_deadline(fulfilment: Fulfilment) -> datetime | None:
    """Until when the buyer may withdraw: WITHDRAWAL_DAYS after the parcel's delivery."""
    if fulfilment.delivered_at is None:
        return None
    return fulfilment.delivered_at + timedelta(days=settings.WITHDRAWAL_DAYS)


def withdrawable_lines(fulfilment: Fulfilment) -> list[OrderLine]:
    """The lines of a delivered parcel the buyer may still withdraw from (none past the deadline)."""
    deadline = withdrawal_deadline(fulfilment)
    if (
        deadline is None
        or fulfilment.shipment_status != ShipmentStatus.DELIVERED
        or fulfilment.order.status != PaymentStatus.PAID
        or timezone.now() > deadline
    ):
        return []
    taken = Withdrawal.objects.filter(fulfilment=fulfilment).exclude(status=WithdrawalStatus.CANCELLED)
    return list(
        fulfilment.lines.select_related("item").filter(refunded_cents=0).exclude(withdrawals__in=taken).order_by("pk")
    )


def withdrawal_request(*, fulfilment: Fulfilment, line_ids: Iterable[int], reason: str = "") -> Withdrawal:
    """The buyer withdraws from ``line_ids`` of a delivered parcel: recorded, and the buyer told
    where to send the objects. Past the deadline: ``WithdrawalClosed``; lines not of this parcel,
    refunded, or already on their way back: ``WithdrawalLinesInvalid`` (nothing recorded)."""
    wanted = set(line_ids)
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=fulfilment.order_id)
        locked = Fulfilment.objects.select_for_update().select_related("order").get(pk=fulfilment.pk)
        deadline = withdrawal_deadline(locked)
        if deadline is not None and timezone.now() > deadline:
            raise WithdrawalClosed(
                f"fulfilment {locked.pk} delivered {locked.delivered_at}",
                detail=WithdrawalClosed.default_detail % {"days": settings.WITHDRAWAL_DAYS},
            )
        allowed = {line.pk: line for line in withdrawable_lines(locked)}
        if not allowed and deadline is None:
            raise WithdrawalClosed(
                f"fulfilment {locked.pk} is {locked.shipment_status}",
                detail=_("Ce colis n'est pas encore livré : la rétractation s'ouvre à sa livraison."),
            )
        if not wanted or not wanted <= set(allowed):
            raise WithdrawalLinesInvalid(f"lines {sorted(wanted)} of fulfilment {locked.pk}")
        withdrawal = Withdrawal.objects.create(fulfilment=locked, reason=reason.strip()[:500])
        withdrawal.lines.set([allowed[pk] for pk in sorted(wanted)])
        task_enqueue(
            parcel_news_send, fulfilment_id=locked.pk, news="withdrawal_requested", withdrawal_id=withdrawal.pk
        )
    return withdrawal


def _withdrawal_close(*, withdrawal_id: int, actor: User, to: WithdrawalStatus) -> Withdrawal:
    with transaction.atomic():
        withdrawal = Withdrawal.objects.select_related("fulfilment").filter(pk=withdrawal_id).first()
        if withdrawal is None:
            raise NotFound(f"withdrawal {withdrawal_id}")
        # Another organisation's withdrawal answers as a missing one.
        permission_require(actor, withdrawal.fulfilment.organisation_id, Permission.HAND_OVER)
        now = timezone.now()
        transition_apply(
            model=Withdrawal,
            pk=withdrawal.pk,
            table=WITHDRAWAL_TRANSITIONS,
            current=withdrawal.status,
            to=to,
            closed_at=now,
            closed_by=actor,
        )
        withdrawal.status, withdrawal.closed_at = to, now
        fulfilment = withdrawal.fulfilment
        line_ids = list(withdrawal.lines.order_by("pk").values_list("pk", flat=True))
        audit_record(
            organisation_id=fulfilment.organisation_id,
            actor=actor,
            action=(
                AuditEntry.Action.WITHDRAWAL_RECEIVED
                if to == WithdrawalStatus.RECEIVED
                else AuditEntry.Action.WITHDRAWAL_CANCELLED
            ),
            subject=f"commande {fulfilment.order_id}",
            details={"withdrawal": withdrawal.pk, "fulfilment": fulfilment.pk, "lines": line_ids},
        )
        if to == WithdrawalStatus.RECEIVED:
            whole = set(line_ids) == set(fulfilment.lines.values_list("pk", flat=True))
            task_enqueue(
                withdrawal_refund_task,
                withdrawal_id=withdrawal.pk,
                include_shipping=whole,
            )
            task_enqueue(
                parcel_news_send, fulfilment_id=fulfilment.pk, news="withdrawal_refunded", withdrawal_id=withdrawal.pk
            )
    return withdrawal


def withdrawal_receive(*, withdrawal_id: int, actor: User) -> Withdrawal:
    """The organisation has the objects back: the withdrawal's lines are refunded (the parcel's
    shipping too when all its objects came back), in the audit trail, and the buyer told."""
    return _withdrawal_close(withdrawal_id=withdrawal_id, actor=actor, to=WithdrawalStatus.RECEIVED)


def withdrawal_cancel(*, withdrawal_id: int, actor: User) -> Withdrawal:
    """The objects never came back: the withdrawal is closed without a refund, and their sale's
    return period starts again from today (then the seller's receipt)."""
    return _withdrawal_close(withdrawal_id=withdrawal_id, actor=actor, to=WithdrawalStatus.CANCELLED)


@task(timeout=120)
def withdrawal_refund_task(*, withdrawal_id: int, include_shipping: bool) -> None:
    """Refund a received withdrawal's lines (and the parcel's shipping when ``include_shipping``)."""
    withdrawal = Withdrawal.objects.get(pk=withdrawal_id)
    if withdrawal.status != WithdrawalStatus.RECEIVED:
        return
    parcel_refund(
        fulfilment_id=withdrawal.fulfilment_id,
        include_shipping=include_shipping,
        reason=WITHDRAWAL_REFUND_REASON,
        line_ids=list(withdrawal.lines.values_list("pk", flat=True)),
    )
