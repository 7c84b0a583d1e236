"""The giver's page of a monthly gift (``/dons/mensuel/<signed>/``), reached from the
signed link of every month's email or from their space (/mon-compte/): its months,
its amount to change, the button to stop it. The signed link is the key: no account
needed; a forged, altered or unknown link is a 404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from checkout.forms import RecurringAmountForm, money_text
from checkout.services.recurring import (
    recurring_from_signed,
    recurring_gift_change_amount,
    recurring_gift_stop,
)
from donations.models import PaymentStatus, RecurringGift
from kernel.errors import DomainError
from payments import demo_gateway


def _private(response: HttpResponse) -> HttpResponse:
    # The address is the secret: no shared cache keeps the page, no search engine lists it.
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex"
    return response


def _render(
    request: HttpRequest, recurring: RecurringGift, form: RecurringAmountForm, status: int = 200
) -> HttpResponse:
    charges = list(
        recurring.charges.filter(status__in=(PaymentStatus.PAID, PaymentStatus.REFUNDED)).order_by("-paid_at", "-pk")
    )
    context: dict[str, Any] = {
        "recurring": recurring,
        "charges": charges,
        "given_cents": sum(charge.amount_cents - charge.refunded_cents for charge in charges),
        "form": form,
        # The demo provider's page, where a person plays the next month's charge.
        "demo_url": (
            demo_gateway.subscription_page_url(recurring.provider_subscription_id)
            if settings.PAYMENT_GATEWAY == "demo"
            and recurring.provider == demo_gateway.PROVIDER
            and recurring.provider_subscription_id
            else ""
        ),
    }
    return _private(render(request, "checkout/recurring.html", context, status=status))


@require_http_methods(["GET", "HEAD", "POST"])
def recurring_manage(request: HttpRequest, signed: str) -> HttpResponse:
    recurring = recurring_from_signed(signed)
    if recurring is None:
        raise Http404
    if request.method != "POST":
        return _render(request, recurring, RecurringAmountForm(initial={"amount": money_text(recurring.amount_cents)}))
    action = request.POST.get("action", "")
    try:
        if action == "stop":
            recurring_gift_stop(recurring_id=recurring.pk)
            messages.success(request, _("Votre don mensuel est arrêté : plus aucun prélèvement. Merci pour vos dons !"))
        elif action == "amount":
            form = RecurringAmountForm(request.POST)
            if not form.is_valid():
                return _render(request, recurring, form, status=400)
            recurring_gift_change_amount(recurring_id=recurring.pk, amount_cents=form.cleaned_data["amount"])
            messages.success(
                request,
                _("Votre don mensuel passe à %(amount)s à partir du prochain prélèvement.")
                % {"amount": money_text(form.cleaned_data["amount"])},
            )
        else:
            form = RecurringAmountForm()
            form.add_error(None, _("Action inconnue."))
            return _render(request, recurring, form, status=400)
    except DomainError as error:
        form = RecurringAmountForm(request.POST if action == "amount" else None)
        form.add_error(None, str(error.detail))
        recurring.refresh_from_db()
        return _render(request, recurring, form, status=error.status_code)
    return _private(HttpResponseRedirect(request.path, status=303))
