"""Pages and endpoints of payments: the Stripe webhook, the demo checkout page,
and the return pages (success / cancel)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.requests import signed_in
from campaigns.models import Campaign, LedgerEntry
from donations.models import Gift, Order, PaymentStatus
from donations.receipt_delivery import receipt_pdf_link
from donations.selectors import gift_receipt, order_claim_url
from donations.services import gift_start, order_start
from kernel.errors import DomainError
from kernel.net import client_key
from kernel.spreadsheet import Cell, Euros, csv_response
from payments import demo_gateway
from payments.emails import gift_receipt_sentence
from payments.forms import BuyForm, GiveForm
from payments.gateways import GatewayError, gateway
from payments.selectors import campaign_ledger_for_manager
from payments.services import event_receive
from payments.throttles import payment_attempt_check

logger = logging.getLogger(__name__)

DEMO_PAYS = "4242424242424242"
DEMO_DECLINED = "4000000000000002"
# Literal, so makemessages finds them; translated when the file is written.
LEDGER_COLUMNS = [
    gettext_noop("date"),
    gettext_noop("sens"),
    gettext_noop("motif"),
    gettext_noop("montant (€)"),
    gettext_noop("commande"),
    gettext_noop("don"),
    gettext_noop("événement"),
]
RETURN_SALT = "tremma.payment-return"  # the same salt as donations.services.checkout._return_urls


def stripe_signed_event_receive(
    request: HttpRequest, *, secret: str, parse: str, receive: Callable[..., Any], label: str
) -> HttpResponse:
    """A Stripe webhook endpoint: verify first (raw body, signature with ``secret``,
    tolerance) with ``payments.stripe_gateway.<parse>``, then record and process
    once with ``receive``; 2xx only once the event is durably recorded."""
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
    receive(event=event)
    return HttpResponse("ok", content_type="text/plain")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """The platform's endpoint: payments, refunds and disputes."""
    return stripe_signed_event_receive(
        request, secret=settings.STRIPE_WEBHOOK_SECRET, parse="webhook_event", receive=event_receive, label="webhook"
    )


def _demo_target(token: str) -> Order | Gift:
    session_id = demo_gateway.SESSION_PREFIX + token
    order = Order.objects.select_related("item", "campaign").filter(provider_session_id=session_id).first()
    if order is not None:
        return order
    gift = Gift.objects.select_related("campaign").filter(provider_session_id=session_id).first()
    if gift is None:
        raise Http404
    return gift


@require_http_methods(["GET", "HEAD", "POST"])
def demo_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """The demo gateway's hosted page: a test card pays through the same event processing as Stripe."""
    if settings.PAYMENT_GATEWAY != "demo":
        raise Http404
    target = _demo_target(token)
    is_order = isinstance(target, Order)
    expired = is_order and target.expires_at <= timezone.now()  # type: ignore[union-attr]
    ref = signing.dumps({"kind": "order" if is_order else "gift", "id": target.pk}, salt=RETURN_SALT)
    cancel_url = f"{reverse('payments:cancel')}?{urlencode({'ref': ref})}"
    context: dict[str, Any] = {
        "target": target,
        "is_order": is_order,
        "expired": expired,
        "error": "",
        "cancel_url": cancel_url,
    }
    if target.status != PaymentStatus.PENDING:
        context["error"] = _("Ce paiement n'est plus en attente.")
    elif expired:
        # What Stripe sends when a session expires, through the same processing.
        event_receive(event=demo_gateway.expired_event(order=target))  # type: ignore[arg-type]
        context["error"] = _("Le délai de paiement est dépassé : l'objet a été remis en vente.")
    elif request.method == "POST":
        card = re.sub(r"\D", "", request.POST.get("card_number", ""))
        if card == DEMO_PAYS:
            event_receive(
                event=demo_gateway.completed_event(
                    kind="order" if is_order else "gift",
                    object_id=target.pk,
                    session_id=target.provider_session_id or "",
                    amount_cents=target.amount_cents,
                    currency=target.currency,
                )
            )
            return HttpResponseRedirect(f"{reverse('payments:success')}?{urlencode({'ref': ref})}")
        if card == DEMO_DECLINED:
            context["error"] = _("Votre carte a été refusée. Essayez une autre carte.")
        else:
            context["error"] = _(
                "Carte inconnue : en démo, utilisez 4242 4242 4242 4242 (ou 4000 0000 0000 0002 pour un refus)."
            )
    status = 400 if request.method == "POST" and context["error"] else 200
    return render(request, "payments/demo_checkout.html", context, status=status)


def _return_target(request: HttpRequest) -> Order | Gift:
    try:
        ref = signing.loads(request.GET.get("ref", ""), salt=RETURN_SALT, max_age=7 * 24 * 3600)
    except signing.BadSignature:
        raise Http404 from None
    model = Order if ref.get("kind") == "order" else Gift
    related = ("item", "campaign__organisation") if model is Order else ("campaign__organisation",)
    target = model.objects.select_related(*related).filter(pk=ref.get("id")).first()  # type: ignore[attr-defined]
    if target is None:
        raise Http404
    return target  # type: ignore[no-any-return]


@require_safe
def checkout_success(request: HttpRequest) -> HttpResponse:
    """Shows "processing" until the payment is confirmed (the webhook), then the receipt."""
    target = _return_target(request)
    if target.status == PaymentStatus.PENDING and target.provider_session_id:
        # The buyer may be back before the webhook: refetch the session and fulfil
        # through the same idempotent processing.
        try:
            event = gateway().checkout_paid_event(target.provider_session_id)
        except GatewayError:
            logger.warning("success page: session of %s not refetched", target, exc_info=True)
            event = None
        if event is not None and event.provider == target.provider:
            event_receive(event=event)
            target.refresh_from_db()
    paid = target.status == PaymentStatus.PAID
    context: dict[str, Any] = {"target": target, "is_order": isinstance(target, Order), "paid": paid}
    if isinstance(target, Order):
        # The claim page is the lasting copy of this one: its address goes in the email too.
        context.update(order=target, organisation=target.campaign.organisation, claim_url=order_claim_url(target))
    elif paid:
        # A gift's tax receipt may already be issued (the giver's details were complete).
        receipt = gift_receipt(gift=target)
        context["receipt_url"] = receipt_pdf_link(receipt=receipt) if receipt else ""
        # Else what the thanks email says too, word for word.
        context["receipt_sentence"] = gift_receipt_sentence(gift=target)
    response = render(request, "payments/success.html", context)
    # It shows the claim code: no shared cache may keep it.
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_safe
def checkout_cancel(request: HttpRequest) -> HttpResponse:
    target = _return_target(request)
    return render(request, "payments/cancel.html", {"target": target, "is_order": isinstance(target, Order)})


def _problem(request: HttpRequest, messages: list[str], back_url: str, status: int) -> HttpResponse:
    return render(request, "payments/problem.html", {"messages_list": messages, "back_url": back_url}, status=status)


@require_POST
def item_buy(request: HttpRequest, pk: int) -> HttpResponse:
    """The item page's "buy" form: reserve, then go to the provider's checkout."""
    back = reverse("frontend:item", kwargs={"pk": pk})
    form = BuyForm(request.POST)
    if not form.is_valid():
        return _problem(request, [str(e) for errors in form.errors.values() for e in errors], back, 400)
    user = signed_in(request)
    try:
        payment_attempt_check(client_key=client_key(request), email=form.cleaned_data["email"])
        order = order_start(
            item_id=pk,
            email=form.cleaned_data["email"],
            user=user,  # type: ignore[arg-type]
            client_key=client_key(request),
        )
    except DomainError as error:
        return _problem(request, [str(error.detail)], back, error.status_code)
    return HttpResponseRedirect(order.checkout_url, status=303)


@require_POST
def campaign_give(request: HttpRequest, slug: str) -> HttpResponse:
    """The campaign page's gift form: record the gift, then go to the provider's checkout."""
    back = reverse("frontend:campaign", kwargs={"slug": slug})
    form = GiveForm(request.POST)
    if not form.is_valid():
        # The form again, as typed, each error beside its field; nothing is recorded.
        campaign = Campaign.objects.filter(slug=slug, status=Campaign.Status.LIVE).first()
        if campaign is None:
            return _problem(request, form.error_messages_labelled(), back, 400)
        return render(request, "payments/give.html", {"campaign": campaign, "form": form}, status=400)
    user = signed_in(request)
    data = form.cleaned_data
    try:
        payment_attempt_check(client_key=client_key(request), email=data["email"])
        gift = gift_start(
            campaign_slug=slug,
            amount_cents=data["amount"],
            email=data["email"],
            name=data["name"],
            anonymous=data["anonymous"],
            message=data["message"],
            user=user,  # type: ignore[arg-type]
            receipt=data["receipt_details"],
        )
    except DomainError as error:
        return _problem(request, [str(error.detail)], back, error.status_code)
    return HttpResponseRedirect(gift.checkout_url, status=303)


@require_safe
def campaign_ledger_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """A campaign's ledger as CSV, for the managers of its organisation."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    entries = campaign_ledger_for_manager(user=request.user, slug=slug)  # type: ignore[arg-type]
    if entries is None:
        raise Http404
    rows: list[list[Cell]] = []
    for entry in entries:
        signed = entry.amount_cents if entry.kind == LedgerEntry.Kind.CREDIT else -entry.amount_cents
        rows.append(
            [
                entry.created_at,
                entry.get_kind_display(),
                entry.get_reason_display(),
                Euros(signed),
                entry.order_id,
                entry.gift_id,
                entry.provider_event_id,
            ]
        )
    return csv_response(filename=f"ecritures-{slug}.csv", header=[_(c) for c in LEDGER_COLUMNS], rows=rows)
