"""Pages for managers: a campaign's matchfunding partners and their pledges
(campaign managers record and edit them), and each partner's payment once the
pledge is over (treasurers record it: money received and a tax receipt)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from campaigns.forms import PledgeForm, PledgeSettleForm
from campaigns.models import Campaign, Pledge
from campaigns.permissions import Permission
from campaigns.selectors import managed_campaigns, user_may
from checkout.services import pledge_create, pledge_settle, pledge_update
from kernel.errors import DomainError
from kernel.money import cents_to_euros
from ledger.pledges import pledges_with_totals
from receipts.selectors import pledge_receipt


def _campaign(user: User, slug: str) -> Campaign:
    """The campaign if ``user`` runs its campaigns or handles its receipts; 404 otherwise."""
    for permission in (Permission.CAMPAIGNS, Permission.RECEIPTS):
        campaign = managed_campaigns(user, permission).filter(slug=slug).first()
        if campaign is not None:
            return campaign
    raise Http404


def _pledge(user: User, pk: int) -> Pledge:
    pledge = Pledge.objects.select_related("campaign__organisation", "partner").filter(pk=pk).first()
    if pledge is None:
        raise Http404
    _campaign(user, pledge.campaign.slug)
    return pledge


def _page(request: HttpRequest, campaign: Campaign, *, status: int = 200, **forms: Any) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    pledges = list(pledges_with_totals(Pledge.objects.filter(campaign=campaign)).order_by("-created_at", "-id"))
    now = timezone.now()
    for pledge in pledges:
        pledge.over = now > pledge.ends_at  # type: ignore[attr-defined]
        pledge.receipt = pledge_receipt(pledge=pledge) if pledge.status == Pledge.Status.SETTLED else None  # type: ignore[attr-defined]
        pledge.settle_form = forms.get(f"settle_{pledge.pk}") or PledgeSettleForm(  # type: ignore[attr-defined]
            prefix=f"p{pledge.pk}",
            initial={"received_cents": cents_to_euros(pledge.matched_cents), "received_on": timezone.localdate()},  # type: ignore[attr-defined]
        )
    context = {
        "campaign": campaign,
        "pledges": pledges,
        "may_edit": user_may(user, campaign.organisation_id, Permission.CAMPAIGNS),
        "may_settle": user_may(user, campaign.organisation_id, Permission.RECEIPTS),
    }
    return render(request, "pages/campaigns/pledges.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def pledge_list(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, _campaign(request.user, slug))  # type: ignore[arg-type]


@login_required
@require_http_methods(["GET", "POST"])
def pledge_new(request: HttpRequest, slug: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    campaign = _campaign(user, slug)
    if not user_may(user, campaign.organisation_id, Permission.CAMPAIGNS):
        raise Http404
    form = PledgeForm(request.POST or None, initial={"ratio_percent": 100})
    if request.method == "POST" and form.is_valid():
        try:
            pledge_create(
                actor=user,
                campaign=campaign,
                partner=form.partner_details(),
                ratio_percent=form.cleaned_data["ratio_percent"],
                cap_cents=form.cleaned_data["cap_cents"],
                ends_at=form.ends_at(),
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.detail))
        else:
            messages.success(request, _("Abondement enregistré : les dons sont abondés dès maintenant."))
            return redirect("campaigns:pledges", slug=campaign.slug)
    status = 400 if form.errors else 200
    context = {"campaign": campaign, "form": form, "pledge": None}
    return render(request, "pages/campaigns/pledge_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def pledge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    pledge = _pledge(user, pk)
    campaign = pledge.campaign
    if not user_may(user, campaign.organisation_id, Permission.CAMPAIGNS):
        raise Http404
    partner = pledge.partner
    initial = {
        **{name: getattr(partner, name) for name in PledgeForm.base_fields if hasattr(partner, name)},
        "ratio_percent": pledge.ratio_percent,
        "cap_cents": cents_to_euros(pledge.cap_cents),
        "ends_on": timezone.localtime(pledge.ends_at).date(),
    }
    form = PledgeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            pledge_update(
                actor=user,
                pledge_id=pledge.pk,
                partner=form.partner_details(),
                ratio_percent=form.cleaned_data["ratio_percent"],
                cap_cents=form.cleaned_data["cap_cents"],
                ends_at=form.ends_at(),
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.detail))
        else:
            messages.success(request, _("Abondement modifié."))
            return redirect("campaigns:pledges", slug=campaign.slug)
    status = 400 if form.errors else 200
    context = {"campaign": campaign, "form": form, "pledge": pledge}
    return render(request, "pages/campaigns/pledge_edit.html", context, status=status)


@login_required
@require_POST
def pledge_received(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    pledge = _pledge(user, pk)
    campaign = pledge.campaign
    if not user_may(user, campaign.organisation_id, Permission.RECEIPTS):
        messages.error(request, _("Seuls les trésoriers et les administrateurs enregistrent un versement."))
        return redirect("campaigns:pledges", slug=campaign.slug)
    form = PledgeSettleForm(request.POST, prefix=f"p{pledge.pk}")
    if form.is_valid():
        try:
            pledge_settle(
                actor=user,
                pledge_id=pledge.pk,
                received_cents=form.cleaned_data["received_cents"],
                received_on=form.cleaned_data["received_on"],
                means=form.cleaned_data["means"],
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error.detail))
        else:
            messages.success(request, _("Versement enregistré : le reçu fiscal du partenaire part par e-mail."))
            return redirect("campaigns:pledges", slug=campaign.slug)
    return _page(request, campaign, status=400, **{f"settle_{pledge.pk}": form})
