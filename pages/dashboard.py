"""The managers' live dashboard (``/gestion/tableau-de-bord/``): server-rendered with the
figures of the moment, then kept fresh by /ws/dashboard/ (frontend/static/frontend/dashboard.js)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.selectors import reservations_in_progress
from kernel.money import percent
from ledger.selectors import campaigns_managed_by, dashboard_feed, dashboard_series
from qr.selectors import window_managed_queryset
from realtime.selectors import last_event_id

CHART_DAYS = 30
CHART_WIDTH = 300
CHART_HEIGHT = 60


def _chart_points(points: Sequence[tuple[date, int]], goal_cents: int) -> str:
    """SVG polyline points for cumulative money raised; the goal is the top of the chart."""
    top = max([goal_cents, *(value for _day, value in points)]) or 1
    step = CHART_WIDTH / max(1, len(points) - 1)
    return " ".join(
        f"{round(index * step)},{CHART_HEIGHT - (max(value, 0) * CHART_HEIGHT) // top}"
        for index, (_day, value) in enumerate(points)
    )


@require_safe
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    organisations = list(organisations_user_may(user, Permission.DASHBOARD))
    if not organisations:
        raise PermissionDenied
    now = timezone.now()
    campaigns = list(campaigns_managed_by(user, Permission.DASHBOARD))
    series = dashboard_series(campaign_ids=[c.pk for c in campaigns], days=CHART_DAYS, now=now)
    rows = [
        {
            "campaign": campaign,
            "percent": percent(campaign.raised_cents, campaign.goal_cents),  # type: ignore[attr-defined]
            "chart": _chart_points(series[campaign.pk], campaign.goal_cents),
        }
        for campaign in campaigns
    ]
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    context = {
        "organisations": organisations,
        "rows": rows,
        "feed": list(dashboard_feed(user=user, since=midnight)),
        "reservations": list(reservations_in_progress(user=user, now=now)),
        "windows": list(window_managed_queryset(user=user, permission=Permission.DASHBOARD)[:20]),
        # The stream resumes after the newest event that existed when the page was rendered.
        "last_event": last_event_id(),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "chart_days": CHART_DAYS,
        "since": now - timedelta(days=CHART_DAYS - 1),
    }
    return render(request, "pages/dashboard.html", context)
