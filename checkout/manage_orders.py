"""The managers' orders page: ``/gestion/commandes/`` lists the orders and
gifts of the organisations the person manages (filters as GET parameters,
kept by the pages and by the CSV export), and each one's page shows its
history and refund forms (the same ``payment_refund`` service as
``POST /api/orders/{id}/refund/``). Of a basket, a manager sees and refunds
their organisations' lines only. Another organisation's order, gift or line
is a 404, the same as a missing one."""

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
from campaigns.selectors import managed_campaigns, organisations_user_may, user_may
from checkout.forms import PaymentFilterForm, RefundForm
from checkout.managed import (
    ManagedLine,
    PaymentRow,
    format_money,
    gift_history,
    gift_refundable,
    gift_state,
    gift_state_key,
    lines_state_key,
    order_history,
    order_parts_managed,
    part_hand_over_key,
    parts_state,
    payment_managed,
    payment_rows,
    payment_rows_all,
    payments_managed,
)
from checkout.selectors import recurring_failing_managed
from checkout.services import PaymentUnavailable, RefundRefused, RefundTooLarge, payment_refund
from donations.models import Gift, Order, OrderLine
from kernel.errors import NotFound
from kernel.money import cents_to_euros
from kernel.spreadsheet import Cell, Euros, csv_response

PAGE_SIZE = 50

# French spreadsheet columns (kernel.spreadsheet), whatever the page's language, as the other exports.
CSV_COLUMNS = [
    "type",
    "numéro",
    "ligne",
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
CSV_HAND_OVER = {"handed_over": "remis", "to_hand_over": "à remettre", "": ""}


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
        # A person of several organisations is told whose part each row is.
        "several": organisations_user_may(user, Permission.ORDERS).count() > 1,
        # Monthly gifts whose last charge failed (the provider retries it, or gave up).
        "failing": list(recurring_failing_managed(user=user)[:PAGE_SIZE]),
    }
    return _private(render(request, "checkout/manage/orders.html", context))


@login_required
@require_safe
def orders_csv(request: HttpRequest) -> HttpResponse:
    """The filtered list, every page of it, as a French spreadsheet: one row per line of an
    order (the organisation's own lines only) and one per gift."""
    user: User = request.user  # type: ignore[assignment]
    form = _filter_form(request)
    if not form.is_valid():
        # Only a hand-made address gets here: the page's link carries filters it accepted.
        return HttpResponse(_("Filtre invalide."), status=400, content_type="text/plain; charset=utf-8")
    rows: list[list[Cell]] = []
    for row in payment_rows_all(payments_managed(user=user, **form.filters())):
        if row.fulfilment is not None:
            rows.extend(_line_cells(row, line) for line in row.lines)
        else:
            rows.append(_gift_cells(row))
    response = csv_response(filename="commandes-et-dons.csv", header=CSV_COLUMNS, rows=rows)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _line_cells(row: PaymentRow, line: OrderLine) -> list[Cell]:
    order, fulfilment = row.payment, row.fulfilment
    assert isinstance(order, Order) and fulfilment is not None
    hand_over = part_hand_over_key(fulfilment, [line])
    return [
        "commande",
        order.pk,
        line.pk,
        order.created_at,
        order.paid_at,
        fulfilment.organisation.name,
        line.campaign.title,
        line.item.title,
        order.email,
        "",
        fulfilment.claim_code,
        Euros(line.amount_cents),
        Euros(line.refunded_cents),
        CSV_STATES[lines_state_key(order, [line], held=row.held)],
        CSV_HAND_OVER[hand_over],
        fulfilment.handed_over_at,
        "oui" if line.receipt_issued else "non",  # type: ignore[attr-defined]
    ]


def _gift_cells(row: PaymentRow) -> list[Cell]:
    gift = row.payment
    assert isinstance(gift, Gift)
    return [
        "don",
        gift.pk,
        None,
        gift.created_at,
        gift.paid_at,
        gift.campaign.organisation.name,
        gift.campaign.title,
        "",
        gift.email,
        row.who,
        "",
        Euros(gift.amount_cents),
        Euros(gift.refunded_cents),
        CSV_STATES[gift_state_key(gift)],
        "",
        None,
        "oui" if row.receipt_issued else "non",
    ]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One order, as far as the person manages it: their organisations' parts and lines, each
    line with its own refund form (``payment_refund`` with ``line_id``, as the refunds API)."""
    user: User = request.user  # type: ignore[assignment]
    order = payment_managed(user=user, kind="order", pk=pk)
    if not isinstance(order, Order):
        raise Http404
    parts = order_parts_managed(user=user, order=order)
    lines = {managed.line.pk: (part, managed) for part in parts for managed in part.lines}
    may_refund = {
        part.fulfilment.organisation_id: user_may(user, part.fulfilment.organisation_id, Permission.REFUND)
        for part in parts
    }
    forms: dict[int, RefundForm] = {}
    status = 200
    if request.method == "POST":
        line_id = _posted_line(request)
        if line_id not in lines:
            # Another organisation's line, a line of another order, or no line: nothing to refund here.
            raise Http404
        part, managed = lines[line_id]
        if not may_refund[part.fulfilment.organisation_id]:
            # They see the order (their role may read orders) but may not refund it.
            raise PermissionDenied
        form = _line_form(managed, data=request.POST)
        if form.is_valid():
            try:
                refund = payment_refund(
                    actor=user,
                    reason=form.cleaned_data["reason"],
                    order_id=order.pk,
                    line_id=line_id,
                    amount_cents=form.cleaned_data["amount"],
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
                    _("Remboursement de %(amount)s (« %(title)s ») envoyé au prestataire de paiement.")
                    % {"amount": format_money(refund.amount_cents), "title": managed.line.item.title},
                )
                return redirect(request.path, permanent=False)
        status = status if status != 200 else 400
        forms[line_id] = form
    for part in parts:
        for managed in part.lines:
            if (
                may_refund[part.fulfilment.organisation_id]
                and managed.refundable_cents
                and managed.line.pk not in forms
            ):
                forms[managed.line.pk] = _line_form(managed)
    context = {
        "payment": order,
        "is_order": True,
        "parts": [
            {
                "part": part,
                "several": len(parts) > 1,
                "lines": [{"managed": managed, "form": forms.get(managed.line.pk)} for managed in part.lines],
            }
            for part in parts
        ],
        "amount_cents": sum(managed.line.amount_cents for part in parts for managed in part.lines),
        "refunded_cents": sum(managed.line.refunded_cents for part in parts for managed in part.lines),
        "history": order_history(order, parts),
        "state": parts_state(order, parts),
        "may_refund": any(may_refund.values()),
        "refundable_cents": sum(
            managed.refundable_cents
            for part in parts
            if may_refund[part.fulfilment.organisation_id]
            for managed in part.lines
        ),
        "back_url": reverse("checkout:manage-orders"),
    }
    return _private(render(request, "checkout/manage/payment.html", context, status=status))


def _posted_line(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("line", ""))
    except ValueError:
        return None


def _line_form(managed: ManagedLine, data: Any = None) -> RefundForm:
    """A line's refund form: the whole of what remains of it offered, its own ids on the page."""
    refundable = managed.refundable_cents
    initial = {"amount": cents_to_euros(refundable)} if refundable else {}
    return RefundForm(
        data,
        initial=initial,
        refundable_cents=refundable,
        paid=refundable > 0,
        auto_id=f"refund-{managed.line.pk}-%s",
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def gift_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One gift: its facts, its history, and the refund form of the refunds API."""
    user: User = request.user  # type: ignore[assignment]
    gift = payment_managed(user=user, kind="gift", pk=pk)
    if not isinstance(gift, Gift):
        raise Http404
    refundable = gift_refundable(gift)
    may_refund = user_may(user, gift.campaign.organisation_id, Permission.REFUND)
    paid = refundable > 0
    status = 200
    if request.method == "POST":
        if not may_refund:
            # They see the gift (their role may read orders) but may not refund it.
            raise PermissionDenied
        form = RefundForm(request.POST, refundable_cents=refundable, paid=paid)
        if form.is_valid():
            try:
                refund = payment_refund(
                    actor=user,
                    reason=form.cleaned_data["reason"],
                    amount_cents=form.cleaned_data["amount"],
                    gift_id=gift.pk,
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
        "payment": gift,
        "is_order": False,
        "amount_cents": gift.amount_cents,
        "refunded_cents": gift.refunded_cents,
        "history": gift_history(gift),
        "state": gift_state(gift),
        "refundable_cents": refundable,
        "form": form if may_refund and (paid or request.method == "POST") else None,
        "back_url": reverse("checkout:manage-orders"),
    }
    return _private(render(request, "checkout/manage/payment.html", context, status=status))


def _private(response: HttpResponse) -> HttpResponse:
    # Buyers' emails and claim codes: no shared cache keeps these pages.
    patch_cache_control(response, private=True, no_store=True)
    return response
