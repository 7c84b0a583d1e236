"""Reads on matchfunding: what each pledge matched so far (its shares less what
refunds took back), which pledges run now, and what a campaign shows. A
partner's promise is never money received: these totals stand beside the
ledger's, never in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Case, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Pledge
from kernel.sql import marks
from ledger.models import PledgeMatch

_SIGNED_SHARE = Case(
    When(kind=PledgeMatch.Kind.TAKEN_BACK, then=-F("amount_cents")),
    default=F("amount_cents"),
    output_field=IntegerField(),
)


def pledge_matched_cents(*, pledge_id: int) -> int:
    """What the pledge matched so far: its shares less what refunds took back."""
    net = PledgeMatch.objects.filter(pledge_id=pledge_id).aggregate(net=Coalesce(Sum(_SIGNED_SHARE), Value(0)))["net"]
    return int(net)


def gift_matched_cents(*, pledge_id: int, gift_id: int) -> tuple[int, int]:
    """(share, net) of one gift under one pledge: its share as matched, and what remains of it."""
    rows = dict(
        PledgeMatch.objects.filter(pledge_id=pledge_id, gift_id=gift_id)
        .values_list("kind")
        .annotate(total=Sum("amount_cents"))
        .values_list("kind", "total")
    )
    share = int(rows.get(PledgeMatch.Kind.MATCH, 0))
    return share, share - int(rows.get(PledgeMatch.Kind.TAKEN_BACK, 0))


def _matched_subquery() -> Subquery:
    shares = (
        PledgeMatch.objects.filter(pledge=OuterRef("pk"))
        .order_by()
        .values("pledge")
        .annotate(net=Sum(_SIGNED_SHARE))
        .values("net")
    )
    return Subquery(shares, output_field=IntegerField())


def pledges_with_totals(pledges: QuerySet[Pledge]) -> QuerySet[Pledge]:
    """``pledges`` with ``matched_cents`` (one subquery: the list stays one query) and their partner."""
    return pledges.select_related("partner", "campaign").annotate(
        matched_cents=Coalesce(_matched_subquery(), Value(0), output_field=IntegerField())
    )


def pledge_runs(pledge: Pledge, *, at: datetime) -> bool:
    """Whether ``pledge`` matches a gift paid at ``at``: still promised (not settled) and not over."""
    return pledge.status == Pledge.Status.ACTIVE and at <= pledge.ends_at


@dataclass(frozen=True)
class CampaignMatching:
    """What a campaign's page and a window's screen show of its pledges.

    ``matched_cents``: promised by partners and not yet paid (settled pledges' money is
    in the ledger now). ``percent``: how much of a gift paid now is matched, all
    running pledges with room left together (100: "votre don est doublé"; 0: none).
    ``partners``: the names of the partners whose promise is shown. ``until``: the
    earliest end of the pledges running now."""

    matched_cents: int
    percent: int
    partners: tuple[str, ...]
    until: datetime | None


NO_MATCHING = CampaignMatching(0, 0, (), None)


# The table as its migration named it. Most campaigns have no pledge: this short read spares them the
# pledges' read with their totals, whose ORM form took ten times longer to build than this one to run
# (asked at every payment, for its live event, and by every campaign page).
_ANY_UNSETTLED_SQL = "SELECT 1 FROM campaigns_pledge WHERE status = %s AND campaign_id IN ({ids}) LIMIT 1"


def _any_unsettled(campaign_ids: set[int]) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            _ANY_UNSETTLED_SQL.format(ids=marks(len(campaign_ids))), [Pledge.Status.ACTIVE, *sorted(campaign_ids)]
        )
        return cursor.fetchone() is not None


def campaigns_matching(*, campaign_ids: set[int], now: datetime | None = None) -> dict[int, CampaignMatching]:
    """The matching of each of ``campaign_ids`` that has an unsettled pledge: one short read when none
    has, else one query more."""
    if not campaign_ids or not _any_unsettled(campaign_ids):
        return {}
    now = now or timezone.now()
    pledges = pledges_with_totals(
        Pledge.objects.filter(campaign_id__in=campaign_ids, status=Pledge.Status.ACTIVE)
    ).order_by("campaign_id", "ends_at", "pk")
    found: dict[int, list[Pledge]] = {}
    for pledge in pledges:
        found.setdefault(pledge.campaign_id, []).append(pledge)
    matching = {}
    for campaign_id, rows in found.items():
        running = [
            pledge
            for pledge in rows
            if pledge_runs(pledge, at=now) and pledge.matched_cents < pledge.cap_cents  # type: ignore[attr-defined]
        ]
        # A pledge over that matched nothing has nothing to show.
        shown = [pledge for pledge in rows if pledge in running or pledge.matched_cents > 0]  # type: ignore[attr-defined]
        if not shown:
            continue
        matching[campaign_id] = CampaignMatching(
            matched_cents=sum(pledge.matched_cents for pledge in rows),  # type: ignore[attr-defined]
            percent=sum(pledge.ratio_percent for pledge in running),
            partners=tuple(dict.fromkeys(pledge.partner.legal_name for pledge in shown)),
            until=min((pledge.ends_at for pledge in running), default=None),
        )
    return matching


def campaign_matching(*, campaign_id: int, now: datetime | None = None) -> CampaignMatching:
    """The matching of one campaign (``NO_MATCHING`` without an unsettled pledge)."""
    return campaigns_matching(campaign_ids={campaign_id}, now=now).get(campaign_id, NO_MATCHING)
