"""The demo carrier's tracking call: ``POST /delivery/demo/track/`` plays what a
carrier's tracking webhook would send, through the same processing
(delivery.services.tracking_apply → delivery.events)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from delivery.carriers import TrackingRefused, UnknownParcel
from delivery.demo_carrier import DemoCarrier
from delivery.services import tracking_apply
from kernel.api import error_body

logger = logging.getLogger(__name__)
# "démo", not "d\u00e9mo": the same JSON as the API's.
UNESCAPED = {"ensure_ascii": False}


# A carrier's call carries no session, so no CSRF token, as the Stripe webhook; instead a JSON
# body is required (a cross-site form cannot send one without a CORS preflight, which we never
# grant) and the parcel's tracking number is unguessable, as a demo payment page's token is.
@csrf_exempt
@require_POST
def demo_track(request: HttpRequest) -> JsonResponse:
    """Demo only: ``{tracking_number, status}`` → one tracking event of that parcel."""
    if settings.DELIVERY_CARRIER != "demo":
        raise Http404
    if request.content_type != "application/json":
        return JsonResponse(
            error_body("unsupported_media_type", _("Envoyez un corps JSON (Content-Type: application/json).")),
            status=415,
            json_dumps_params=UNESCAPED,
        )
    try:
        updates = DemoCarrier().tracking_parse(request)
    except UnknownParcel:
        return JsonResponse(
            error_body("not_found", _("Aucun colis de la démo ne porte ce numéro de suivi.")), status=404
        )
    except TrackingRefused as refused:
        return JsonResponse(
            error_body("invalid", _("Certaines informations ne sont pas valides."), refused.fields),
            status=400,
            json_dumps_params=UNESCAPED,
        )
    for update in updates:
        tracking_apply(update=update)
    update = updates[0]
    return JsonResponse({"tracking_number": update.tracking_number, "status": update.status})
