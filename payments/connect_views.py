"""Pages and endpoint of Stripe Connect onboarding: the organisation's payments
page (its admins connect the account), the Connect webhook (``account.updated``),
and the demo gateway's stand-in for Stripe's onboarding form."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from campaigns.models import Organisation
from payments import demo_gateway
from payments.selectors import organisation_for_payments_admin
from payments.services import (
    connect_event_receive,
    demo_onboarding_complete,
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
