"""Reads on the money books, in a fixed number of queries: campaign totals and
backers (only the campaigns' account counts), organisation balances, the
managers' live dashboard, a campaign's ledger for export, and the
reconciliation of the ledger with our rows and the payment provider."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign
from campaigns.permissions import Permission
from campaigns.selectors import (
    CAMPAIGN_GENERATION_SECONDS,
    PUBLIC_CAMPAIGN_STATUSES,
    campaign_generation,
    managed_campaigns,
    organisations_user_may,
    public_campaigns,
    user_may,
)
from donations.models import COUNTER_PROVIDER, Fulfilment, Gift, Order, OrderLine, PaymentStatus
from kernel.generations import generation_cached
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
# A monthly gift is one backer however many months it has been charged.
_BACKERS = (
    Count("order", distinct=True)
    + Count("gift", distinct=True, filter=Q(gift__recurring__isnull=True))
    + Count("gift__recurring", distinct=True)
)


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


# The item page's campaign, kept in the shared cache under the campaign's generation token (replaced
# when a change of the campaign, its organisation or its ledger commits): a crowd at one window reads
# the campaign's totals once per payment, not once per page. The version names the pickled row's shape.
CAMPAIGN_PAGE_CACHE_VERSION = 1


def campaign_page_key(pk: int) -> str:
    return f"campaign-page:v{CAMPAIGN_PAGE_CACHE_VERSION}:{pk}"


def campaign_page_campaign(*, pk: int) -> Campaign | None:
    """Campaign ``pk`` with its organisation and ledger totals (as ``campaign_public_queryset``), if
    public; from the shared cache when it is there and current, else read and kept."""
    return generation_cached(
        campaign_generation(pk),
        campaign_page_key(pk),
        seconds=settings.ITEM_PAGE_CACHE_SECONDS,
        token_seconds=CAMPAIGN_GENERATION_SECONDS,
        servable=lambda kept: isinstance(kept, Campaign) and kept.pk == pk and kept.status in PUBLIC_CAMPAIGN_STATUSES,
        read=lambda: campaign_public_queryset().filter(pk=pk).first(),
    )


def campaign_progress(*, campaign_id: int) -> tuple[int, int]:
    """(raised_cents, backers_count) of one campaign, from the ledger, in one statement: the
    totals ``campaign_public_queryset`` computes (``_SIGNED_AMOUNT``, ``_BACKER``, ``_BACKERS``;
    tests/test_ledger_totals.py holds them equal), written as SQL because every payment asks for
    them, inside its transaction, and building the ORM's form of it cost more than running it."""
    with connection.cursor() as cursor:
        cursor.execute(
            _PROGRESS_SQL,
            {
                "debit": LedgerEntry.Kind.DEBIT.value,
                "payment": LedgerEntry.Reason.PAYMENT.value,
                "campaign_account": LedgerEntry.Account.CAMPAIGN.value,
                "campaign_id": campaign_id,
            },
        )
        raised, backers = cursor.fetchone()
    return int(raised), int(backers)


# A backer: a payment's entry whose order line, or gift, was not refunded in full (``_BACKER``).
# Each entry looks its line and its gift up by primary key in a scalar subquery: joined, PostgreSQL
# chose a merge join that read the whole order lines index (every line ever made, paid or not) for
# a campaign of 163 entries, 5.8 ms at 30,000 lines and growing with them; looked up, each entry
# costs one index probe whatever the size of the tables (1.1 ms). MATERIALIZED keeps each lookup
# to one per entry (inlined, each aggregate's filter ran its own).
_PROGRESS_BACKER = (
    "e.reason = %(payment)s AND NOT (COALESCE(e.line_refunded, FALSE) OR COALESCE(e.gift_refunded, FALSE))"
)
_PROGRESS_SQL = f"""
WITH e AS MATERIALIZED (
    SELECT entry.kind, entry.amount_cents, entry.reason, entry.order_id, entry.gift_id,
        (SELECT line.refunded_cents >= line.amount_cents FROM {OrderLine._meta.db_table} line
            WHERE line.id = entry.order_line_id) AS line_refunded,
        (SELECT gift.refunded_cents >= gift.amount_cents FROM {Gift._meta.db_table} gift
            WHERE gift.id = entry.gift_id) AS gift_refunded,
        (SELECT gift.recurring_id FROM {Gift._meta.db_table} gift WHERE gift.id = entry.gift_id) AS recurring_id
    FROM {LedgerEntry._meta.db_table} entry
    WHERE entry.account = %(campaign_account)s AND entry.campaign_id = %(campaign_id)s
)
SELECT
    COALESCE(SUM(CASE WHEN e.kind = %(debit)s THEN -e.amount_cents ELSE e.amount_cents END), 0),
    COUNT(DISTINCT e.order_id) FILTER (WHERE {_PROGRESS_BACKER})
    + COUNT(DISTINCT e.gift_id) FILTER (WHERE {_PROGRESS_BACKER} AND e.recurring_id IS NULL)
    + COUNT(DISTINCT e.recurring_id) FILTER (WHERE {_PROGRESS_BACKER})
FROM e
"""  # noqa: S608 - table names from the models, values as parameters


def organisation_balance_cents(*, organisation_id: int) -> int:
    """Money received for an organisation and not yet transferred to its
    connected account (organisations without one accrue it here). Money taken at
    the counter is not in it: the organisation holds it already, nothing is owed."""
    sale = Q(order_line__isnull=False, order_line__fulfilment__transfer_id="") & ~Q(order__provider=COUNTER_PROVIDER)
    gift = Q(gift__isnull=False, gift__transfer_id="") & ~Q(gift__provider=COUNTER_PROVIDER)
    untransferred = sale | gift
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
        .select_related("campaign", "order_line__item", "gift", "pledge__partner")
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
    return LedgerEntry.objects.filter(campaign=campaign).order_by("id")


# --- The platform's tips, for its operator ----------------------------------------------------------


@dataclass(frozen=True)
class TipsMonth:
    """One month of the platform's tips account (by the date of each entry)."""

    month: date  # its first day
    gifts: int  # tipped gifts paid that month
    credited_cents: int  # tips received
    refunded_cents: int  # tips given back with a refunded gift
    disputed_cents: int  # tips taken back by disputes, less those won back

    @property
    def net_cents(self) -> int:
        return self.credited_cents - self.refunded_cents - self.disputed_cents

    @property
    def refunded_signed_cents(self) -> int:
        return -self.refunded_cents

    @property
    def disputed_signed_cents(self) -> int:
        """Negative when tips were taken back, positive in a month where disputes were won back."""
        return -self.disputed_cents


def platform_tips_by_month() -> list[TipsMonth]:
    """The tips account month by month, newest first, in one query: what givers added to their gifts
    for Trëmma's costs, what was given back (refunds) or taken back (disputes). Never a campaign's money."""
    rows = (
        LedgerEntry.objects.filter(account=LedgerEntry.Account.PLATFORM_TIPS)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month", "reason")
        .annotate(total=Sum("amount_cents"), gifts=Count("gift", distinct=True))
    )
    months: dict[date, dict[str, int]] = {}
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        sums = months.setdefault(month, {})
        sums[row["reason"]] = row["total"]
        if row["reason"] == LedgerEntry.Reason.PAYMENT:
            sums["gifts"] = row["gifts"]
    return [
        TipsMonth(
            month=month,
            gifts=sums.get("gifts", 0),
            credited_cents=sums.get(LedgerEntry.Reason.PAYMENT, 0),
            refunded_cents=sums.get(LedgerEntry.Reason.REFUND, 0),
            disputed_cents=sums.get(LedgerEntry.Reason.DISPUTE, 0) - sums.get(LedgerEntry.Reason.DISPUTE_WON, 0),
        )
        for month, sums in sorted(months.items(), reverse=True)
    ]


# --- Reconciliation -----------------------------------------------------------------------------


def _sums(**target: object) -> dict[str, int]:
    """Sums by reason of the campaign account's entries about one gift, or one line of an order."""
    rows = (
        LedgerEntry.objects.filter(_CAMPAIGN_ACCOUNT, **target)
        .order_by()
        .values("reason")
        .annotate(total=Sum("amount_cents"))
    )
    return {row["reason"]: row["total"] for row in rows}


def _line_sums() -> dict[int, dict[str, int]]:
    """Sums by reason of the campaign account's entries of every order line, in one query."""
    rows = (
        LedgerEntry.objects.filter(_CAMPAIGN_ACCOUNT, order_line__isnull=False)
        .order_by()
        .values("order_line", "reason")
        .annotate(total=Sum("amount_cents"))
    )
    sums: dict[int, dict[str, int]] = {}
    for row in rows:
        sums.setdefault(row["order_line"], {})[row["reason"]] = row["total"]
    return sums


def _paid_differences(name: str, sums: dict[str, int], *, paid_cents: int, refunded_cents: int) -> Iterator[str]:
    if sums.get(LedgerEntry.Reason.PAYMENT, 0) != paid_cents:
        yield f"{name}: credited {sums.get('payment', 0)}, paid {paid_cents}"
    if sums.get(LedgerEntry.Reason.REFUND, 0) != refunded_cents:
        yield f"{name}: refunds debited {sums.get('refund', 0)}, refunded {refunded_cents}"


def _tip_sums() -> dict[int, dict[str, int]]:
    """Sums by reason of the platform's tips account, per gift, in one query."""
    rows = (
        LedgerEntry.objects.filter(account=LedgerEntry.Account.PLATFORM_TIPS, gift__isnull=False)
        .order_by()
        .values("gift", "reason")
        .annotate(total=Sum("amount_cents"))
    )
    sums: dict[int, dict[str, int]] = {}
    for row in rows:
        sums.setdefault(row["gift"], {})[row["reason"]] = row["total"]
    return sums


def _tip_differences(name: str, gift: Gift, sums: dict[str, int]) -> Iterator[str]:
    """A gift's tip is credited once, whole, to the tips account; refunds of it never exceed it."""
    credited = sums.get(LedgerEntry.Reason.PAYMENT, 0)
    if credited != gift.tip_cents:
        yield f"{name}: tip credited {credited}, tip paid {gift.tip_cents}"
    if sums.get(LedgerEntry.Reason.REFUND, 0) > credited:
        yield f"{name}: tip refunds debited {sums.get(LedgerEntry.Reason.REFUND, 0)}, tip credited {credited}"


def _shipping_sums() -> dict[int, dict[str, int]]:
    """Sums by reason of the platform's shipping account, per order, in one query."""
    rows = (
        LedgerEntry.objects.filter(account=LedgerEntry.Account.PLATFORM_SHIPPING, order__isnull=False)
        .order_by()
        .values("order", "reason")
        .annotate(total=Sum("amount_cents"))
    )
    sums: dict[int, dict[str, int]] = {}
    for row in rows:
        sums.setdefault(row["order"], {})[row["reason"]] = row["total"]
    return sums


def _shipping_differences(name: str, order: Order, sums: dict[str, int]) -> Iterator[str]:
    """An order's shipping is credited once, whole, to the shipping account; refunds of it never exceed it."""
    credited = sums.get(LedgerEntry.Reason.PAYMENT, 0)
    if credited != order.shipping_cents:
        yield f"{name}: shipping credited {credited}, shipping paid {order.shipping_cents}"
    if sums.get(LedgerEntry.Reason.REFUND, 0) > credited:
        yield f"{name}: shipping refunds debited {sums.get(LedgerEntry.Reason.REFUND, 0)}, shipping credited {credited}"


def ledger_differences(*, with_provider: bool = False) -> Iterator[str]:
    """Every paid gift, and every line of a paid order, has exactly its amount
    credited once to its campaign, refunds debited as recorded; a gift's tip
    exactly credited once to the platform's tips account; an order's
    lines add up to no more than it was paid (the rest is shipping, the
    platform's), and its shipping is credited once to the shipping account;
    and (``with_provider``) the provider agrees on what was received and
    refunded (a gift's: with its tip). Yields one line per difference."""
    paid = Q(status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDED]) & ~Q(provider_payment_id="")
    orders = Order.objects.filter(paid).exclude(refund_reason="item_unavailable").prefetch_related("lines")
    targets: list[Order | Gift] = [*orders, *Gift.objects.filter(paid)]
    line_sums = _line_sums() if any(isinstance(target, Order) for target in targets) else {}
    tip_sums = _tip_sums()
    shipping_sums = _shipping_sums()
    provider = gateway() if with_provider else None
    for target in targets:
        name = f"{type(target).__name__.lower()} {target.pk}"
        if isinstance(target, Order):
            lines: list[OrderLine] = list(target.lines.all())
            if not lines:
                yield f"{name}: paid, but has no line"
            elif sum(line.amount_cents for line in lines) > target.amount_cents:
                yield f"{name}: lines of {sum(line.amount_cents for line in lines)}, paid {target.amount_cents}"
            yield from _shipping_differences(name, target, shipping_sums.get(target.pk, {}))
            for line in lines:
                yield from _paid_differences(
                    f"{name} line {line.pk}",
                    line_sums.get(line.pk, {}),
                    paid_cents=line.amount_cents,
                    refunded_cents=line.refunded_cents,
                )
        else:
            yield from _paid_differences(
                name, _sums(gift=target), paid_cents=target.amount_cents, refunded_cents=target.refunded_cents
            )
            yield from _tip_differences(name, target, tip_sums.get(target.pk, {}))
        if provider is not None and target.provider == provider.name:
            try:
                received, refunded = provider.payment_amounts(target.provider_payment_id)
            except GatewayError as error:
                yield f"{name}: provider not reachable ({error})"
                continue
            charged, given_back = target.amount_cents, target.refunded_cents
            if isinstance(target, Gift):
                charged += target.tip_cents
                given_back += tip_sums.get(target.pk, {}).get(LedgerEntry.Reason.REFUND, 0)
            if (received, refunded) != (charged, given_back):
                yield f"{name}: provider says received {received}, refunded {refunded}"
    # A transfer made before transfers were recorded (or whose record failed) is missing from statements.
    untracked = Q(transfers__isnull=True) & ~Q(transfer_id="")
    for pk, transfer_id in Gift.objects.filter(untracked).values_list("pk", "transfer_id"):
        yield f"gift {pk}: transfer {transfer_id} is not recorded (ledger.Transfer)"
    for order_id, organisation_id, transfer_id in Fulfilment.objects.filter(untracked).values_list(
        "order_id", "organisation_id", "transfer_id"
    ):
        yield (
            f"order {order_id} (organisation {organisation_id}): transfer {transfer_id} "
            "is not recorded (ledger.Transfer)"
        )
    orphans = LedgerEntry.objects.filter(
        Q(order__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
        | Q(gift__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
    )
    for entry in orphans:
        yield f"ledger entry {entry.pk} ({entry.key}) belongs to an unpaid payment"
