"""Reads of the managers' orders page (``/gestion/commandes/``): the orders and
gifts of the organisations a person manages, newest first and filtered, each
with its state; one order or gift with its history. Every read is scoped by
``campaigns.selectors.organisations_user_may`` (the ORDERS permission): another organisation's
payment is never found."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Campaign
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from checkout.services import refundable_cents
from donations.models import Gift, Order, PaymentStatus, Refund, Reservation
from kernel.money import format_money as _format_money
from ledger.models import LedgerEntry, Transfer, TransferReversal
from receipts.models import TaxReceipt, TaxReceiptLine

KINDS = {"order": Order, "gift": Gift}

# ``(kind, id, created_at)`` of orders and gifts, one union query.
PaymentKeys = QuerySet[Any, dict[str, Any]]

# The states a manager filters on (``?status=``), in the page's words.
STATUS_CHOICES = [
    ("held", gettext_lazy("Réservé, en attente de paiement")),
    ("pending", gettext_lazy("En attente de paiement")),
    ("paid", gettext_lazy("Payé")),
    ("partially_refunded", gettext_lazy("Partiellement remboursé")),
    ("refunded", gettext_lazy("Remboursé")),
    ("failed", gettext_lazy("Échoué ou expiré")),
    ("to_hand_over", gettext_lazy("Payé, objet à remettre")),
    ("handed_over", gettext_lazy("Objet remis")),
]


def _status_filter(status: str, kind: str) -> Q | None:
    """The rows of ``kind`` in ``status``; None when no row of that kind can be (a gift is never handed over)."""
    if status == "held":
        return Q(status=PaymentStatus.PENDING, reservation__status=Reservation.Status.HELD) if kind == "order" else None
    if status == "to_hand_over":
        return Q(status=PaymentStatus.PAID, handed_over_at__isnull=True) if kind == "order" else None
    if status == "handed_over":
        return Q(handed_over_at__isnull=False) if kind == "order" else None
    return {
        "pending": Q(status=PaymentStatus.PENDING),
        "paid": Q(status=PaymentStatus.PAID),
        "partially_refunded": Q(status=PaymentStatus.PAID, refunded_cents__gt=0),
        "refunded": Q(status=PaymentStatus.REFUNDED),
        "failed": Q(status__in=[PaymentStatus.FAILED, PaymentStatus.EXPIRED]),
    }[status]


def _search(q: str, kind: str) -> Q:
    """Email, claim code (its case, spaces and dashes forgiven), the object's title or the giver's name."""
    words = Q(email__icontains=q)
    if kind == "order":
        words |= Q(item__title__icontains=q)
        code = "".join(q.split()).replace("-", "")
        if code and code.isascii() and code.isalnum():
            words |= Q(claim_code__contains=code.upper())
    else:
        words |= Q(name__icontains=q)
    return words


def payments_managed(
    *,
    user: User,
    kind: str = "",
    status: str = "",
    campaign: Campaign | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: str = "",
) -> PaymentKeys:
    """``(kind, id, created_at)`` of the orders and gifts ``user`` manages, filtered, newest first:
    one union query, which pagination counts and slices. ``date_from`` and ``date_to`` are days
    in Europe/Paris, both included. ``payment_rows`` turns a page of it into rows."""
    organisations = organisations_user_may(user, Permission.ORDERS)
    parts = []
    for name, model in KINDS.items():
        if kind and kind != name:
            continue
        rows = model.objects.filter(campaign__organisation__in=organisations)  # type: ignore[attr-defined]
        if status:
            condition = _status_filter(status, name)
            if condition is None:
                continue
            rows = rows.filter(condition)
        if campaign is not None:
            rows = rows.filter(campaign=campaign)
        if date_from is not None:
            rows = rows.filter(created_at__date__gte=date_from)
        if date_to is not None:
            rows = rows.filter(created_at__date__lte=date_to)
        if q:
            rows = rows.filter(_search(q, name))
        kinded = rows.annotate(kind=Value(name, output_field=CharField())).order_by()
        parts.append(kinded.values("kind", "id", "created_at"))
    if not parts:
        return (
            Order.objects.none().annotate(kind=Value("", output_field=CharField())).values("kind", "id", "created_at")
        )
    first, *others = parts
    combined = first.union(*others, all=True) if others else first
    return combined.order_by("-created_at", "-id")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PaymentRow:
    """One order or gift as the list and the export show it."""

    kind: str
    payment: Order | Gift
    receipt_issued: bool

    @property
    def is_order(self) -> bool:
        return self.kind == "order"

    @property
    def state(self) -> str:
        return payment_state(self.payment)

    @property
    def hand_over(self) -> str:
        return hand_over_state(self.payment)

    @property
    def title(self) -> str:
        """The object sold, or the words a gift stands for."""
        if isinstance(self.payment, Order):
            return self.payment.item.title
        return _("Don")

    @property
    def who(self) -> str:
        """The giver's name as they gave it (a manager sees it, anonymous or not), else nothing."""
        return self.payment.name if isinstance(self.payment, Gift) else ""


STATE_LABELS = {
    "held": gettext_lazy("Réservé, en attente de paiement"),
    "pending": gettext_lazy("En attente de paiement"),
    "paid": gettext_lazy("Payé"),
    "partially_refunded": gettext_lazy("Partiellement remboursé"),
    "refunded": gettext_lazy("Remboursé"),
    "failed": gettext_lazy("Échoué"),
    "expired": gettext_lazy("Expiré"),
}


def payment_state_key(payment: Order | Gift) -> str:
    """Where its payment stands: held, pending, paid, partially_refunded, refunded, failed or expired."""
    if payment.status == PaymentStatus.PENDING and isinstance(payment, Order):
        reservation = getattr(payment, "reservation", None)
        if reservation is not None and reservation.status == Reservation.Status.HELD:
            return "held"
    if payment.status == PaymentStatus.PAID and payment.refunded_cents:
        return "partially_refunded"
    return str(payment.status)


def payment_state(payment: Order | Gift) -> str:
    """Its payment in words: held, waiting, paid, refunded in part (how much) or in whole, failed."""
    key = payment_state_key(payment)
    if key == "partially_refunded":
        return _("Partiellement remboursé (%(amount)s)") % _amount(payment.refunded_cents)
    return str(STATE_LABELS[key])


def hand_over_state(payment: Order | Gift) -> str:
    """For a sale: handed over, or waiting to be collected; nothing for a gift or an unpaid order."""
    if not isinstance(payment, Order):
        return ""
    if payment.handed_over_at is not None:
        return _("Remis")
    if payment.status == PaymentStatus.PAID:
        return _("À remettre")
    return ""


def _receipt_issued(field: str) -> Exists:
    return Exists(
        TaxReceiptLine.objects.filter(**{field: OuterRef("pk")}, active=True, receipt__status=TaxReceipt.Status.ISSUED)
    )


def payment_rows(keys: Iterable[dict[str, object]]) -> list[PaymentRow]:
    """The rows of a page of ``payments_managed``, in its order (two queries)."""
    keys = list(keys)
    ids: dict[str, list[int]] = {"order": [], "gift": []}
    for key in keys:
        ids[str(key["kind"])].append(int(key["id"]))  # type: ignore[call-overload]
    found: dict[tuple[str, int], tuple[Order | Gift, bool]] = {}
    if ids["order"]:
        orders = (
            Order.objects.filter(pk__in=ids["order"])
            .select_related("item", "campaign__organisation", "reservation")
            .annotate(receipt_issued=_receipt_issued("order"))
        )
        for order in orders:
            found["order", order.pk] = (order, order.receipt_issued)
    if ids["gift"]:
        gifts = (
            Gift.objects.filter(pk__in=ids["gift"])
            .select_related("campaign__organisation")
            .annotate(receipt_issued=_receipt_issued("gift"))
        )
        for gift in gifts:
            found["gift", gift.pk] = (gift, gift.receipt_issued)
    rows = []
    for key in keys:
        kind, pk = str(key["kind"]), int(key["id"])  # type: ignore[call-overload]
        if (kind, pk) in found:
            payment, issued = found[kind, pk]
            rows.append(PaymentRow(kind=kind, payment=payment, receipt_issued=issued))
    return rows


def payment_rows_all(keys: PaymentKeys, *, chunk: int = 500) -> Iterator[PaymentRow]:
    """Every row of ``payments_managed``, a chunk at a time (the export)."""
    batch: list[dict[str, object]] = []
    for key in keys.iterator(chunk_size=chunk):
        batch.append(key)
        if len(batch) == chunk:
            yield from payment_rows(batch)
            batch = []
    if batch:
        yield from payment_rows(batch)


def payment_managed(*, user: User, kind: str, pk: int) -> Order | Gift | None:
    """One order or gift of an organisation ``user`` manages (any one for a superuser,
    as ``user_may`` with ORDERS says), or None: another organisation's is not found either."""
    model = KINDS[kind]
    related = ("item", "campaign__organisation", "reservation") if kind == "order" else ("campaign__organisation",)
    rows = model.objects.select_related(*related).filter(pk=pk)  # type: ignore[attr-defined]
    if not user.is_superuser:
        rows = rows.filter(campaign__organisation__in=organisations_user_may(user, Permission.ORDERS))
    return rows.first()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    text: str
    note: str = ""


def payment_history(payment: Order | Gift) -> list[HistoryLine]:
    """What happened to an order or a gift, oldest first: created, held, paid, the ledger's entries,
    refunds asked (who, how much, why, how it went), hand-over, transfers and their reversals,
    tax receipts issued or cancelled."""
    of: dict[str, Order | Gift] = {"order": payment} if isinstance(payment, Order) else {"gift": payment}
    lines: list[HistoryLine] = []
    if isinstance(payment, Order):
        lines.append(HistoryLine(payment.created_at, _("Commande passée, objet réservé")))
        reservation = getattr(payment, "reservation", None)
        if reservation is not None and reservation.released_at is not None:
            lines.append(HistoryLine(reservation.released_at, _("Réservation libérée")))
    else:
        lines.append(HistoryLine(payment.created_at, _("Don commencé")))
    if payment.paid_at is not None:
        lines.append(HistoryLine(payment.paid_at, _("Paiement reçu : %(amount)s") % _amount(payment.amount_cents)))
    for entry in LedgerEntry.objects.filter(**of).order_by("id"):
        sign = "" if entry.kind == LedgerEntry.Kind.CREDIT else "-"
        lines.append(
            HistoryLine(
                entry.created_at,
                _("Écriture : %(reason)s, %(amount)s")
                % {"reason": entry.get_reason_display(), "amount": sign + format_money(entry.amount_cents)},
            )
        )
    for refund in Refund.objects.filter(**of).select_related("actor").order_by("id"):
        who = refund.actor.email if refund.actor else _("un compte supprimé")
        lines.append(
            HistoryLine(
                refund.created_at,
                _("Remboursement de %(amount)s demandé par %(who)s (%(status)s)")
                % {"amount": format_money(refund.amount_cents), "who": who, "status": refund.get_status_display()},
                note=refund.reason,
            )
        )
    if isinstance(payment, Order) and payment.handed_over_at is not None:
        lines.append(HistoryLine(payment.handed_over_at, _("Objet remis à l'acheteur")))
    for transfer in Transfer.objects.filter(**of).order_by("id"):
        lines.append(
            HistoryLine(
                transfer.created_at, _("Virement à l'organisation : %(amount)s") % _amount(transfer.amount_cents)
            )
        )
    for reversal in TransferReversal.objects.filter(**{f"transfer__{key}": value for key, value in of.items()}):
        lines.append(
            HistoryLine(reversal.created_at, _("Reprise sur le virement : %(amount)s") % _amount(reversal.amount_cents))
        )
    receipts = TaxReceipt.objects.filter(**{f"lines__{key}": value for key, value in of.items()}).distinct()
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
    return sorted(lines, key=lambda line: line.at)


def format_money(cents: int) -> str:
    """An amount in the page's language."""
    return _format_money(cents, "EUR", get_language() or "fr")


def _amount(cents: int) -> dict[str, str]:
    return {"amount": format_money(cents)}


def payment_refundable(payment: Order | Gift) -> int:
    """What may still be refunded now (0 unless paid): what the refund form offers."""
    if payment.status != PaymentStatus.PAID or not payment.provider_payment_id:
        return 0
    return refundable_cents(payment)
