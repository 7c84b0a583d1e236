"""Alert pages of this room: the unsubscribe page every alert email links to (no account
needed), and the removal of an alert from the person's space."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from alerts import services
from kernel.errors import NotFound


# No CSRF token: the link's signed token is the authority, and mail clients post here
# themselves (RFC 8058's one-click "List-Unsubscribe=One-Click", from no page of ours).
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """``/alertes/desabonnement/<token>/``: GET asks to confirm (link scanners fetch links,
    so a GET never stops anything), POST — the page's button or the mail client — stops."""
    alert = services.alert_for_link(token)
    if alert is None:
        return render(request, "alerts/unsubscribe.html", {"invalid": True}, status=404)
    done = alert.unsubscribed_at is not None
    if request.method == "POST":
        services.alert_unsubscribe(alert=alert)
        done = True
    response = render(request, "alerts/unsubscribe.html", {"alert": alert, "done": done})
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_POST
def delete(request: HttpRequest, alert_id: int) -> HttpResponse:
    """``/mon-compte/alertes/<id>/supprimer/``: remove one of the person's alerts (another's: 404)."""
    user: User = request.user  # type: ignore[assignment]
    try:
        services.alert_delete(user=user, alert_id=alert_id)
    except NotFound as missing:
        raise Http404 from missing
    messages.success(request, _("Alerte supprimée : vous ne recevrez plus d'e-mail pour cette recherche."))
    return redirect(reverse("pages:account") + "#alertes")
