"""``POST /objets/alerte/``: the catalogue's "Recevoir un e-mail pour cette recherche"
(alerts/_save_search.html). It lives here because it validates with the catalogue's filter
serializer; the alert itself is the alerts room's (alerts.services.alert_create)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from alerts import services
from alerts.selectors import NOT_KEPT
from pages.api.items import ItemFilterSerializer

CATALOGUE_PATH = services.CATALOGUE_PATH
# A form's fields beyond these are not the catalogue's filters (a hostile form may send thousands).
MAX_FIELDS = 20


def _back(request: HttpRequest) -> str:
    """The catalogue with the filters the form carried (ours only, never another site)."""
    pairs = [
        (name, value)
        for name, values in list(request.POST.lists())[:MAX_FIELDS]
        if name != "csrfmiddlewaretoken" and name not in NOT_KEPT
        for value in values[-1:]
        if value.strip()
    ]
    return CATALOGUE_PATH + (f"?{urlencode(pairs)}" if pairs else "")


@require_POST
def save_search(request: HttpRequest) -> HttpResponse:
    back = _back(request)
    if not request.user.is_authenticated:
        messages.info(request, _("Connectez-vous pour recevoir un e-mail quand de nouveaux objets correspondent."))
        return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': back})}")
    user: User = request.user  # type: ignore[assignment]
    if not user.email_verified:
        messages.error(
            request,
            _(
                "Confirmez d'abord votre adresse e-mail : suivez le lien reçu, ou demandez-en un autre "
                "depuis votre profil (%(url)s)."
            )
            % {"url": reverse("accounts:profile")},
        )
        return redirect(back)
    # An empty field of the catalogue's form is no filter (as on /objets/), not an invalid one.
    posted = {
        name: values[-1] for name, values in list(request.POST.lists())[:MAX_FIELDS] if values and values[-1].strip()
    }
    filters = ItemFilterSerializer(data=posted)
    if not filters.is_valid():
        messages.error(request, _("Cette recherche ne peut pas être enregistrée : ses filtres ne sont pas valides."))
        return redirect(CATALOGUE_PATH)
    try:
        alert, created = services.alert_create(
            user=user, filters=dict(filters.validated_data), language=translation.get_language()
        )
    except services.TooManyAlerts as refused:
        messages.error(request, str(refused.detail))
        return redirect(back)
    if created:
        messages.success(
            request,
            _("Alerte enregistrée : un e-mail par jour au plus quand de nouveaux objets correspondent à %(label)s.")
            % {"label": alert.label},
        )
    else:
        messages.info(request, _("Vous suivez déjà cette recherche (%(label)s).") % {"label": alert.label})
    return redirect(back)
