"""Reads on short codes and windows, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import ceil

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from campaigns.models import Campaign, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import PUBLIC_STATUSES, Item, ItemPhoto, ItemStatus, ItemTransition
from ledger.pledges import NO_MATCHING, campaigns_matching
from ledger.selectors import campaign_public_queryset
from qr.models import CODE_ALPHABET, Placement, Scan, ShortCode, Window


def normalise_code(raw: str) -> str | None:
    """The stored form of a code typed or scanned (case-insensitive), or None if it cannot be one."""
    code = raw.strip().upper()
    if not 4 <= len(code) <= 16 or any(char not in CODE_ALPHABET for char in code):
        return None
    return code


def short_code_resolve(*, code: str) -> ShortCode | None:
    """The code, with its placement's item id, in one query: what its remaining readers need (the
    QR images read the code, the counter's typed codes the item). Any other field is still there,
    read when asked for. A scan lands by ``scan_landing``, without model instances."""
    normalised = normalise_code(code)
    if normalised is None:
        return None
    return (
        ShortCode.objects.select_related("placement")
        .only("code", "item", "campaign", "window", "placement", "placement__item", "placement__window")
        .filter(code=normalised)
        .first()
    )


@dataclass(frozen=True)
class Landing:
    """Where a scan of a code lands, and what its log needs."""

    code_id: int
    code: str
    placement_id: int | None
    window_id: int | None
    path: str


# The tables are named as the migrations named them (qr_shortcode, donations_item, qr_placement,
# campaigns_campaign); every scan test runs this statement.
_LANDING_SQL = """
SELECT c.id, c.code, c.placement_id, COALESCE(p.window_id, c.window_id), c.campaign_id,
       COALESCE(i.id, pi.id), COALESCE(i.status, pi.status), COALESCE(ic.slug, pc.slug), cc.slug
FROM qr_shortcode c
LEFT JOIN donations_item i ON i.id = c.item_id
LEFT JOIN campaigns_campaign ic ON ic.id = i.campaign_id
LEFT JOIN qr_placement p ON p.id = c.placement_id
LEFT JOIN donations_item pi ON pi.id = p.item_id
LEFT JOIN campaigns_campaign pc ON pc.id = pi.campaign_id
LEFT JOIN campaigns_campaign cc ON cc.id = c.campaign_id
WHERE c.code = %s
"""


def scan_landing(*, code: str) -> Landing | None:
    """A scan's code, resolved in one statement without building model instances: the page it lands
    on (an item's page; its campaign's when the item has left the public pages; a campaign's or a
    window's page) and the ids its log keeps. Every passer-by of a crowd at
    a window starts here; the ORM took about 1 ms to build and read the same lookup, the SQL 0.15."""
    normalised = normalise_code(code)
    if normalised is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_LANDING_SQL, [normalised])
        row = cursor.fetchone()
    if row is None:
        return None
    code_id, text, placement_id, window_id, campaign_id, item_id, status, item_campaign, campaign = row
    if item_id is not None:
        # Handed over, withdrawn…: the item has no public page any more, its project still has one.
        if status in PUBLIC_STATUSES:
            path = reverse("pages:item", kwargs={"pk": item_id})
        else:
            path = reverse("pages:campaign", kwargs={"slug": item_campaign})
    elif campaign_id is not None:
        path = reverse("pages:campaign", kwargs={"slug": campaign})
    else:
        path = reverse("qr:window", kwargs={"pk": window_id})
    return Landing(code_id=code_id, code=text, placement_id=placement_id, window_id=window_id, path=path)


def short_url(code: ShortCode | str) -> str:
    """The absolute short URL of a code: what its QR image encodes."""
    text = code if isinstance(code, str) else code.code
    return f"{settings.SITE_URL}/q/{text}"


# --- windows ----------------------------------------------------------------


def _current() -> Q:
    now = timezone.now()
    return Q(is_active=True, starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def current_placements() -> Prefetch:
    """A window's placements still in it, items public, in order, each with its code and item."""
    return Prefetch(
        "placements",
        queryset=Placement.objects.filter(removed_at__isnull=True, item__status__in=PUBLIC_STATUSES)
        .select_related("short_code", "item", "item__campaign")
        .prefetch_related(Prefetch("item__photos", queryset=ItemPhoto.objects.order_by("position", "id")))
        .order_by("position", "id"),
        to_attr="current_placements",
    )


def window_public_queryset() -> QuerySet[Window]:
    """Windows on display now (active, between their dates), with their current placements."""
    return (
        Window.objects.filter(_current())
        .select_related("organisation", "short_code")
        .prefetch_related(current_placements())
        .order_by("-starts_at", "id")
    )


def managed_organisations(*, user: User) -> QuerySet[Organisation]:
    """The organisations whose windows ``user`` manages (campaigns.selectors holds the one rule)."""
    return organisations_user_may(user, Permission.WINDOWS)


def window_managed_queryset(*, user: User, permission: Permission = Permission.WINDOWS) -> QuerySet[Window]:
    """Windows of the organisations where ``user`` holds ``permission``, whatever their dates."""
    return (
        Window.objects.filter(organisation__in=organisations_user_may(user, permission))
        .select_related("organisation", "short_code")
        .prefetch_related(current_placements())
        .order_by("-starts_at", "id")
    )


def window_visible_to(*, user: User | None, pk: int) -> Window | None:
    """A window on display now, or any window of an organisation ``user`` manages."""
    window = window_public_queryset().filter(pk=pk).first()
    if window is None and user is not None and user.is_authenticated:
        window = window_managed_queryset(user=user).filter(pk=pk).first()
    return window


def window_over(*, pk: int) -> Window | None:
    """A window that exists but is not on display (ended, not started or switched off)."""
    return Window.objects.select_related("organisation").exclude(_current()).filter(pk=pk).first()


def campaigns_of(*, organisation: Organisation) -> QuerySet[Campaign]:
    """The organisation's live campaigns, with their figures."""
    return campaign_public_queryset().filter(organisation=organisation, status=Campaign.Status.LIVE)


def window_placeable_items(*, window: Window) -> QuerySet[Item]:
    """Listed items of the window's organisation that are not in the window yet."""
    return (
        Item.objects.filter(status=ItemStatus.LISTED, campaign__organisation_id=window.organisation_id)
        .exclude(placements__window=window, placements__removed_at__isnull=True)
        .select_related("campaign")
        .order_by("title", "id")
    )


def campaigns_progress(*, campaign_ids: set[int]) -> dict[int, Campaign]:
    """Campaigns with ``raised_cents`` (from the ledger) and ``matching`` (what matchfunding
    partners promised and add to a gift now: ledger.pledges), in two queries."""
    campaigns = {campaign.pk: campaign for campaign in campaign_public_queryset().filter(pk__in=campaign_ids)}
    matching = campaigns_matching(campaign_ids=set(campaigns))
    for campaign_id, campaign in campaigns.items():
        campaign.matching = matching.get(campaign_id, NO_MATCHING)  # type: ignore[attr-defined]
    return campaigns


# --- funnel -------------------------------------------------------------------

SOLD_STATUSES = (ItemStatus.SOLD, ItemStatus.HANDED_OVER)
FUNNEL_DAYS = (1, 90)  # bounds of the period a funnel covers, in days


@dataclass(frozen=True)
class FunnelRow:
    item_id: int | None  # None: scans of the window's own code
    title: str
    price_cents: int
    scans: int
    visitors: int
    sold: bool
    sold_cents: int


@dataclass(frozen=True)
class FunnelHour:
    """One hour of the period (or one day, in ``Funnel.days``): ``hour`` is when it starts."""

    hour: datetime
    scans: int
    sales: int
    sold_cents: int = 0


@dataclass(frozen=True)
class Funnel:
    since: datetime
    until: datetime
    rows: list[FunnelRow]
    hours: list[FunnelHour]  # every hour of the period, in order, those without a scan or a sale included

    @property
    def days(self) -> list[FunnelHour]:
        """Every day of the period (in the site's time zone), its hours added up; a day starts at its first hour."""
        days: dict[date, list[FunnelHour]] = {}
        for hour in self.hours:
            days.setdefault(timezone.localtime(hour.hour).date(), []).append(hour)
        return [
            FunnelHour(
                hour=hours[0].hour,
                scans=sum(hour.scans for hour in hours),
                sales=sum(hour.sales for hour in hours),
                sold_cents=sum(hour.sold_cents for hour in hours),
            )
            for hours in days.values()
        ]

    @property
    def scans(self) -> int:
        return sum(row.scans for row in self.rows)

    @property
    def sales(self) -> int:
        return sum(1 for row in self.rows if row.sold_cents)

    @property
    def sold_cents(self) -> int:
        return sum(row.sold_cents for row in self.rows)


def window_sold_cents(*, window: Window, since: datetime) -> int:
    """What items placed in ``window`` sold for since ``since`` (their prices; the ledger's once it lands)."""
    placed = Placement.objects.filter(window=window).values("item_id")
    sold = ItemTransition.objects.filter(item_id__in=placed, to_status=ItemStatus.SOLD, at__gte=since)
    return int(sold.aggregate(total=Sum("item__price_cents"))["total"] or 0)


def window_funnel(*, window: Window, since: datetime, until: datetime) -> Funnel:
    """Scans and sales of a window between ``since`` and ``until``, per item and per hour, in 4 queries.

    A sale counts for the window when an item placed in it was sold in the
    period (its move to ``sold``); its amount is the item's price. Checkouts
    started and paid orders join here once payments land.
    """
    scans = Scan.objects.filter(window=window, at__gte=since, at__lt=until)
    per_item = {
        row["placement__item_id"]: row
        for row in scans.values("placement__item_id").annotate(
            scans=Count("id"), visitors=Count("visitor_hash", distinct=True)
        )
    }
    placements = (
        Placement.objects.filter(window=window)
        .select_related("item")
        .order_by(F("removed_at").asc(nulls_first=True), "position", "id")  # items still in the window first
    )
    items = {placement.item_id: placement.item for placement in placements}
    sales = list(
        ItemTransition.objects.filter(
            item_id__in=items, to_status=ItemStatus.SOLD, at__gte=since, at__lt=until
        ).values_list("item_id", "at")
    )
    sold_ids = {item_id for item_id, _at in sales}
    prices = {item_id: item.price_cents or 0 for item_id, item in items.items()}
    rows = []
    if None in per_item:
        own = per_item[None]
        rows.append(FunnelRow(None, "", 0, own["scans"], own["visitors"], sold=False, sold_cents=0))
    for item_id, item in items.items():
        counted = per_item.get(item_id, {"scans": 0, "visitors": 0})
        sold_cents = (item.price_cents or 0) if item_id in sold_ids else 0
        rows.append(
            FunnelRow(
                item_id=item_id,
                title=item.title,
                price_cents=item.price_cents or 0,
                scans=counted["scans"],
                visitors=counted["visitors"],
                sold=item.status in SOLD_STATUSES,
                sold_cents=sold_cents,
            )
        )
    # Every hour of the period, so that a chart or a sheet shows the empty ones as zeros (whole hours: the
    # same in UTC and in Europe/Paris), then the counts of those with scans or sales.
    first = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    by_hour = {first + timedelta(hours=index): [0, 0, 0] for index in range(ceil((until - first) / timedelta(hours=1)))}
    for row in scans.annotate(hour=TruncHour("at")).values("hour").annotate(count=Count("id")):
        by_hour.setdefault(row["hour"].astimezone(UTC), [0, 0, 0])[0] = row["count"]
    for item_id, at in sales:
        counts = by_hour.setdefault(at.astimezone(UTC).replace(minute=0, second=0, microsecond=0), [0, 0, 0])
        counts[1] += 1
        counts[2] += prices[item_id]
    hours = [FunnelHour(hour, *counts) for hour, counts in sorted(by_hour.items())]
    return Funnel(since=since, until=until, rows=rows, hours=hours)


# Windows on display now holding an item: read at every move of an item (each of its live events),
# as plain SQL (the ORM's query took longer to build than to run). Tables as the migrations named them.
# ``{item}``: the item's id, a parameter or a column of the read it is part of.
_WINDOWS_OF_ITEM = """FROM qr_placement p JOIN qr_window w ON w.id = p.window_id
WHERE p.item_id = {item} AND p.removed_at IS NULL
  AND w.is_active = %s AND w.starts_at <= %s AND (w.ends_at IS NULL OR w.ends_at > %s)"""
_WINDOWS_SHOWING_SQL = f"SELECT p.window_id {_WINDOWS_OF_ITEM.format(item='%s')} ORDER BY p.window_id"


def windows_showing(*, item_id: int) -> list[int]:
    """Windows on display now in which the item stands (its live events go to their screens)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_WINDOWS_SHOWING_SQL, [item_id, True, now, now])
        return [row[0] for row in cursor.fetchall()]


def windows_showing_annotation(*, item_column: str, now: datetime) -> tuple[str, list[object]]:
    """``windows_showing`` for each item of a read, in the read itself (a kernel.sql.rows_select
    annotation on ``item_column``, such as ``t0.id``): the windows' ids as text, ``1,4``, or None;
    ``windows_from_annotation`` reads it. The checkout reads its items so, a round trip fewer."""
    listed = "string_agg(p.window_id::text, ',')" if connection.vendor == "postgresql" else "group_concat(p.window_id)"
    sql = f"SELECT {listed} {_WINDOWS_OF_ITEM.format(item=item_column)}"
    at = connection.ops.adapt_datetimefield_value(now)
    return sql, [True, at, at]


def windows_from_annotation(value: str | None) -> list[int]:
    """The ids ``windows_showing_annotation`` read, in order, as ``windows_showing`` gives them."""
    return sorted(int(pk) for pk in value.split(",")) if value else []
