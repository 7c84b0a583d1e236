"""Reads of the managers' orders page (``/gestion/commandes/``): the orders and
gifts of the organisations a person manages, newest first and filtered, each
with its state; one order or gift with its history.

An order may be a basket of several organisations' items: a manager sees
their organisations' part of it only (its fulfilments, their lines, their
amounts), never another organisation's items or amounts. So a row of the list
is one fulfilment, not one order, and every amount shown is the sum of the
lines shown. Every read is scoped by
``campaigns.selectors.organisations_user_may`` (the ORDERS permission):
another organisation's payment, part or line is never found."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import (
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Campaign, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from checkout.services import refundable_cents
from donations.models import Fulfilment, Gift, Order, OrderLine, PaymentStatus, Refund, Reservation
from kernel.money import format_money as _format_money
from ledger.models import LedgerEntry, Transfer, TransferReversal
from receipts.models import TaxReceipt, TaxReceiptLine

# ``(kind, id, created_at)`` of orders' parts (fulfilments) and gifts, one union query.
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


def _managed_organisations(user: User) -> QuerySet[Organisation]:
    return organisations_user_may(user, Permission.ORDERS)


# --- Conditions on a fulfilment row (``OuterRef("pk")`` is the fulfilment) --------------------------


def _lines_where(**conditions: Any) -> Exists:
    return Exists(OrderLine.objects.filter(fulfilment=OuterRef("pk"), **conditions))


def _something_left() -> Exists:
    """A line of the part not refunded in whole: the part still counts as sold."""
    return _lines_where(refunded_cents__lt=F("amount_cents"))


def _held() -> Exists:
    """The order's items are still held (a basket's holds are taken and released together)."""
    return Exists(Reservation.objects.filter(order=OuterRef("order"), status=Reservation.Status.HELD))


def _part_status_filter(status: str) -> Q | Exists:
    """The fulfilments in ``status``, as their own lines say (a part refunded in whole is
    refunded, even while the rest of the basket stays paid)."""
    paid = Q(order__status=PaymentStatus.PAID)
    left = _something_left()
    return {
        "held": Q(order__status=PaymentStatus.PENDING) & _held(),
        "pending": Q(order__status=PaymentStatus.PENDING),
        "paid": paid & left,
        "partially_refunded": paid & left & _lines_where(refunded_cents__gt=0),
        "refunded": Q(order__status=PaymentStatus.REFUNDED) | (paid & ~left),
        "failed": Q(order__status__in=[PaymentStatus.FAILED, PaymentStatus.EXPIRED]),
        "to_hand_over": paid & left & Q(handed_over_at__isnull=True, pickup_expired_at__isnull=True),
        "handed_over": Q(handed_over_at__isnull=False),
    }[status]


def _gift_status_filter(status: str) -> Q | None:
    """The gifts in ``status``; None when no gift can be (a gift is never handed over)."""
    if status in ("held", "to_hand_over", "handed_over"):
        return None
    return {
        "pending": Q(status=PaymentStatus.PENDING),
        "paid": Q(status=PaymentStatus.PAID),
        "partially_refunded": Q(status=PaymentStatus.PAID, refunded_cents__gt=0),
        "refunded": Q(status=PaymentStatus.REFUNDED),
        "failed": Q(status__in=[PaymentStatus.FAILED, PaymentStatus.EXPIRED]),
    }[status]


def _part_search(q: str) -> Q | Exists:
    """The buyer's email, the part's claim code (its case, spaces and dashes forgiven) or one of its objects' titles."""
    words: Q | Exists = Q(order__email__icontains=q) | _lines_where(item__title__icontains=q)
    code = "".join(q.split()).replace("-", "")
    if code and code.isascii() and code.isalnum():
        words = words | Q(claim_code__contains=code.upper())
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
    """``(kind, id, created_at)`` of the orders' parts and the gifts ``user`` manages, filtered,
    newest first: one union query, which pagination counts and slices. An order's row is one
    of its fulfilments (``id`` is the fulfilment's): a basket of two organisations is a row at
    each, and a person who manages both sees both rows. ``date_from`` and ``date_to`` are days
    in Europe/Paris, both included. ``payment_rows`` turns a page of it into rows."""
    organisations = _managed_organisations(user)
    parts = []
    if kind in ("", "order"):
        fulfilments = Fulfilment.objects.filter(organisation__in=organisations)
        if status:
            fulfilments = fulfilments.filter(_part_status_filter(status))
        if campaign is not None:
            fulfilments = fulfilments.filter(_lines_where(campaign=campaign))
        if date_from is not None:
            fulfilments = fulfilments.filter(order__created_at__date__gte=date_from)
        if date_to is not None:
            fulfilments = fulfilments.filter(order__created_at__date__lte=date_to)
        if q:
            fulfilments = fulfilments.filter(_part_search(q))
        parts.append(
            fulfilments.order_by().values(
                kind=Value("order", output_field=CharField()), ref=F("id"), at=F("order__created_at")
            )
        )
    gift_status = _gift_status_filter(status) if status else Q()
    if kind in ("", "gift") and gift_status is not None:
        gifts = Gift.objects.filter(gift_status, campaign__organisation__in=organisations)
        if campaign is not None:
            gifts = gifts.filter(campaign=campaign)
        if date_from is not None:
            gifts = gifts.filter(created_at__date__gte=date_from)
        if date_to is not None:
            gifts = gifts.filter(created_at__date__lte=date_to)
        if q:
            gifts = gifts.filter(Q(email__icontains=q) | Q(name__icontains=q))
        parts.append(
            gifts.order_by().values(kind=Value("gift", output_field=CharField()), ref=F("id"), at=F("created_at"))
        )
    if not parts:
        return Gift.objects.none().values(kind=Value("", output_field=CharField()), ref=F("id"), at=F("created_at"))
    first, *others = parts
    combined = first.union(*others, all=True) if others else first
    return combined.order_by("-at", "-ref")  # type: ignore[no-any-return]


# --- States, in the page's words ---------------------------------------------------------------------

STATE_LABELS = {
    "held": gettext_lazy("Réservé, en attente de paiement"),
    "pending": gettext_lazy("En attente de paiement"),
    "paid": gettext_lazy("Payé"),
    "partially_refunded": gettext_lazy("Partiellement remboursé"),
    "refunded": gettext_lazy("Remboursé"),
    "failed": gettext_lazy("Échoué"),
    "expired": gettext_lazy("Expiré"),
}


def lines_state_key(order: Order, lines: Sequence[OrderLine], *, held: bool) -> str:
    """Where some lines of an order stand: held, pending, paid, partially_refunded, refunded,
    failed or expired. Refunds are the lines' own: one line refunded in a paid basket is refunded."""
    if order.status == PaymentStatus.PENDING and held:
        return "held"
    if order.status == PaymentStatus.PAID:
        amount = sum(line.amount_cents for line in lines)
        refunded = sum(line.refunded_cents for line in lines)
        if lines and refunded >= amount:
            return "refunded"
        if refunded:
            return "partially_refunded"
    return str(order.status)


def gift_state_key(gift: Gift) -> str:
    """Where a gift's payment stands: pending, paid, partially_refunded, refunded, failed or expired."""
    if gift.status == PaymentStatus.PAID and gift.refunded_cents:
        return "partially_refunded"
    return str(gift.status)


def state_words(key: str, refunded_cents: int) -> str:
    """A state in words: refunded in part says how much."""
    if key == "partially_refunded":
        return _("Partiellement remboursé (%(amount)s)") % _amount(refunded_cents)
    return str(STATE_LABELS[key])


def part_hand_over_key(fulfilment: Fulfilment, lines: Sequence[OrderLine]) -> str:
    """handed_over, to_hand_over (paid, something left to collect, not refunded by the
    never-collected rule) or nothing."""
    if fulfilment.handed_over_at is not None:
        return "handed_over"
    left = any(line.refunded_cents < line.amount_cents for line in lines)
    if fulfilment.order.status == PaymentStatus.PAID and left and fulfilment.pickup_expired_at is None:
        return "to_hand_over"
    return ""


def hand_over_words(key: str) -> str:
    return {"handed_over": _("Remis"), "to_hand_over": _("À remettre"), "": ""}[key]


# --- The rows of the list and of the export ------------------------------------------------------------


@dataclass(frozen=True)
class PaymentRow:
    """One organisation's part of an order, or one gift, as the list and the export show it."""

    kind: str
    payment: Order | Gift
    receipt_issued: bool
    fulfilment: Fulfilment | None = None
    lines: tuple[OrderLine, ...] = ()
    held: bool = False

    @property
    def is_order(self) -> bool:
        return self.kind == "order"

    @property
    def amount_cents(self) -> int:
        """What this row is worth: the part's lines, or the gift."""
        if self.is_order:
            return sum(line.amount_cents for line in self.lines)
        return self.payment.amount_cents

    @property
    def refunded_cents(self) -> int:
        if self.is_order:
            return sum(line.refunded_cents for line in self.lines)
        return self.payment.refunded_cents

    @property
    def state_key(self) -> str:
        if isinstance(self.payment, Order):
            return lines_state_key(self.payment, self.lines, held=self.held)
        return gift_state_key(self.payment)

    @property
    def state(self) -> str:
        return state_words(self.state_key, self.refunded_cents)

    @property
    def hand_over(self) -> str:
        if self.fulfilment is None:
            return ""
        return hand_over_words(part_hand_over_key(self.fulfilment, self.lines))

    @property
    def title(self) -> str:
        """The objects of the part, or the words a gift stands for."""
        if self.is_order:
            return ", ".join(line.item.title for line in self.lines)
        return _("Don")

    @property
    def campaign_titles(self) -> str:
        if isinstance(self.payment, Gift):
            return self.payment.campaign.title
        return ", ".join(dict.fromkeys(line.campaign.title for line in self.lines))

    @property
    def organisation_name(self) -> str:
        if self.fulfilment is not None:
            return self.fulfilment.organisation.name
        return self.payment.campaign.organisation.name  # type: ignore[union-attr]

    @property
    def claim_code(self) -> str:
        return self.fulfilment.claim_code if self.fulfilment is not None else ""

    @property
    def who(self) -> str:
        """The giver's name as they gave it (a manager sees it, anonymous or not), else nothing."""
        return self.payment.name if isinstance(self.payment, Gift) else ""


def _receipt_issued(field: str) -> Exists:
    return Exists(
        TaxReceiptLine.objects.filter(**{field: OuterRef("pk")}, active=True, receipt__status=TaxReceipt.Status.ISSUED)
    )


def _lines_shown() -> QuerySet[OrderLine]:
    """An order's lines with what a row shows of each: its object, its campaign, its issued receipt."""
    return (
        OrderLine.objects.select_related("item", "campaign")
        .annotate(receipt_issued=_receipt_issued("order_line"))
        .order_by("id")
    )


def payment_rows(keys: Iterable[dict[str, object]]) -> list[PaymentRow]:
    """The rows of a page of ``payments_managed``, in its order (three queries)."""
    keys = list(keys)
    ids: dict[str, list[int]] = {"order": [], "gift": []}
    for key in keys:
        ids[str(key["kind"])].append(int(key["ref"]))  # type: ignore[call-overload]
    found: dict[tuple[str, int], PaymentRow] = {}
    if ids["order"]:
        fulfilments = (
            Fulfilment.objects.filter(pk__in=ids["order"])
            .select_related("order", "organisation")
            .prefetch_related(Prefetch("lines", queryset=_lines_shown()))
            .annotate(receipt_issued=_receipt_issued("order_line__fulfilment"), held=_held())
        )
        for fulfilment in fulfilments:
            found["order", fulfilment.pk] = PaymentRow(
                kind="order",
                payment=fulfilment.order,
                receipt_issued=fulfilment.receipt_issued,  # type: ignore[attr-defined]
                fulfilment=fulfilment,
                lines=tuple(fulfilment.lines.all()),
                held=fulfilment.held,  # type: ignore[attr-defined]
            )
    if ids["gift"]:
        gifts = (
            Gift.objects.filter(pk__in=ids["gift"])
            .select_related("campaign__organisation")
            .annotate(receipt_issued=_receipt_issued("gift"))
        )
        for gift in gifts:
            found["gift", gift.pk] = PaymentRow(kind="gift", payment=gift, receipt_issued=gift.receipt_issued)  # type: ignore[attr-defined]
    rows = []
    for key in keys:
        kind, pk = str(key["kind"]), int(key["ref"])  # type: ignore[call-overload]
        if (kind, pk) in found:
            rows.append(found[kind, pk])
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


# --- One order or gift ---------------------------------------------------------------------------------


def payment_managed(*, user: User, kind: str, pk: int) -> Order | Gift | None:
    """One order with a part at an organisation ``user`` manages, or one gift of such an
    organisation (any one for a superuser, as ``user_may`` with ORDERS says), or None:
    another organisation's is not found either."""
    if kind == "order":
        orders = Order.objects.filter(pk=pk)
        if not user.is_superuser:
            orders = orders.filter(
                Exists(
                    Fulfilment.objects.filter(order=OuterRef("pk"), organisation__in=_managed_organisations(user))
                )
            )
        return orders.first()
    gifts = Gift.objects.select_related("campaign__organisation").filter(pk=pk)
    if not user.is_superuser:
        gifts = gifts.filter(campaign__organisation__in=_managed_organisations(user))
    return gifts.first()


def _refunds_asked(line_ref: Any) -> Subquery:
    """What was asked to refund of a line and did not fail (confirmed or not yet)."""
    asked = (
        Refund.objects.filter(line=line_ref)
        .exclude(status=Refund.Status.FAILED)
        .order_by()
        .values("line")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    return Subquery(asked, output_field=IntegerField())


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
    superuser), each with its lines, in a fixed number of queries."""
    fulfilments = order.fulfilments.select_related("organisation").order_by("id")
    if not user.is_superuser:
        fulfilments = fulfilments.filter(organisation__in=_managed_organisations(user))
    lines = _lines_shown().annotate(asked_cents=Coalesce(_refunds_asked(OuterRef("pk")), 0))
    held = order.reservations.filter(status=Reservation.Status.HELD).exists()
    refundable = order.status == PaymentStatus.PAID and bool(order.provider_payment_id)
    parts = []
    for fulfilment in fulfilments.prefetch_related(Prefetch("lines", queryset=lines)):
        fulfilment.order = order
        own = list(fulfilment.lines.all())
        shown = []
        for line in own:
            already = max(line.asked_cents, line.refunded_cents)  # type: ignore[attr-defined]
            remaining = max(line.amount_cents - already, 0) if refundable else 0
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
            ngettext("Commande passée, objet réservé", "Commande passée, %(count)s objets réservés", len(lines))
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
    for entry in LedgerEntry.objects.filter(gift=gift).order_by("id"):
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


def format_money(cents: int) -> str:
    """An amount in the page's language."""
    return _format_money(cents, "EUR", get_language() or "fr")


def _amount(cents: int) -> dict[str, str]:
    return {"amount": format_money(cents)}


def gift_refundable(gift: Gift) -> int:
    """What may still be refunded of a gift now (0 unless paid): what its refund form offers."""
    if gift.status != PaymentStatus.PAID or not gift.provider_payment_id:
        return 0
    return refundable_cents(gift)
