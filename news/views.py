"""News pages: the managers' page of a campaign's news (post, list), and the
unsubscribe page every news email links to (no account needed)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.models import User
from campaigns.models import Campaign
from campaigns.permissions import Permission
from campaigns.selectors import user_may, user_role
from kernel.errors import DomainError
from kernel.uploads import TooManyUploads, upload_count
from news import services
from news.forms import UpdateForm
from news.models import Update


def _campaign_for(user: User, slug: str) -> Campaign:
    """The campaign if ``user`` may post its news; a member whose role may not: 403;
    anyone else (another organisation's campaign included): 404, as a missing one."""
    campaign = Campaign.objects.select_related("organisation").filter(slug=slug).first()
    if campaign is None:
        raise Http404
    if user_may(user, campaign.organisation_id, Permission.NEWS):
        return campaign
    if user_role(user, campaign.organisation_id) is not None:
        raise PermissionDenied
    raise Http404


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def manage_news(request: HttpRequest, slug: str) -> HttpResponse:
    """``/gestion/campagnes/<slug>/nouvelles/``: the campaign's news, and a form to post one."""
    user: User = request.user  # type: ignore[assignment]
    campaign = _campaign_for(user, slug)
    form = UpdateForm()
    status = 200
    if request.method == "POST":
        try:
            upload_count(user_id=user.pk, images=len(request.FILES.getlist("photo")))
        except TooManyUploads as error:
            messages.error(request, str(error.detail))
            form, status = UpdateForm(initial=request.POST.dict()), 429
        else:
            form = UpdateForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    services.update_post(
                        actor=user, campaign=campaign, title=data["title"], text=data["text"], photo=data["photo"]
                    )
                except DomainError as error:
                    form.add_error(None, str(error.detail))
                else:
                    messages.success(request, _("Nouvelle publiée : elle part par e-mail aux donateurs abonnés."))
                    return redirect("news:manage", slug=campaign.slug)
            status = 400
    updates = Update.objects.filter(campaign=campaign).order_by("-created_at", "-id")
    context = {"campaign": campaign, "form": form, "updates": updates}
    return render(request, "news/manage.html", context, status=status)


# No CSRF token: the link's signed token is the authority, and mail clients post here
# themselves (RFC 8058's one-click "List-Unsubscribe=One-Click", from no page of ours).
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """``/nouvelles/desabonnement/<token>/``: GET asks to confirm (link scanners fetch
    links, so a GET never unsubscribes), POST — the page's button or the mail client — stops."""
    subscription = services.subscription_for_link(token)
    if subscription is None:
        return render(request, "news/unsubscribe.html", {"invalid": True}, status=404)
    done = subscription.unsubscribed_at is not None
    if request.method == "POST":
        services.subscription_unsubscribe(subscription=subscription)
        done = True
    context = {"subscription": subscription, "campaign": subscription.campaign, "done": done}
    response = render(request, "news/unsubscribe.html", context)
    response["Referrer-Policy"] = "no-referrer"
    return response
