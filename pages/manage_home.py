"""The managers' home (``/gestion/``): one page linking every tool the signed-in
manager may use, grouped, with the tools of each organisation under its name
when the person manages several. The links only: each page checks its own rights."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import User
from campaigns.selectors import organisations_administered_by, organisations_managed_by
from checkout.selectors import pickups_managed
from donations.models import ItemStatus
from donations.selectors import items_managed_by

# Built by another page of the workspace (issue 20); linked by its path.
ORDERS_PATH = "/gestion/commandes/"


@require_safe
@login_required
def manage_home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    organisations = list(organisations_managed_by(user).order_by("name"))
    if not organisations:
        raise PermissionDenied
    administered = set(organisations_administered_by(user).values_list("pk", flat=True))
    now = timezone.localtime()
    context = {
        "organisations": [
            {"organisation": organisation, "admin": organisation.pk in administered} for organisation in organisations
        ],
        "several": len(organisations) > 1,
        "orders_path": ORDERS_PATH,
        # The counts a manager acts on first: objects to review, objects waiting for their buyers.
        "to_review": items_managed_by(user).filter(status=ItemStatus.IN_REVIEW).count(),
        "to_collect": pickups_managed(user=user).count(),
        "last_year": now.year - 1,
    }
    return render(request, "pages/manage_home.html", context)
