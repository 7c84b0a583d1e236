"""The managers' home (``/gestion/``): one page linking every tool the signed-in
manager may use, grouped, with the tools of each organisation under its name
when the person manages several. Each link shows only to a role that may use it
(campaigns/permissions.py); each page checks its own rights again."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import User
from campaigns.models import Membership, Pledge
from campaigns.permissions import Permission, role_permissions
from campaigns.selectors import organisations_user_may
from checkout.selectors import pickups_managed
from donations.models import ItemStatus, OrderLine
from donations.selectors import items_managed_by

# Built by another page of the workspace (issue 20); linked by its path.
ORDERS_PATH = "/gestion/commandes/"


@require_safe
@login_required
def manage_home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    # Every member (any role) has a home; what it links to depends on the role in each organisation.
    organisations = list(organisations_user_may(user, Permission.DASHBOARD).order_by("name"))
    if not organisations:
        raise PermissionDenied
    roles = dict(
        Membership.objects.filter(user=user, organisation__in=organisations).values_list("organisation_id", "role")
    )
    may: dict[int, set[str]] = {
        organisation.pk: {str(p) for p in role_permissions(roles.get(organisation.pk, ""))}
        for organisation in organisations
    }
    entries = [{"organisation": organisation, "may": may[organisation.pk]} for organisation in organisations]
    now = timezone.localtime()
    context = {
        "organisations": entries,
        # What the person may do in at least one of them (the pages that list every organisation's).
        "may": set().union(*may.values()),
        "several": len(organisations) > 1,
        "orders_path": ORDERS_PATH,
        # The counts a manager acts on first: objects to review, objects waiting for their buyers.
        "to_review": items_managed_by(user).filter(status=ItemStatus.IN_REVIEW).count(),
        # (Objects, not orders: one organisation's part of a basket may hold several.)
        "to_collect": OrderLine.objects.filter(
            fulfilment__in=pickups_managed(user=user).values("pk"), item__status=ItemStatus.SOLD
        ).count(),
        "last_year": now.year - 1,
        # Matchfunding pledges over, whose partner's payment a treasurer records when it arrives.
        "pledges_to_settle": list(
            Pledge.objects.filter(
                campaign__organisation__in=organisations_user_may(user, Permission.RECEIPTS),
                status=Pledge.Status.ACTIVE,
                ends_at__lt=now,
            )
            .select_related("campaign", "partner")
            .order_by("ends_at", "pk")[:20]
        ),
    }
    return render(request, "pages/manage_home.html", context)
