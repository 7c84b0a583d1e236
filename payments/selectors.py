"""Reads on payments: the reconciliation of the ledger with our rows and the
provider, a campaign's ledger for export, and an organisation's monthly
statement (ledger, transfers, reversals and provider fees)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Campaign, LedgerEntry, Organisation
from campaigns.selectors import (
    organisation_balance_cents,
    organisations_administered_by,
    organisations_managed_by,
    user_manages,
)
from donations.models import Gift, Order, PaymentStatus
from payments.gateways import GatewayError, gateway
from payments.models import PaymentFee, Transfer, TransferReversal


def _sums(target: Order | Gift) -> dict[str, int]:
    key = Q(order=target) if isinstance(target, Order) else Q(gift=target)
    rows = LedgerEntry.objects.filter(key).values("reason").annotate(total=Sum("amount_cents"))
    return {row["reason"]: row["total"] for row in rows}


def ledger_differences(*, with_provider: bool = False) -> Iterator[str]:
    """Every paid order or gift has exactly its amount credited once, refunds
    debited as recorded, and (``with_provider``) the provider agrees on what
    was received and refunded. Yields one line per difference."""
    paid = Q(status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDED]) & ~Q(provider_payment_id="")
    targets: list[Order | Gift] = [*Order.objects.filter(paid).exclude(refund_reason="item_unavailable")]
    targets += [*Gift.objects.filter(paid)]
    provider = gateway() if with_provider else None
    for target in targets:
        name = f"{type(target).__name__.lower()} {target.pk}"
        sums = _sums(target)
        if sums.get(LedgerEntry.Reason.PAYMENT, 0) != target.amount_cents:
            yield f"{name}: credited {sums.get('payment', 0)}, paid {target.amount_cents}"
        if sums.get(LedgerEntry.Reason.REFUND, 0) != target.refunded_cents:
            yield f"{name}: refunds debited {sums.get('refund', 0)}, refunded {target.refunded_cents}"
        if provider is not None and target.provider == provider.name:
            try:
                received, refunded = provider.payment_amounts(target.provider_payment_id)
            except GatewayError as error:
                yield f"{name}: provider not reachable ({error})"
                continue
            if (received, refunded) != (target.amount_cents, target.refunded_cents):
                yield f"{name}: provider says received {received}, refunded {refunded}"
    # A transfer made before transfers were recorded (or whose record failed) is missing from statements.
    for model in (Order, Gift):
        for pk, transfer_id in (
            model.objects.exclude(transfer_id="").filter(transfers__isnull=True).values_list("pk", "transfer_id")
        ):
            yield f"{model.__name__.lower()} {pk}: transfer {transfer_id} is not recorded (payments.Transfer)"
    orphans = LedgerEntry.objects.filter(
        Q(order__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
        | Q(gift__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
    )
    for entry in orphans:
        yield f"ledger entry {entry.pk} ({entry.key}) belongs to an unpaid payment"


def campaign_ledger_for_manager(*, user: User, slug: str) -> QuerySet[LedgerEntry] | None:
    """A campaign's ledger, oldest first, if ``user`` manages its organisation; None otherwise."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None:
        return None
    if not user_manages(user, campaign.organisation_id):
        return None
    return LedgerEntry.objects.filter(campaign=campaign).select_related("order", "gift").order_by("id")


# --- Connect: an organisation's connected account, as its admins see it --------------------------


def organisation_for_payments_admin(*, user: User, slug: str) -> Organisation | None:
    """The organisation whose payments page ``user`` may see: its admins (the
    most trusted role: they connect the bank account), and superusers."""
    administered = Organisation.objects.all() if user.is_superuser else organisations_administered_by(user)
    return administered.filter(slug=slug).first()


# Stripe's names of what an account still has to give (requirements.currently_due), by prefix.
REQUIREMENT_LABELS: list[tuple[str, Promise]] = [
    ("external_account", _("coordonnées bancaires (IBAN)")),
    ("tos_acceptance", _("acceptation des conditions de Stripe")),
    ("business_profile", _("description de l'activité")),
    ("company", _("informations sur la structure")),
    ("representative", _("représentant légal")),
    ("owners", _("propriétaires ou dirigeants")),
    ("directors", _("propriétaires ou dirigeants")),
    ("executives", _("propriétaires ou dirigeants")),
    ("person_", _("représentant légal")),
    ("individual", _("identité")),
    ("documents", _("justificatifs")),
]


@dataclass(frozen=True)
class ConnectSummary:
    status: str  # "none", "pending", "restricted" or "ready"
    requirements: list[str]
    balance_cents: int


def connect_summary(organisation: Organisation) -> ConnectSummary:
    if not organisation.stripe_account_id:
        status = "none"
    elif organisation.stripe_transfers_active:
        status = "ready"
    elif organisation.stripe_disabled_reason.startswith("rejected"):
        status = "restricted"
    else:
        status = "pending"
    labels: list[str] = []
    for name in organisation.stripe_requirements_due or []:
        label = next((str(text) for prefix, text in REQUIREMENT_LABELS if str(name).startswith(prefix)), str(name))
        if label not in labels:
            labels.append(label)
    balance = organisation_balance_cents(organisation_id=organisation.pk)
    return ConnectSummary(status=status, requirements=labels, balance_cents=balance)


# --- The treasurer's monthly statement of an organisation -------------------------------------


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
    """The organisation ``slug`` if ``user`` manages it; None otherwise (the same for a missing one)."""
    return organisations_managed_by(user).filter(slug=slug).first()


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next, in the site's time zone (Europe/Paris)."""
    zone = timezone.get_default_timezone()
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


def _balance_until(organisation: Organisation, moment: datetime) -> int:
    """What the organisation is owed at ``moment``: ledger net, less transfers, plus reversals."""
    ledger = LedgerEntry.objects.filter(organisation=organisation, created_at__lt=moment).aggregate(
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


def _campaign_title(row: LedgerEntry | Transfer | PaymentFee) -> str:
    target = row.order if row.order_id is not None else row.gift
    return target.campaign.title if target is not None else ""


def organisation_statement(*, organisation: Organisation, year: int, month: int) -> Statement:
    """The month's statement of ``organisation``, in a fixed number of queries."""
    start, end = month_bounds(year, month)
    window = Q(created_at__gte=start, created_at__lt=end)
    related = ("order__campaign", "gift__campaign")
    entries = list(LedgerEntry.objects.filter(window, organisation=organisation).select_related(*related))
    transfers = list(Transfer.objects.filter(window, organisation=organisation).select_related(*related))
    reversals = list(
        TransferReversal.objects.filter(window, transfer__organisation=organisation).select_related(
            *(f"transfer__{name}" for name in related)
        )
    )
    fees = list(PaymentFee.objects.filter(window, organisation=organisation).select_related(*related))
    refunded_orders = {e.order_id for e in entries if e.reason == LedgerEntry.Reason.REFUND and e.order_id}
    refunded_gifts = {e.gift_id for e in entries if e.reason == LedgerEntry.Reason.REFUND and e.gift_id}
    # Payments refunded this month, and late payments refunded at once (never credited): Stripe kept their fee.
    late = Q(window, organisation=organisation, order__refund_reason="item_unavailable")
    kept = PaymentFee.objects.filter(Q(order_id__in=refunded_orders) | Q(gift_id__in=refunded_gifts) | late).aggregate(
        total=Coalesce(Sum("amount_cents"), Value(0))
    )["total"]

    lines: list[StatementLine] = []
    totals = dict.fromkeys(LedgerEntry.Reason.values, 0)
    for entry in entries:
        signed = entry.amount_cents if entry.kind == LedgerEntry.Kind.CREDIT else -entry.amount_cents
        totals[entry.reason] += entry.amount_cents
        lines.append(
            StatementLine(
                at=entry.created_at,
                kind=entry.reason,
                label=entry.get_reason_display(),
                campaign=_campaign_title(entry),
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
                campaign=_campaign_title(transfer),
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
                campaign=_campaign_title(reversal.transfer),
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
                campaign=_campaign_title(fee),
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
    )
