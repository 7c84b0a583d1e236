"""The donor wall's moderation (``/gestion/mur/``): the names and messages givers left with their
gifts, waiting for a decision, shown or hidden, of the campaigns the person may edit. Approving
puts them on the campaign page; hiding takes them off (checkout.services.gift_wall_decide, which
records each decision in the organisation's audit trail). Another organisation's gift is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from checkout.selectors import wall_gifts_managed
from checkout.services import WALL_DECISIONS, gift_wall_decide
from donations.models import Gift
from kernel.errors import DomainError, NotFound

PAGE_SIZE = 30
TABS = [
    (Gift.WallStatus.PENDING, Gift.WallStatus.PENDING.label),
    (Gift.WallStatus.APPROVED, Gift.WallStatus.APPROVED.label),
    (Gift.WallStatus.HIDDEN, Gift.WallStatus.HIDDEN.label),
]


@login_required
@require_safe
def wall_moderation(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not organisations_user_may(user, Permission.CAMPAIGNS).exists():
        raise PermissionDenied
    status = request.GET.get("statut", Gift.WallStatus.PENDING)
    if status not in Gift.WallStatus.values:
        status = Gift.WallStatus.PENDING
    page = Paginator(wall_gifts_managed(user=user, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "tabs": TABS,
        "several": organisations_user_may(user, Permission.CAMPAIGNS).count() > 1,
    }
    response = render(request, "checkout/manage/wall.html", context)
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_POST
def wall_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in WALL_DECISIONS:
        raise Http404
    user: User = request.user  # type: ignore[assignment]
    try:
        gift = gift_wall_decide(actor=user, gift_id=pk, decision=decision)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        if error.status_code == 403:
            raise PermissionDenied from None
        messages.error(request, str(error.detail))
    else:
        text = (
            _("Le message de %(name)s est affiché.")
            if decision == "approve"
            else _("Le message de %(name)s est masqué.")
        )
        messages.success(request, text % {"name": gift.name})
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("checkout:manage-wall")
    return redirect(back)
