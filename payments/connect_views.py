"""Pages and endpoint of Stripe Connect onboarding: the organisation's payments
page (its admins connect the account), the Connect webhook (``account.updated``),
and the demo gateway's stand-in for Stripe's onboarding form."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from campaigns.models import Organisation
from kernel.errors import DomainError
from payments import demo_gateway
from payments.selectors import connect_summary, organisation_for_payments_admin
from payments.services import (
    connect_event_receive,
    demo_onboarding_complete,
    organisation_connect_refresh,
    organisation_connect_start,
)
from payments.views import stripe_signed_event_receive

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_connect_webhook(request: HttpRequest) -> HttpResponse:
    """The Connect endpoint: events of the connected accounts, signed with its own secret."""
    return stripe_signed_event_receive(
        request,
        secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET,
        parse="connect_webhook_event",
        receive=connect_event_receive,
        label="connect webhook",
    )


def _payments_page(
    request: HttpRequest, organisation: Organisation, *, error: str = "", status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "organisation": organisation,
        "summary": connect_summary(organisation),
        "error": error,
        "link_expired": "lien" in request.GET,
        "returned": "retour" in request.GET,
        "demo": settings.PAYMENT_GATEWAY == "demo",
    }
    response = render(request, "payments/organisation_payments.html", context, status=status)
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def organisation_payments(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's payments page: the state of its Stripe account, and
    the button that starts (or resumes) the onboarding. Its admins only."""
    user: User = request.user  # type: ignore[assignment]
    organisation = organisation_for_payments_admin(user=user, slug=slug)
    if organisation is None:
        raise Http404
    if request.method == "POST":
        try:
            url = organisation_connect_start(organisation_id=organisation.pk, actor=user)
        except DomainError as error:
            organisation.refresh_from_db()
            return _payments_page(request, organisation, error=str(error.detail), status=error.status_code)
        return HttpResponseRedirect(url, status=303)
    if "retour" in request.GET and organisation.stripe_account_id:
        # Back from the onboarding form, maybe before the event: show the account as it is now.
        organisation_connect_refresh(organisation_id=organisation.pk)
        organisation.refresh_from_db()
    return _payments_page(request, organisation)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def demo_onboarding(request: HttpRequest, token: str) -> HttpResponse:
    """The demo gateway's stand-in for Stripe's onboarding form: submitting it
    sends the same ``account.updated`` processing as Stripe would. Demo only,
    for the admins of the organisation that holds the account."""
    if settings.PAYMENT_GATEWAY != "demo":
        raise Http404
    data = demo_gateway.onboarding_link_data(token)
    if data is None:
        raise Http404
    organisation = Organisation.objects.filter(stripe_account_id=data["account"]).first()
    user: User = request.user  # type: ignore[assignment]
    if organisation is None or organisation_for_payments_admin(user=user, slug=organisation.slug) is None:
        raise Http404
    if request.method == "POST":
        demo_onboarding_complete(account_id=organisation.stripe_account_id)
        return HttpResponseRedirect(str(data["return"]), status=303)
    # Stripe also sends a user who leaves the form to the return address (not a sign of completion).
    context = {"organisation": organisation, "return_url": str(data["return"])}
    return render(request, "payments/demo_onboarding.html", context)
