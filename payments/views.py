"""Pages and endpoints of the payments adapter: the Stripe webhook and the demo
gateway's checkout page."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from payments import demo_gateway
from payments.events import event_record
from payments.gateways import GatewayError
from payments.models import DemoSession, DemoSubscription

logger = logging.getLogger(__name__)

DEMO_PAYS = "4242424242424242"
DEMO_DECLINED = "4000000000000002"
# Literal, so makemessages finds them; translated when the file is written.


def stripe_signed_event_receive(
    request: HttpRequest, *, secret: str, parse: str, receive: Callable[..., Any], label: str
) -> HttpResponse:
    """A Stripe webhook endpoint: verify first (raw body, signature with ``secret``,
    tolerance) with ``payments.stripe_gateway.<parse>``, then hand the event to ``receive``
    (which records it once); 2xx only once the event is durably recorded."""
    if settings.PAYMENT_GATEWAY != "stripe" or not secret:
        raise Http404
    from payments import stripe_gateway  # the Stripe SDK, loaded only where Stripe is used

    try:
        event = getattr(stripe_gateway, parse)(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except stripe_gateway.InvalidWebhook as error:
        logger.warning("%s: rejected (%s)", label, error)
        return HttpResponseBadRequest("invalid signature", content_type="text/plain")
    except GatewayError as error:
        # Verified, but what it needs from Stripe could not be read: Stripe delivers it again later.
        logger.warning("%s: not recorded yet (%s)", label, error)
        return HttpResponse("try again", content_type="text/plain", status=503)
    receive(event=event)
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """The platform's endpoint: payments, refunds and disputes, recorded here and applied by a
    worker (payments.events.event_record), so that Stripe hears its 2xx at once."""
    return stripe_signed_event_receive(
        request, secret=settings.STRIPE_WEBHOOK_SECRET, parse="webhook_event", receive=event_record, label="webhook"
    )


@require_http_methods(["GET", "HEAD", "POST"])
def demo_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """The demo gateway's hosted page: a test card pays through the same event processing as Stripe."""
    if settings.PAYMENT_GATEWAY != "demo":
        raise Http404
    session = DemoSession.objects.filter(session_id=demo_gateway.SESSION_PREFIX + token).first()
    if session is None:
        raise Http404
    # A hold ends with its session; a gift waits for its giver.
    expired = session.kind == "order" and session.expires_at <= timezone.now()
    context: dict[str, Any] = {"session": session, "expired": expired, "error": ""}
    if session.status != DemoSession.Status.OPEN:
        context["error"] = _("Ce paiement n'est plus en attente.")
    elif expired:
        # What Stripe sends when a session expires, through the same processing.
        demo_gateway.session_expire(session.session_id)
        context["error"] = _("Le délai de paiement est dépassé : l'objet a été remis en vente.")
    elif request.method == "POST":
        card = re.sub(r"\D", "", request.POST.get("card_number", ""))
        if card == DEMO_PAYS:
            demo_gateway.session_pay(session.session_id)
            # Our own return page (the session keeps its absolute address): go there on this site.
            back = urlsplit(session.success_url)
            return HttpResponseRedirect(f"{back.path}?{back.query}" if back.query else back.path)
        if card == DEMO_DECLINED:
            context["error"] = _("Votre carte a été refusée. Essayez une autre carte.")
        else:
            context["error"] = _(
                "Carte inconnue : en démo, utilisez 4242 4242 4242 4242 (ou 4000 0000 0000 0002 pour un refus)."
            )
    status = 400 if request.method == "POST" and context["error"] else 200
    return render(request, "payments/demo_checkout.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def demo_subscription(request: HttpRequest, token: str) -> HttpResponse:
    """Demo only: a subscription's page at the demo provider, where a person plays the next
    month's charge (paid, or declined and retried) through the same processing as Stripe's invoices."""
    if settings.PAYMENT_GATEWAY != "demo":
        raise Http404
    subscription_id = demo_gateway.SUBSCRIPTION_PREFIX + token
    subscription = DemoSubscription.objects.select_related("session").filter(subscription_id=subscription_id).first()
    if subscription is None:
        raise Http404
    notice = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in {"pay", "fail"}:
            return HttpResponseBadRequest(_("Action inconnue."), content_type="text/plain; charset=utf-8")
        if not demo_gateway.subscription_charge_next(subscription_id, fail=action == "fail"):
            notice = _("Cet abonnement est arrêté : plus aucun prélèvement.")
        else:
            return HttpResponseRedirect(request.path + ("?refuse=1" if action == "fail" else "?paye=1"))
    elif "paye" in request.GET:
        notice = _("Prélèvement simulé : le don du mois est enregistré.")
    elif "refuse" in request.GET:
        notice = _("Prélèvement refusé simulé : il sera retenté.")
    return render(request, "payments/demo_subscription.html", {"subscription": subscription, "notice": notice})
