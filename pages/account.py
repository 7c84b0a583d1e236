"""The donor's space (``/mon-compte/``): their gifts with their receipts, their
purchases (each object bought, and each organisation's claim code while its
objects wait for them), the objects they posted (and, for those they keep at home
and sold, "Remettre un objet": the buyer's claim code confirms the hand-over), their tax receipts and the
yearly-receipt choice, the data export and account deletion. It gathers the rooms' own reads (checkout, donations,
receipts); the writes are theirs (receipts.changes, accounts.services)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from accounts.models import User
from accounts.throttles import attempt_count, attempts_locked, too_many_attempts_message
from alerts.selectors import alerts_of
from checkout.purchases import PurchasePart, purchase_lines, purchase_parts
from checkout.selectors import (
    fulfilment_for_giver_claim_code,
    gifts_of,
    orders_of,
    pickup_deadline,
    pickups_kept_by,
    recurring_gifts_of,
)
from checkout.services import claim_code_normalise, fulfilment_hand_over
from checkout.services.recurring import recurring_manage_url
from donations.models import Gift, Order, OrderLine
from donations.selectors import items_owned_by
from donations.services import OWNER_WITHDRAWABLE_STATUSES
from kernel.errors import DomainError
from receipts.changes import receipt_preference_set
from receipts.delivery import receipt_pdf_link
from receipts.forms import ReceiptPreferenceForm
from receipts.models import ReceiptPreference, TaxReceipt
from receipts.selectors import gift_receipts, receipts_of, receipts_waiting_for

# Each list shows the newest rows up to this; the data export holds them all.
LIST_LIMIT = 100

MISSING_LABELS = {
    "account": gettext_lazy("une adresse e-mail confirmée"),
    "first_name": gettext_lazy("votre prénom"),
    "last_name": gettext_lazy("votre nom"),
    "address_line1": gettext_lazy("votre adresse postale"),
    "postal_code": gettext_lazy("votre code postal"),
    "city": gettext_lazy("votre ville"),
}


# The throttle's scope for the codes a private giver types (accounts.throttles: failures
# counted per account and per client address, as sign-ins are).
GIVER_HAND_OVER = "giver_hand_over"


class GiverHandOverForm(forms.Form):
    """The code the buyer shows or says when they come for an object a private giver keeps:
    case, spaces and dashes are forgiven (checkout.services.claim_code_normalise)."""

    code = forms.CharField(
        label=gettext_lazy("Code de retrait de l'acheteur"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "maxlength": "40"}
        ),
    )


@dataclass(frozen=True)
class GiftRow:
    gift: Gift
    receipt: TaxReceipt | None
    receipt_url: str


@dataclass(frozen=True)
class OrderRow:
    order: Order
    lines: list[OrderLine]
    # One per organisation of the basket, with its claim code and page while it waits to be collected.
    parts: list[PurchasePart]


def _gift_rows(user: User) -> tuple[list[GiftRow], int]:
    gifts = gifts_of(user=user)
    shown = list(gifts[:LIST_LIMIT])
    receipts = gift_receipts(gift_ids=[gift.pk for gift in shown])
    rows = []
    for gift in shown:
        receipt = receipts.get(gift.pk)
        rows.append(GiftRow(gift, receipt, receipt_pdf_link(receipt=receipt) if receipt else ""))
    return rows, gifts.count() if len(shown) == LIST_LIMIT else len(shown)


def _order_rows(user: User) -> tuple[list[OrderRow], int]:
    orders = orders_of(user=user)
    shown = list(orders[:LIST_LIMIT])
    rows = [OrderRow(order, purchase_lines(order), purchase_parts(order)) for order in shown]
    return rows, orders.count() if len(shown) == LIST_LIMIT else len(shown)


def _receipt_rows(user: User) -> list[tuple[TaxReceipt, str]]:
    """Every receipt with its signed PDF link, once the address is verified (as ``GET /api/me/receipts/``)."""
    if not user.email_verified:
        return []
    return [(receipt, receipt_pdf_link(receipt=receipt)) for receipt in receipts_of(user=user)[:LIST_LIMIT]]


def _preference(user: User) -> bool:
    preference = ReceiptPreference.objects.filter(user=user).first()
    return bool(preference and preference.consolidated)


@require_safe
@login_required
def account(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return _render(request, user, ReceiptPreferenceForm(initial={"consolidated": str(_preference(user)).lower()}))


def _to_hand_over(user: User) -> list[dict[str, Any]]:
    """What the person keeps at home, sold and paid, waiting for its buyer: its objects, the deadline,
    and the buyer's email to agree on a meeting (never a buyer's address: a private giver's part is
    never sent to a home)."""
    return [
        {"fulfilment": fulfilment, "lines": list(fulfilment.lines.all()), "deadline": pickup_deadline(fulfilment)}
        for fulfilment in pickups_kept_by(giver=user)[:LIST_LIMIT]
    ]


def _render(
    request: HttpRequest,
    user: User,
    form: ReceiptPreferenceForm,
    status: int = 200,
    hand_over_form: GiverHandOverForm | None = None,
) -> HttpResponse:
    gifts, gifts_count = _gift_rows(user)
    orders, orders_count = _order_rows(user)
    waiting = receipts_waiting_for(user=user)
    context: dict[str, Any] = {
        "gifts": gifts,
        "gifts_count": gifts_count,
        # Monthly gifts, each with its page to change the amount or stop it.
        "monthly": [
            (recurring, recurring_manage_url(recurring)) for recurring in recurring_gifts_of(user=user)[:LIST_LIMIT]
        ],
        "orders": orders,
        "orders_count": orders_count,
        "items": list(items_owned_by(user).order_by("-created_at", "-id")[:LIST_LIMIT]),
        "withdrawable": OWNER_WITHDRAWABLE_STATUSES,
        "to_hand_over": _to_hand_over(user),
        "hand_over_form": hand_over_form or GiverHandOverForm(),
        "receipts": _receipt_rows(user),
        "waiting": waiting["waiting"],
        "missing": [MISSING_LABELS.get(name, name) for name in waiting["missing"]],
        "preference_form": form,
        "alerts": list(alerts_of(user=user)),
        "list_limit": LIST_LIMIT,
    }
    return render(request, "pages/account.html", context, status=status)


@require_POST
@login_required
def receipt_preference(request: HttpRequest) -> HttpResponse:
    """The yearly-receipt choice (receipts.changes.receipt_preference_set, as PATCH /api/me/receipts/status/)."""
    user: User = request.user  # type: ignore[assignment]
    form = ReceiptPreferenceForm(request.POST)
    if not form.is_valid():
        return _render(request, user, form, status=400)
    receipt_preference_set(user=user, consolidated=form.cleaned_data["consolidated"])
    messages.success(request, _("Votre choix pour les reçus fiscaux est enregistré."))
    return redirect("pages:account")


@require_POST
@login_required
def hand_over(request: HttpRequest) -> HttpResponse:
    """ "Remettre un objet": a private giver types the claim code the buyer shows them, which
    hands over that part of the order (checkout's hand-over, as at the organisation's counter:
    the return period starts). A code that is not one of theirs is a field error, as a code that
    does not exist; failures are counted, and past the limit refused for a while."""
    user: User = request.user  # type: ignore[assignment]
    form = GiverHandOverForm(request.POST)
    status = 400
    if form.is_valid():
        if attempts_locked(scope=GIVER_HAND_OVER, request=request, email=user.email):
            form.add_error("code", too_many_attempts_message())
            status = 429
        else:
            code = claim_code_normalise(form.cleaned_data["code"]) or ""
            fulfilment = fulfilment_for_giver_claim_code(code=code, giver=user) if code else None
            if fulfilment is None:
                attempt_count(scope=GIVER_HAND_OVER, request=request, email=user.email)
                form.add_error(
                    "code",
                    _("Code inconnu : vérifiez-le avec l'acheteur (il est sur sa page de retrait et dans son e-mail)."),
                )
            else:
                try:
                    fulfilment = fulfilment_hand_over(fulfilment=fulfilment, claim_code=code, actor=user)
                except DomainError as refused:
                    form.add_error("code", str(refused.detail))
                else:
                    titles = ", ".join(f"« {line.item.title} »" for line in fulfilment.lines.select_related("item"))
                    messages.success(request, _("Remise enregistrée : %(titles)s. Merci !") % {"titles": titles})
                    return redirect(reverse("pages:account") + "#remettre")
    preference = ReceiptPreferenceForm(initial={"consolidated": str(_preference(user)).lower()})
    return _render(request, user, preference, status=status, hand_over_form=form)
