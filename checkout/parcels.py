"""The pages of parcels after the payment: the organisation's parcels (``/gestion/colis/``:
what to pack, late ones first, labels printed in one PDF, "shipped", the buyers' withdrawals
to confirm), a private giver's own parcels (``/mon-compte/colis/``, the same actions for their
objects only), a label's PDF (to whoever ships it), and the buyer's withdrawal page
(``/retrait/<token>/retractation/``, from their order page). Each action is one service of
checkout.services.parcels or .withdrawals."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from checkout.selectors import fulfilment_for_claim
from checkout.services.parcels import (
    PARCEL_METHODS,
    parcel_label_pdf,
    parcels_labels_print,
    parcels_mark_shipped,
    user_may_ship,
)
from checkout.services.withdrawals import (
    withdrawable_lines,
    withdrawal_cancel,
    withdrawal_deadline,
    withdrawal_receive,
    withdrawal_request,
)
from donations.models import (
    Fulfilment,
    ItemPhoto,
    OrderLine,
    PaymentStatus,
    ShipmentStatus,
    Withdrawal,
    WithdrawalStatus,
)
from kernel.errors import DomainError, NotFound

# Parcels the sender still has to do something with.
ACTIVE = (ShipmentStatus.TO_SHIP, ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT)
PARCELS_SHOWN = 300


def _private(response: HttpResponse) -> HttpResponse:
    # Buyers' names and addresses: no shared cache keeps the page.
    patch_cache_control(response, private=True, no_store=True)
    return response


def _with_lines(parcels: QuerySet[Fulfilment]) -> QuerySet[Fulfilment]:
    return parcels.select_related("order", "organisation").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("item", "campaign")
            .prefetch_related(Prefetch("item__photos", queryset=ItemPhoto.objects.order_by("position", "id")))
            .order_by("pk"),
        )
    )


def parcels_of_sender(*, user: User, giver: bool) -> QuerySet[Fulfilment]:
    """Paid parcels ``user`` ships: a private giver's own, or the organisations' they are a member of
    (never a private giver's: they hold those), the ones to ship first by ship-by date (late first)."""
    parcels = Fulfilment.objects.filter(
        method__in=PARCEL_METHODS, order__status=PaymentStatus.PAID, shipment_status__in=ACTIVE
    )
    if giver:
        parcels = parcels.filter(giver=user)
    else:
        parcels = parcels.filter(
            giver__isnull=True, organisation__in=organisations_user_may(user, Permission.HAND_OVER)
        )
    return _with_lines(parcels).order_by("shipment_status", "ship_by", "id")


def withdrawals_to_confirm(*, user: User) -> QuerySet[Withdrawal]:
    """Buyers' withdrawals waiting for their objects, at the organisations ``user`` is a member of."""
    return (
        Withdrawal.objects.filter(
            status=WithdrawalStatus.REQUESTED,
            fulfilment__organisation__in=organisations_user_may(user, Permission.HAND_OVER),
        )
        .select_related("fulfilment__order", "fulfilment__organisation")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("item").order_by("pk")))
        .order_by("requested_at", "id")
    )


class ParcelsForm(forms.Form):
    """The parcels ticked and what to do with them."""

    ACTIONS = (("labels", gettext_lazy("Imprimer les étiquettes")), ("shipped", gettext_lazy("Marquer comme expédié")))

    action = forms.ChoiceField(choices=ACTIONS)
    parcels = forms.TypedMultipleChoiceField(
        coerce=int,
        label=gettext_lazy("Colis"),
        error_messages={"required": gettext_lazy("Cochez au moins un colis.")},
    )

    def __init__(self, *args: Any, parcel_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["parcels"]).choices = [(pk, str(pk)) for pk in parcel_ids]


class WithdrawalDecisionForm(forms.Form):
    DECISIONS = (("received", "received"), ("cancelled", "cancelled"))

    withdrawal = forms.TypedChoiceField(coerce=int)
    decision = forms.ChoiceField(choices=DECISIONS)

    def __init__(self, *args: Any, withdrawal_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["withdrawal"]).choices = [(pk, str(pk)) for pk in withdrawal_ids]


def _rows(parcels: list[Fulfilment]) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for parcel in parcels:
        lines = list(parcel.lines.all())
        rows.append(
            {
                "parcel": parcel,
                "lines": lines,
                "weight_grams": sum(line.item.weight_grams or 0 for line in lines),
                "late": parcel.shipment_status == ShipmentStatus.TO_SHIP
                and parcel.ship_by is not None
                and parcel.ship_by < now,
            }
        )
    return rows


def _sender_page(request: HttpRequest, *, giver: bool) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not giver and not organisations_user_may(user, Permission.HAND_OVER).exists():
        raise PermissionDenied
    parcels = list(parcels_of_sender(user=user, giver=giver)[:PARCELS_SHOWN])
    withdrawals = [] if giver else list(withdrawals_to_confirm(user=user))
    form = ParcelsForm(parcel_ids=[parcel.pk for parcel in parcels])
    decision = WithdrawalDecisionForm(withdrawal_ids=[withdrawal.pk for withdrawal in withdrawals])
    status = 200
    here = "checkout:giver-parcels" if giver else "checkout:parcels"
    if request.method == "POST" and "withdrawal" in request.POST and not giver:
        decision = WithdrawalDecisionForm(request.POST, withdrawal_ids=[withdrawal.pk for withdrawal in withdrawals])
        if decision.is_valid():
            close = withdrawal_receive if decision.cleaned_data["decision"] == "received" else withdrawal_cancel
            try:
                close(withdrawal_id=decision.cleaned_data["withdrawal"], actor=user)
            except DomainError as refused:
                decision.add_error(None, str(refused.detail))
            else:
                messages.success(
                    request,
                    _("Retour confirmé : le remboursement est envoyé.")
                    if decision.cleaned_data["decision"] == "received"
                    else _("Rétractation close sans retour."),
                )
                return redirect(here)
        status = 400
    elif request.method == "POST":
        form = ParcelsForm(request.POST, parcel_ids=[parcel.pk for parcel in parcels])
        if form.is_valid():
            chosen = form.cleaned_data["parcels"]
            if form.cleaned_data["action"] == "labels":
                try:
                    pdf = parcels_labels_print(actor=user, fulfilment_ids=chosen)
                except NotFound:
                    form.add_error("parcels", _("Une étiquette n'est pas encore prête : réessayez dans une minute."))
                else:
                    response = HttpResponse(pdf, content_type="application/pdf")
                    response["Content-Disposition"] = 'inline; filename="etiquettes.pdf"'
                    return _private(response)
            else:
                moved = parcels_mark_shipped(actor=user, fulfilment_ids=chosen)
                messages.success(
                    request,
                    _("%(count)d colis marqué(s) comme expédié(s) : l'acheteur est prévenu.") % {"count": len(moved)},
                )
                return redirect(here)
        status = 400
    context = {
        "giver_space": giver,
        "rows": _rows(parcels),
        "withdrawals": withdrawals,
        "form": form,
        "decision": decision,
        "ship_by_days": settings.SHIP_BY_DAYS,
    }
    return _private(render(request, "checkout/parcels.html", context, status=status))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def parcels_page(request: HttpRequest) -> HttpResponse:
    """``/gestion/colis/``: the organisations' parcels to pack and ship, and withdrawals to confirm."""
    return _sender_page(request, giver=False)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def giver_parcels_page(request: HttpRequest) -> HttpResponse:
    """``/mon-compte/colis/``: a private giver's own parcels (relay points only)."""
    return _sender_page(request, giver=True)


@login_required
@require_safe
def parcel_label(request: HttpRequest, pk: int) -> HttpResponse:
    """One parcel's label, to whoever ships it; anyone else, or a label not made yet: 404."""
    parcel = Fulfilment.objects.filter(pk=pk, method__in=PARCEL_METHODS).first()
    user: User = request.user  # type: ignore[assignment]
    if parcel is None or not user_may_ship(user, parcel):
        raise Http404
    pdf = parcel_label_pdf(parcel)
    if pdf is None:
        raise Http404
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="etiquette-{parcel.pk}.pdf"'
    return _private(response)


class WithdrawalForm(forms.Form):
    lines = forms.TypedMultipleChoiceField(
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Les objets que vous renvoyez"),
        error_messages={"required": gettext_lazy("Cochez au moins un objet.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Pourquoi ? (facultatif)"), max_length=500, required=False, widget=forms.Textarea
    )

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["lines"]).choices = [(line.pk, line.item.title) for line in lines]


@require_http_methods(["GET", "HEAD", "POST"])
def withdrawal_page(request: HttpRequest, token: str) -> HttpResponse:
    """The buyer withdraws from some objects of a delivered parcel (the claim page's secret
    address is the key, as for the rest of their order page)."""
    fulfilment = fulfilment_for_claim(token=token)
    if fulfilment is None or not fulfilment.is_parcel:
        raise Http404
    lines = withdrawable_lines(fulfilment)
    form = WithdrawalForm(request.POST or None, lines=lines)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                withdrawal_request(
                    fulfilment=fulfilment, line_ids=form.cleaned_data["lines"], reason=form.cleaned_data["reason"]
                )
            except DomainError as refused:
                form.add_error(None, str(refused.detail))
            else:
                messages.success(request, _("Rétractation enregistrée : nous vous avons écrit où renvoyer les objets."))
                return redirect("checkout:claim", token=token)
        status = 400
    context = {
        "fulfilment": fulfilment,
        "order": fulfilment.order,
        "organisation": fulfilment.organisation,
        "form": form,
        "open": bool(lines),
        "deadline": withdrawal_deadline(fulfilment),
        "withdrawal_days": settings.WITHDRAWAL_DAYS,
    }
    response = render(request, "checkout/withdrawal.html", context, status=status)
    response["X-Robots-Tag"] = "noindex"
    return _private(response)


def parcel_context(fulfilment: Fulfilment) -> dict[str, Any]:
    """What the buyer's order page shows of a parcel beyond the fulfilment itself: until when they
    may withdraw, and their withdrawals."""
    if not fulfilment.is_parcel:
        return {}
    return {
        "withdrawal_deadline": withdrawal_deadline(fulfilment) if withdrawable_lines(fulfilment) else None,
        "withdrawals": list(fulfilment.withdrawals.order_by("pk")),
    }
