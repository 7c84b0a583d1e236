"""Pages for managers: their campaigns, a new one, editing, publishing and closing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from campaigns import services
from campaigns.forms import CampaignForm, NewCampaignForm
from campaigns.models import Campaign
from kernel.errors import DomainError
from kernel.money import cents_to_euros
from kernel.uploads import TooManyUploads, upload_count
from ledger.selectors import campaigns_managed_by


def _upload_allowed(request: HttpRequest) -> bool:
    """Counts the cover sent, if any (donations/throttles.py); False, with a message, past the limit."""
    try:
        upload_count(user_id=request.user.pk, images=len(request.FILES.getlist("cover")))
    except TooManyUploads as error:
        messages.error(request, str(error.detail))
        return False
    return True


@login_required
@require_safe
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/campaigns/manage_list.html", {"campaigns": campaigns_managed_by(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = NewCampaignForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and not _upload_allowed(request):
        form = NewCampaignForm(initial=request.POST.dict(), user=user)
        return render(request, "pages/campaigns/edit.html", {"form": form, "campaign": None}, status=429)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            campaign = services.campaign_create(actor=user, **data)
        except DomainError as error:
            form.add_error(None, str(error.detail))
        else:
            messages.success(request, _("Campagne créée, en brouillon."))
            return redirect("campaigns:edit", slug=campaign.slug)
    status = 400 if form.errors else 200
    return render(request, "pages/campaigns/edit.html", {"form": form, "campaign": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, slug: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    campaign = get_object_or_404(campaigns_managed_by(user), slug=slug)
    initial = {
        "title": campaign.title,
        "summary": campaign.summary,
        "story": campaign.story,
        "goal_cents": cents_to_euros(campaign.goal_cents),  # EurosField parses it back to cents
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
    }
    form = CampaignForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and not _upload_allowed(request):
        form = CampaignForm(initial={**initial, **request.POST.dict()})
        return render(request, "pages/campaigns/edit.html", {"form": form, "campaign": campaign}, status=429)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name != "cover"}
        try:
            services.campaign_update(campaign=campaign, actor=user, changes=changes, cover=form.cleaned_data["cover"])
        except DomainError as error:
            form.add_error(None, str(error.detail))
        else:
            messages.success(request, _("Campagne enregistrée."))
            return redirect("campaigns:edit", slug=campaign.slug)
    status = 400 if form.errors else 200
    return render(request, "pages/campaigns/edit.html", {"form": form, "campaign": campaign}, status=status)


@login_required
@require_POST
def campaign_move(request: HttpRequest, slug: str, to: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    campaign = get_object_or_404(campaigns_managed_by(user), slug=slug)
    try:
        services.campaign_transition(campaign=campaign, actor=user, to=Campaign.Status(to))
    except DomainError as error:
        messages.error(request, str(error.detail))
    else:
        messages.success(request, _("Campagne : %(status)s.") % {"status": campaign.get_status_display()})
    return redirect("campaigns:edit", slug=campaign.slug)
