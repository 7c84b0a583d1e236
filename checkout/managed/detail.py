"""One order or gift on the managers' orders page: the parts of an order a
person manages (their lines, what may still be refunded of each), its history
as far as those parts go, and a gift's history and refundable amount."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from checkout.managed.rows import lines_shown, managed_organisations
from checkout.managed.states import (
    format_money,
    gift_state_key,
    hand_over_words,
    lines_state_key,
    part_hand_over_key,
    state_words,
)
from checkout.services import refundable_cents
from donations.models import Fulfilment, Gift, Order, OrderLine, PaymentStatus, Refund, Reservation
from ledger.models import LedgerEntry, Transfer, TransferReversal
from receipts.models import TaxReceipt


def payment_managed(*, user: User, kind: str, pk: int) -> Order | Gift | None:
    """One order with a part at an organisation ``user`` manages, or one gift of such an
    organisation (any one for a superuser, as ``user_may`` with ORDERS says), or None:
    another organisation's is not found either."""
    if kind == "order":
        orders = Order.objects.filter(pk=pk)
        if not user.is_superuser:
            orders = orders.filter(
                Exists(Fulfilment.objects.filter(order=OuterRef("pk"), organisation__in=managed_organisations(user)))
            )
        return orders.first()
    gifts = Gift.objects.select_related("campaign__organisation").filter(pk=pk)
    if not user.is_superuser:
        gifts = gifts.filter(campaign__organisation__in=managed_organisations(user))
    return gifts.first()


@dataclass(frozen=True)
class ManagedLine:
    """One line of an order as its manager's page shows it, with what may still be refunded of it."""

    line: OrderLine
    state: str
    refundable_cents: int


@dataclass(frozen=True)
class ManagedPart:
    """One organisation's part of an order (a fulfilment) and its lines, as its manager's page shows it."""

    fulfilment: Fulfilment
    lines: tuple[ManagedLine, ...]
    hand_over: str


def order_parts_managed(*, user: User, order: Order) -> list[ManagedPart]:
    """The parts of ``order`` at the organisations ``user`` manages (all of them for a
    superuser), each with its lines and what may still be refunded of each."""
    fulfilments = order.fulfilments.select_related("organisation").order_by("id")
    if not user.is_superuser:
        fulfilments = fulfilments.filter(organisation__in=managed_organisations(user))
    held = order.reservations.filter(status=Reservation.Status.HELD).exists()
    refundable = order.status == PaymentStatus.PAID and bool(order.provider_payment_id)
    parts = []
    for fulfilment in fulfilments.prefetch_related(Prefetch("lines", queryset=lines_shown())):
        fulfilment.order = order
        own = list(fulfilment.lines.all())
        shown = []
        for line in own:
            # As payment_refund reckons it: the order's refunds asked, shared among its lines.
            remaining = refundable_cents(order, line=line) if refundable else 0
            key = lines_state_key(order, [line], held=held)
            shown.append(ManagedLine(line, state_words(key, line.refunded_cents), remaining))
        parts.append(ManagedPart(fulfilment, tuple(shown), hand_over_words(part_hand_over_key(fulfilment, own))))
    return parts


def parts_state(order: Order, parts: Sequence[ManagedPart]) -> str:
    """The state of the managed parts of an order together, in words."""
    lines = [managed.line for part in parts for managed in part.lines]
    held = order.reservations.filter(status=Reservation.Status.HELD).exists()
    return state_words(lines_state_key(order, lines, held=held), sum(line.refunded_cents for line in lines))


def gift_state(gift: Gift) -> str:
    return state_words(gift_state_key(gift), gift.refunded_cents)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    text: str
    note: str = ""


def order_history(order: Order, parts: Sequence[ManagedPart]) -> list[HistoryLine]:
    """What happened to the managed parts of an order, oldest first: created, holds released,
    paid (their amount), the ledger's entries about their lines, refunds asked of their lines
    (who, how much, why, how it went), hand-overs, transfers and their reversals, tax receipts
    issued or cancelled. Another organisation's lines, amounts and refunds are left out; a
    refund of the whole order shows only to whoever manages every part of it."""
    fulfilments = [part.fulfilment for part in parts]
    lines = [managed.line for part in parts for managed in part.lines]
    items = [line.item_id for line in lines]
    amount = sum(line.amount_cents for line in lines)
    history: list[HistoryLine] = [
        HistoryLine(
            order.created_at,
            ngettext(
                "Commande passée, %(count)s objet réservé", "Commande passée, %(count)s objets réservés", len(lines)
            )
            % {"count": len(lines)},
        )
    ]
    released = order.reservations.filter(item_id__in=items, released_at__isnull=False).order_by("released_at")
    if (first := released.first()) is not None and first.released_at is not None:
        history.append(HistoryLine(first.released_at, _("Réservation libérée")))
    if order.paid_at is not None:
        history.append(HistoryLine(order.paid_at, _("Paiement reçu : %(amount)s") % _amount(amount)))
    for entry in LedgerEntry.objects.filter(order_line__in=lines).order_by("id"):
        sign = "" if entry.kind == LedgerEntry.Kind.CREDIT else "-"
        history.append(
            HistoryLine(
                entry.created_at,
                _("Écriture : %(reason)s, %(amount)s")
                % {"reason": entry.get_reason_display(), "amount": sign + format_money(entry.amount_cents)},
            )
        )
    refunds = Refund.objects.filter(line__in=lines)
    if len(fulfilments) == order.fulfilments.count():
        refunds = Refund.objects.filter(Q(line__in=lines) | Q(order=order, line__isnull=True))
    for refund in refunds.select_related("actor", "line__item").order_by("id"):
        who = refund.actor.email if refund.actor else _("un compte supprimé")
        words = {"amount": format_money(refund.amount_cents), "who": who, "status": refund.get_status_display()}
        if refund.line is not None:
            text = _("Remboursement de %(amount)s (« %(title)s ») demandé par %(who)s (%(status)s)") % {
                **words,
                "title": refund.line.item.title,
            }
        else:
            text = _("Remboursement de %(amount)s demandé par %(who)s (%(status)s)") % words
        history.append(HistoryLine(refund.created_at, text, note=refund.reason))
    for fulfilment in fulfilments:
        if fulfilment.handed_over_at is not None:
            history.append(
                HistoryLine(
                    fulfilment.handed_over_at,
                    _("Objets de %(organisation)s remis à l'acheteur") % {"organisation": fulfilment.organisation.name},
                )
            )
    for transfer in Transfer.objects.filter(fulfilment__in=fulfilments).order_by("id"):
        history.append(
            HistoryLine(
                transfer.created_at, _("Virement à l'organisation : %(amount)s") % _amount(transfer.amount_cents)
            )
        )
    for reversal in TransferReversal.objects.filter(transfer__fulfilment__in=fulfilments).order_by("id"):
        history.append(
            HistoryLine(reversal.created_at, _("Reprise sur le virement : %(amount)s") % _amount(reversal.amount_cents))
        )
    receipts = TaxReceipt.objects.filter(lines__order_line__in=lines).distinct().order_by("id")
    history.extend(_receipts_history(receipts))
    return sorted(history, key=lambda line: line.at)


def gift_history(gift: Gift) -> list[HistoryLine]:
    """What happened to a gift, oldest first: started, paid, the ledger's entries, refunds asked
    (who, how much, why, how it went), transfers and their reversals, tax receipts issued or cancelled."""
    lines: list[HistoryLine] = [HistoryLine(gift.created_at, _("Don commencé"))]
    if gift.paid_at is not None:
        lines.append(HistoryLine(gift.paid_at, _("Paiement reçu : %(amount)s") % _amount(gift.amount_cents)))
    # The campaign's entries only: a tip to Trëmma is not the organisation's money.
    for entry in LedgerEntry.objects.filter(gift=gift, account=LedgerEntry.Account.CAMPAIGN).order_by("id"):
        sign = "" if entry.kind == LedgerEntry.Kind.CREDIT else "-"
        lines.append(
            HistoryLine(
                entry.created_at,
                _("Écriture : %(reason)s, %(amount)s")
                % {"reason": entry.get_reason_display(), "amount": sign + format_money(entry.amount_cents)},
            )
        )
    for refund in Refund.objects.filter(gift=gift).select_related("actor").order_by("id"):
        who = refund.actor.email if refund.actor else _("un compte supprimé")
        lines.append(
            HistoryLine(
                refund.created_at,
                _("Remboursement de %(amount)s demandé par %(who)s (%(status)s)")
                % {"amount": format_money(refund.amount_cents), "who": who, "status": refund.get_status_display()},
                note=refund.reason,
            )
        )
    for transfer in Transfer.objects.filter(gift=gift).order_by("id"):
        lines.append(
            HistoryLine(
                transfer.created_at, _("Virement à l'organisation : %(amount)s") % _amount(transfer.amount_cents)
            )
        )
    for reversal in TransferReversal.objects.filter(transfer__gift=gift).order_by("id"):
        lines.append(
            HistoryLine(reversal.created_at, _("Reprise sur le virement : %(amount)s") % _amount(reversal.amount_cents))
        )
    lines.extend(_receipts_history(TaxReceipt.objects.filter(lines__gift=gift).distinct().order_by("id")))
    return sorted(lines, key=lambda line: line.at)


def _receipts_history(receipts: QuerySet[TaxReceipt]) -> list[HistoryLine]:
    lines = []
    for receipt in receipts:
        lines.append(HistoryLine(receipt.issued_at, _("Reçu fiscal n° %(number)s émis") % {"number": receipt.number}))
        if receipt.cancelled_at is not None:
            lines.append(
                HistoryLine(
                    receipt.cancelled_at,
                    _("Reçu fiscal n° %(number)s annulé") % {"number": receipt.number},
                    note=receipt.cancellation_reason,
                )
            )
    return lines


def gift_refundable(gift: Gift) -> int:
    """What may still be refunded of a gift now (0 unless paid): what its refund form offers."""
    if gift.status != PaymentStatus.PAID or not gift.provider_payment_id:
        return 0
    return refundable_cents(gift)


def _amount(cents: int) -> dict[str, str]:
    return {"amount": format_money(cents)}
