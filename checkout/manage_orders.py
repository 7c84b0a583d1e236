"""The managers' orders page: ``/gestion/commandes/`` lists the orders and
gifts of the organisations the person manages (filters as GET parameters,
kept by the pages and by the CSV export), and each one's page shows its
history and a refund form (the same ``payment_refund`` service as
``POST /api/orders/{id}/refund/``). Another organisation's order or gift is a
404, the same as a missing one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import managed_campaigns, user_may
from checkout.forms import PaymentFilterForm, RefundForm
from checkout.managed import (
    format_money,
    payment_history,
    payment_managed,
    payment_refundable,
    payment_rows,
    payment_rows_all,
    payment_state,
    payment_state_key,
    payments_managed,
)
from checkout.services import PaymentUnavailable, RefundRefused, RefundTooLarge, payment_refund
from donations.models import Order, PaymentStatus
from kernel.errors import NotFound
from kernel.money import cents_to_euros
from kernel.spreadsheet import Cell, Euros, csv_response

PAGE_SIZE = 50

# French spreadsheet columns (kernel.spreadsheet), whatever the page's language, as the other exports.
CSV_COLUMNS = [
    "type",
    "numéro",
    "créé le",
    "payé le",
    "organisation",
    "campagne",
    "objet",
    "e-mail",
    "nom du donateur",
    "code de retrait",
    "montant (€)",
    "remboursé (€)",
    "état du paiement",
    "remise",
    "remis le",
    "reçu fiscal émis",
]
CSV_STATES = {
    "pending": "en attente de paiement",
    "held": "réservé, en attente de paiement",
    "paid": "payé",
    "partially_refunded": "partiellement remboursé",
    "failed": "échoué",
    "expired": "expiré",
    "refunded": "remboursé",
}


def _filter_form(request: HttpRequest) -> PaymentFilterForm:
    user: User = request.user  # type: ignore[assignment]
    return PaymentFilterForm(request.GET, campaigns=managed_campaigns(user, Permission.ORDERS))


@login_required
@require_safe
def orders_list(request: HttpRequest) -> HttpResponse:
    """The orders and gifts, newest first, a page at a time; bad filters are said beside their field."""
    user: User = request.user  # type: ignore[assignment]
    form = _filter_form(request)
    if not form.is_valid():
        response = render(request, "checkout/manage/orders.html", {"form": form, "page": None, "rows": []}, status=400)
        return _private(response)
    keys = payments_managed(user=user, **form.filters())
    paginator: Paginator[dict[str, Any]] = Paginator(keys, PAGE_SIZE)  # type: ignore[arg-type]
    page = paginator.get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "rows": payment_rows(page.object_list),
        "filtered": bool(form.filters()),
    }
    return _private(render(request, "checkout/manage/orders.html", context))


@login_required
@require_safe
def orders_csv(request: HttpRequest) -> HttpResponse:
    """The filtered list, every page of it, as a French spreadsheet."""
    user: User = request.user  # type: ignore[assignment]
    form = _filter_form(request)
    if not form.is_valid():
        # Only a hand-made address gets here: the page's link carries filters it accepted.
        return HttpResponse(_("Filtre invalide."), status=400, content_type="text/plain; charset=utf-8")
    rows: list[list[Cell]] = []
    for row in payment_rows_all(payments_managed(user=user, **form.filters())):
        payment = row.payment
        order = payment if isinstance(payment, Order) else None
        rows.append(
            [
                "commande" if order else "don",
                payment.pk,
                payment.created_at,
                payment.paid_at,
                payment.campaign.organisation.name,
                payment.campaign.title,
                order.item.title if order else "",
                payment.email,
                row.who,
                order.claim_code if order else "",
                Euros(payment.amount_cents),
                Euros(payment.refunded_cents),
                CSV_STATES[payment_state_key(payment)],
                ("remis" if order.handed_over_at else "à remettre" if payment.status == PaymentStatus.PAID else "")
                if order
                else "",
                order.handed_over_at if order else None,
                "oui" if row.receipt_issued else "non",
            ]
        )
    response = csv_response(filename="commandes-et-dons.csv", header=CSV_COLUMNS, rows=rows)
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, kind="order", pk=pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def gift_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, kind="gift", pk=pk)


def _detail(request: HttpRequest, *, kind: str, pk: int) -> HttpResponse:
    """One order or gift: its facts, its history, and the refund form of the refunds API."""
    user: User = request.user  # type: ignore[assignment]
    payment = payment_managed(user=user, kind=kind, pk=pk)
    if payment is None:
        raise Http404
    refundable = payment_refundable(payment)
    may_refund = user_may(user, payment.campaign.organisation_id, Permission.REFUND)
    paid = refundable > 0
    status = 200
    if request.method == "POST":
        if not may_refund:
            # They see the payment (their role may read orders) but may not refund it.
            raise PermissionDenied
        form = RefundForm(request.POST, refundable_cents=refundable, paid=paid)
        if form.is_valid():
            try:
                refund = payment_refund(
                    actor=user,
                    reason=form.cleaned_data["reason"],
                    amount_cents=form.cleaned_data["amount"],
                    **{f"{kind}_id": payment.pk},
                )
            except NotFound:
                raise Http404 from None
            except RefundTooLarge as refused:
                form.add_error("amount", str(refused.detail))
            except (RefundRefused, PaymentUnavailable) as refused:
                form.add_error(None, str(refused.detail))
                status = refused.status_code
            else:
                messages.success(
                    request,
                    _("Remboursement de %(amount)s envoyé au prestataire de paiement.")
                    % {"amount": format_money(refund.amount_cents)},
                )
                return redirect(request.path, permanent=False)
        status = status if status != 200 else 400
    else:
        initial = {"amount": cents_to_euros(refundable)} if paid else {}
        form = RefundForm(initial=initial, refundable_cents=refundable, paid=paid)
    context = {
        "payment": payment,
        "is_order": kind == "order",
        "history": payment_history(payment),
        "state": payment_state(payment),
        "refundable_cents": refundable,
        "form": form if may_refund and (paid or request.method == "POST") else None,
        "back_url": reverse("checkout:manage-orders"),
    }
    return _private(render(request, "checkout/manage/payment.html", context, status=status))


def _private(response: HttpResponse) -> HttpResponse:
    # Buyers' emails and claim codes: no shared cache keeps these pages.
    patch_cache_control(response, private=True, no_store=True)
    return response
