"""The treasurer's monthly statement of an organisation: movements of the
ledger (its campaigns' account), transfers and reversals, provider fees."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from campaigns.models import Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import COUNTER_PROVIDER, OrderLine
from ledger.models import LedgerEntry, PaymentFee, Transfer, TransferReversal


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str  # a LedgerEntry.Reason, or "transfer", "reversal", "fee"
    label: str
    campaign: str
    reference: str  # "commande 12", "don 3"
    provider_id: str
    # Its effect on the balance owed to the organisation (credits +, debits and transfers -, reversals +).
    amount_cents: int
    # The provider's fee, borne by the platform: for information, no effect on the balance.
    fee_cents: int = 0
    # Money taken at the shop counter (checkout.services.counter): the organisation holds it
    # already, so it has no effect on the balance owed; shown for information (+ in, - cancelled).
    counter_cents: int = 0


@dataclass(frozen=True)
class Statement:
    """One organisation's month: movements of the ledger, transfers and
    reversals, provider fees. ``closing_cents`` is the opening balance moved
    by the month's totals; ``recomputed_closing_cents`` is the balance computed
    afresh from every row up to the month's end: they must agree."""

    organisation: Organisation
    year: int
    month: int
    start: datetime
    end: datetime
    opening_cents: int
    credits_cents: int
    disputes_won_cents: int
    refunds_cents: int
    disputes_cents: int
    transfers_cents: int
    reversals_cents: int
    fees_cents: int
    # Fees of the payments refunded this month (Stripe keeps them): part of the platform's cost.
    fees_kept_on_refunds_cents: int
    recomputed_closing_cents: int
    lines: list[StatementLine]
    # The month's net of the counter (credits less cancellations): in the campaigns' totals,
    # never in the balance owed (the organisation holds that money already).
    counter_cents: int = 0

    @property
    def debits_cents(self) -> int:
        return self.refunds_cents + self.disputes_cents

    @property
    def closing_cents(self) -> int:
        return self.opening_cents + self.credits_cents - self.debits_cents - self.transfers_cents + self.reversals_cents

    @property
    def reconciles(self) -> bool:
        return self.closing_cents == self.recomputed_closing_cents


def statement_organisation(*, user: User | AnonymousUser, slug: str) -> Organisation | None:
    """The organisation ``slug`` if ``user`` may read its books; None otherwise (the same for a missing one)."""
    return organisations_user_may(user, Permission.LEDGER).filter(slug=slug).first()


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next, in the site's time zone (Europe/Paris)."""
    zone = timezone.get_default_timezone()
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


# Entries about money taken at the counter: the organisation holds it, it is never owed.
_AT_COUNTER = Q(order__provider=COUNTER_PROVIDER) | Q(gift__provider=COUNTER_PROVIDER)


def _balance_until(organisation: Organisation, moment: datetime) -> int:
    """What the organisation is owed at ``moment``: ledger net (the counter's left out), less
    transfers, plus reversals."""
    # A partner's payment of its pledge went to the organisation itself: Trëmma never owed it.
    ledger = LedgerEntry.objects.filter(
        ~_AT_COUNTER,
        organisation=organisation,
        account=LedgerEntry.Account.CAMPAIGN,
        pledge__isnull=True,
        created_at__lt=moment,
    ).aggregate(
        credit=Coalesce(Sum("amount_cents", filter=Q(kind=LedgerEntry.Kind.CREDIT)), Value(0)),
        debit=Coalesce(Sum("amount_cents", filter=Q(kind=LedgerEntry.Kind.DEBIT)), Value(0)),
    )
    sent = Transfer.objects.filter(organisation=organisation, created_at__lt=moment).aggregate(
        total=Coalesce(Sum("amount_cents"), Value(0))
    )["total"]
    back = TransferReversal.objects.filter(transfer__organisation=organisation, created_at__lt=moment).aggregate(
        total=Coalesce(Sum("amount_cents"), Value(0))
    )["total"]
    return int(ledger["credit"] - ledger["debit"] - sent + back)


def _reference(order_id: int | None, gift_id: int | None) -> str:
    if order_id is not None:
        return gettext("commande %(number)s") % {"number": order_id}
    return gettext("don %(number)s") % {"number": gift_id}


def _titles(lines: Iterable[OrderLine], organisation_id: int) -> str:
    """The campaigns of an order's lines for one organisation, each once, in line order."""
    titles = [line.campaign.title for line in lines if line.campaign.organisation_id == organisation_id]
    return ", ".join(dict.fromkeys(titles))


def _campaign_title(row: LedgerEntry | Transfer | PaymentFee, organisation_id: int) -> str:
    """The campaign a row is about: an entry's own (an order's entry is about one line, and
    credits that line's campaign); for an order's transfer (one per fulfilment) or fee,
    those of the organisation's lines in it; a gift's campaign."""
    if isinstance(row, LedgerEntry):
        return row.campaign.title if row.campaign is not None else ""
    if isinstance(row, Transfer) and row.fulfilment is not None:
        return _titles(row.fulfilment.lines.all(), organisation_id)
    if isinstance(row, PaymentFee) and row.order is not None:
        return _titles(row.order.lines.all(), organisation_id)
    return row.gift.campaign.title if row.gift is not None else ""


def organisation_statement(*, organisation: Organisation, year: int, month: int) -> Statement:
    """The month's statement of ``organisation``, in a fixed number of queries."""
    start, end = month_bounds(year, month)
    window = Q(created_at__gte=start, created_at__lt=end)
    campaign_money = LedgerEntry.objects.filter(
        window, organisation=organisation, account=LedgerEntry.Account.CAMPAIGN, pledge__isnull=True
    )
    entries = list(
        campaign_money.select_related("campaign").annotate(
            at_counter=ExpressionWrapper(_AT_COUNTER, output_field=BooleanField())
        )
    )
    # An order's transfers and fees name the campaigns of its lines (a basket may hold several).
    line_rows = OrderLine.objects.select_related("campaign").order_by("pk")
    transfers = list(
        Transfer.objects.filter(window, organisation=organisation)
        .select_related("fulfilment", "gift__campaign")
        .prefetch_related(Prefetch("fulfilment__lines", line_rows))
    )
    reversals = list(
        TransferReversal.objects.filter(window, transfer__organisation=organisation)
        .select_related("transfer__fulfilment", "transfer__gift__campaign")
        .prefetch_related(Prefetch("transfer__fulfilment__lines", line_rows))
    )
    fees = list(
        PaymentFee.objects.filter(window, organisation=organisation)
        .select_related("order", "gift__campaign")
        .prefetch_related(Prefetch("order__lines", line_rows))
    )
    refunded_orders = {e.order_id for e in entries if e.reason == LedgerEntry.Reason.REFUND and e.order_id}
    refunded_gifts = {e.gift_id for e in entries if e.reason == LedgerEntry.Reason.REFUND and e.gift_id}
    # Payments refunded this month, and late payments refunded at once (never credited): Stripe kept their fee.
    late = Q(window, organisation=organisation, order__refund_reason="item_unavailable")
    kept = PaymentFee.objects.filter(Q(order_id__in=refunded_orders) | Q(gift_id__in=refunded_gifts) | late).aggregate(
        total=Coalesce(Sum("amount_cents"), Value(0))
    )["total"]

    lines: list[StatementLine] = []
    totals = dict.fromkeys(LedgerEntry.Reason.values, 0)
    counter_cents = 0
    for entry in entries:
        signed = entry.amount_cents if entry.kind == LedgerEntry.Kind.CREDIT else -entry.amount_cents
        if entry.at_counter:  # type: ignore[attr-defined]
            counter_cents += signed
            lines.append(
                StatementLine(
                    at=entry.created_at,
                    kind=f"counter_{entry.reason}",
                    label=gettext("%(operation)s — encaissé au comptoir") % {"operation": entry.get_reason_display()},
                    campaign=_campaign_title(entry, organisation.pk),
                    reference=_reference(entry.order_id, entry.gift_id),
                    provider_id="",
                    amount_cents=0,
                    counter_cents=signed,
                )
            )
            continue
        totals[entry.reason] += entry.amount_cents
        lines.append(
            StatementLine(
                at=entry.created_at,
                kind=entry.reason,
                label=entry.get_reason_display(),
                campaign=_campaign_title(entry, organisation.pk),
                reference=_reference(entry.order_id, entry.gift_id),
                provider_id=entry.provider_event_id,
                amount_cents=signed,
            )
        )
    for transfer in transfers:
        lines.append(
            StatementLine(
                at=transfer.created_at,
                kind="transfer",
                label=gettext("Virement à l'organisation"),
                campaign=_campaign_title(transfer, organisation.pk),
                reference=_reference(transfer.order_id, transfer.gift_id),
                provider_id=transfer.provider_transfer_id,
                amount_cents=-transfer.amount_cents,
            )
        )
    for reversal in reversals:
        lines.append(
            StatementLine(
                at=reversal.created_at,
                kind="reversal",
                label=gettext("Annulation de virement"),
                campaign=_campaign_title(reversal.transfer, organisation.pk),
                reference=_reference(reversal.transfer.order_id, reversal.transfer.gift_id),
                provider_id=reversal.provider_reversal_id,
                amount_cents=reversal.amount_cents,
            )
        )
    for fee in fees:
        lines.append(
            StatementLine(
                at=fee.created_at,
                kind="fee",
                label=gettext("Frais du prestataire de paiement (à la charge de la plateforme)"),
                campaign=_campaign_title(fee, organisation.pk),
                reference=_reference(fee.order_id, fee.gift_id),
                provider_id=fee.provider_balance_id,
                amount_cents=0,
                fee_cents=fee.amount_cents,
            )
        )
    lines.sort(key=lambda line: line.at)
    return Statement(
        organisation=organisation,
        year=year,
        month=month,
        start=start,
        end=end,
        opening_cents=_balance_until(organisation, start),
        credits_cents=totals[LedgerEntry.Reason.PAYMENT],
        disputes_won_cents=totals[LedgerEntry.Reason.DISPUTE_WON],
        refunds_cents=totals[LedgerEntry.Reason.REFUND],
        disputes_cents=totals[LedgerEntry.Reason.DISPUTE],
        transfers_cents=sum(t.amount_cents for t in transfers),
        reversals_cents=sum(r.amount_cents for r in reversals),
        fees_cents=sum(f.amount_cents for f in fees),
        fees_kept_on_refunds_cents=int(kept),
        recomputed_closing_cents=_balance_until(organisation, end),
        lines=lines,
        counter_cents=counter_cents,
    )
