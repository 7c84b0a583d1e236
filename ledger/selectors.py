"""Reads on the money books, in a fixed number of queries: campaign totals and
backers (only the campaigns' account counts), organisation balances, the
managers' live dashboard, a campaign's ledger for export, and the
reconciliation of the ledger with our rows and the payment provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign
from campaigns.permissions import Permission
from campaigns.selectors import managed_campaigns, organisations_user_may, public_campaigns, user_may
from donations.models import Fulfilment, Gift, Order, OrderLine, PaymentStatus
from ledger.models import LedgerEntry
from payments.gateways import GatewayError, gateway

# Only a campaign's money counts in its totals, its backers and its organisation's balance.
_CAMPAIGN_ACCOUNT = Q(account=LedgerEntry.Account.CAMPAIGN)
# Credits count positive, debits negative: the ledger's net in one SUM.
_SIGNED_AMOUNT = Case(
    When(kind=LedgerEntry.Kind.DEBIT, then=-F("amount_cents")),
    default=F("amount_cents"),
    output_field=IntegerField(),
)
# A backer is a payment received (an order or a gift) that was not refunded in full: for an
# order, one of its lines for the campaign was not. A basket of two objects of one campaign is one backer.
_BACKER = Q(reason=LedgerEntry.Reason.PAYMENT) & ~(
    Q(order_line__isnull=False, order_line__refunded_cents__gte=F("order_line__amount_cents"))
    | Q(gift__isnull=False, gift__refunded_cents__gte=F("gift__amount_cents"))
)
_BACKERS = Count("order", distinct=True) + Count("gift", distinct=True)


def _raised_subquery() -> Subquery:
    entries = (
        LedgerEntry.objects.filter(_CAMPAIGN_ACCOUNT, campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(net=Sum(_SIGNED_AMOUNT))
        .values("net")
    )
    return Subquery(entries, output_field=IntegerField())


def _backers_subquery() -> Subquery:
    payments = (
        LedgerEntry.objects.filter(_BACKER, _CAMPAIGN_ACCOUNT, campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(backers=_BACKERS)
        .values("backers")
    )
    return Subquery(payments, output_field=IntegerField())


def _with_totals(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    return campaigns.annotate(
        raised_cents=Coalesce(_raised_subquery(), Value(0), output_field=IntegerField()),
        backers_count=Coalesce(_backers_subquery(), Value(0), output_field=IntegerField()),
    )


def campaign_public_queryset() -> QuerySet[Campaign]:
    """Campaigns anyone may see, each annotated with ``raised_cents`` (credits
    minus debits of the ledger) and ``backers_count``: subqueries, so the list
    stays one query whatever its length."""
    return _with_totals(public_campaigns())


def campaign_progress(*, campaign_id: int) -> tuple[int, int]:
    """(raised_cents, backers_count) of one campaign, from the ledger."""
    entries = LedgerEntry.objects.filter(_CAMPAIGN_ACCOUNT, campaign_id=campaign_id)
    raised = entries.aggregate(net=Coalesce(Sum(_SIGNED_AMOUNT), Value(0)))["net"]
    backers = entries.filter(_BACKER).aggregate(backers=_BACKERS)["backers"]
    return int(raised), int(backers)


def organisation_balance_cents(*, organisation_id: int) -> int:
    """Money received for an organisation and not yet transferred to its
    connected account (organisations without one accrue it here)."""
    untransferred = Q(order_line__isnull=False, order_line__fulfilment__transfer_id="") | Q(
        gift__isnull=False, gift__transfer_id=""
    )
    entries = LedgerEntry.objects.filter(untransferred, _CAMPAIGN_ACCOUNT, organisation_id=organisation_id)
    return int(entries.aggregate(net=Coalesce(Sum(_SIGNED_AMOUNT), Value(0)))["net"])


def campaigns_managed_by(
    user: User | AnonymousUser | None, permission: Permission = Permission.CAMPAIGNS
) -> QuerySet[Campaign]:
    """Campaigns, in any status, of the organisations where ``user`` holds ``permission``, with their totals."""
    return _with_totals(managed_campaigns(user, permission))


# --- The managers' live dashboard ---------------------------------------------


def dashboard_feed(*, user: User, since: datetime, limit: int = 50) -> QuerySet[LedgerEntry]:
    """Money movements of the organisations of the user's dashboard since ``since``, newest first."""
    return (
        LedgerEntry.objects.filter(
            _CAMPAIGN_ACCOUNT,
            organisation__in=organisations_user_may(user, Permission.DASHBOARD),
            created_at__gte=since,
        )
        .select_related("campaign", "order__item", "gift")
        .order_by("-id")[:limit]
    )


def dashboard_series(*, campaign_ids: list[int], days: int, now: datetime) -> dict[int, list[tuple[date, int]]]:
    """Money raised so far at the end of each of the last ``days`` days, per campaign (from the ledger)."""
    start = (now - timedelta(days=days - 1)).astimezone(timezone.get_current_timezone()).date()
    entries = LedgerEntry.objects.filter(_CAMPAIGN_ACCOUNT, campaign_id__in=campaign_ids).order_by()
    before = dict(
        entries.filter(created_at__date__lt=start)
        .values("campaign_id")
        .annotate(net=Sum(_SIGNED_AMOUNT))
        .values_list("campaign_id", "net")
    )
    per_day: dict[tuple[int, date], int] = {
        (campaign_id, day): int(net)
        for campaign_id, day, net in entries.filter(created_at__date__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("campaign_id", "day")
        .annotate(net=Sum(_SIGNED_AMOUNT))
        .values_list("campaign_id", "day", "net")
    }
    series: dict[int, list[tuple[date, int]]] = {}
    for campaign_id in campaign_ids:
        running = int(before.get(campaign_id) or 0)
        points = []
        for offset in range(days):
            day = start + timedelta(days=offset)
            running += per_day.get((campaign_id, day), 0)
            points.append((day, running))
        series[campaign_id] = points
    return series


# --- A campaign's ledger, for its managers ---------------------------------------------------------


def campaign_ledger_for_manager(*, user: User, slug: str) -> QuerySet[LedgerEntry] | None:
    """A campaign's ledger, oldest first, if ``user`` may read its organisation's books; None otherwise."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None:
        return None
    if not user_may(user, campaign.organisation_id, Permission.LEDGER):
        return None
    return LedgerEntry.objects.filter(campaign=campaign).select_related("order", "gift").order_by("id")


# --- Reconciliation -----------------------------------------------------------------------------


def _sums(target: Order | Gift) -> dict[str, int]:
    key = Q(order=target) if isinstance(target, Order) else Q(gift=target)
    rows = LedgerEntry.objects.filter(key, _CAMPAIGN_ACCOUNT).values("reason").annotate(total=Sum("amount_cents"))
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
    for pk, transfer_id in (
        Gift.objects.exclude(transfer_id="").filter(transfers__isnull=True).values_list("pk", "transfer_id")
    ):
        yield f"gift {pk}: transfer {transfer_id} is not recorded (ledger.Transfer)"
    for pk, order_id, transfer_id in (
        Fulfilment.objects.exclude(transfer_id="")
        .filter(transfers__isnull=True)
        .values_list("pk", "order_id", "transfer_id")
    ):
        yield f"order {order_id} (part {pk}): transfer {transfer_id} is not recorded (ledger.Transfer)"
    # Each line of an order is credited its own amount, on its own campaign.
    for line in OrderLine.objects.filter(order__in=[t for t in targets if isinstance(t, Order)]).annotate(
        credited=Sum("ledger_entries__amount_cents", filter=Q(ledger_entries__reason=LedgerEntry.Reason.PAYMENT))
    ):
        if (line.credited or 0) != line.amount_cents:
            yield f"order {line.order_id} line {line.pk}: credited {line.credited or 0}, price {line.amount_cents}"
    orphans = LedgerEntry.objects.filter(
        Q(order__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
        | Q(gift__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
    )
    for entry in orphans:
        yield f"ledger entry {entry.pk} ({entry.key}) belongs to an unpaid payment"
