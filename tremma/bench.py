"""Views used only by the benchmarks (bench/), routed only when TREMMA_BENCH=true.

``ping`` is the ceiling every HTTP figure is compared with: a bare Django JSON
view served by the same server in the same run. ``emit`` records a realtime
event inside the server process, so fan-out can be measured with the
in-memory channel layer too."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from realtime.events import BENCH_PING
from realtime.services import event_emit


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def emit(request: HttpRequest) -> JsonResponse:
    kind = request.GET.get("stream", "item")
    ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk]
    with transaction.atomic():
        event = event_emit(
            type=BENCH_PING,
            public={"bench": True, "sent_ns": request.GET.get("sent_ns", "")},
            items=ids if kind == "item" else (),
            windows=ids if kind == "window" else (),
            campaigns=ids if kind == "campaign" else (),
        )
    return JsonResponse({"id": event.pk})
