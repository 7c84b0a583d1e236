"""Pages and images of the qr app: scans, QR images, windows, sheets, manager pages."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from qr import forms, selectors, services, sheets
from qr.models import Placement, Window
from qr.rendering import PNG_DEFAULT_SIZE, PNG_SIZES, render_qr
from tremma.api import error_body
from tremma.errors import DomainError

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"


def _user(request: HttpRequest) -> User | None:
    return request.user if request.user.is_authenticated else None  # type: ignore[return-value]


def _unknown_code(request: HttpRequest) -> HttpResponse:
    return render(request, "qr/unknown_code.html", status=404)


@never_cache  # every scan must reach us to be counted
@require_safe
def scan(request: HttpRequest, code: str) -> HttpResponse:
    short_code = selectors.short_code_resolve(code=code)
    if short_code is None:
        return _unknown_code(request)
    try:
        if request.method == "GET":  # HEAD comes from link checkers, not from people
            services.scan_record(
                short_code=short_code,
                user_agent=request.headers.get("User-Agent", ""),
                address=services.client_address(request.META),
            )
    except Exception:
        # The passer-by comes first: a scan we fail to count still lands on its page.
        logger.exception("could not log a scan of %s", short_code.code)
    return HttpResponseRedirect(selectors.short_code_destination(short_code=short_code))


@require_safe
def qr_image(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    size = PNG_DEFAULT_SIZE
    if fmt == "png" and "size" in request.GET:
        raw = request.GET["size"]
        if not raw.isdigit() or not PNG_SIZES[0] <= int(raw) <= PNG_SIZES[1]:
            message = _("La taille doit être un nombre entier de pixels entre %(low)d et %(high)d.") % {
                "low": PNG_SIZES[0],
                "high": PNG_SIZES[1],
            }
            return JsonResponse(
                error_body("invalid", _("Certaines informations ne sont pas valides."), {"size": [message]}),
                status=400,
            )
        size = int(raw)
    short_code = selectors.short_code_resolve(code=code)
    if short_code is None:
        return _unknown_code(request)
    image = render_qr(selectors.short_url(short_code), fmt=fmt, size=size)
    if image.etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(image.content, content_type=image.content_type)
    response["ETag"] = image.etag
    response["Cache-Control"] = IMMUTABLE
    return response


def _window_or_404(request: HttpRequest, pk: int) -> Window:
    window = selectors.window_visible_to(user=_user(request), pk=pk)
    if window is None:
        raise Http404
    return window


@require_safe
def window_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The window on a phone: what a scan of the window's own code shows."""
    window = _window_or_404(request, pk)
    return render(request, "qr/window.html", {"window": window, "placements": window.current_placements})  # type: ignore[attr-defined]


@require_safe
def window_screen(request: HttpRequest, pk: int) -> HttpResponse:
    """Full-screen page for the screen inside the window; live updates subscribe to its stream."""
    window = _window_or_404(request, pk)
    placements = window.current_placements  # type: ignore[attr-defined]
    services.short_codes_ensure(targets=placements)  # placements added in the admin get their code here
    progress = selectors.campaigns_progress(campaign_ids={placement.item.campaign_id for placement in placements})
    context = {
        "window": window,
        "placements": placements,
        "campaigns": list(progress.values()),
        "stream": f"/ws/windows/{window.pk}/",
    }
    return render(request, "qr/screen.html", context)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@require_safe
def window_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    window = _window_or_404(request, pk)
    return _pdf(sheets.window_sheet_pdf(window=window), f"vitrine-{window.pk}.pdf")


@require_safe
def placement_card(request: HttpRequest, pk: int, placement_pk: int) -> HttpResponse:
    window = _window_or_404(request, pk)
    placement = next((p for p in window.current_placements if p.pk == placement_pk), None)  # type: ignore[attr-defined]
    if placement is None:
        raise Http404
    return _pdf(sheets.placement_card_pdf(window=window, placement=placement), f"carte-{placement.pk}.pdf")


# --- manager pages ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def manage_windows(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = forms.WindowForm(request.POST or None, organisations=selectors.managed_organisations(user=user))
    if request.method == "POST" and form.is_valid():
        window = services.window_create(**form.cleaned_data)
        return redirect("qr:manage-window", pk=window.pk)
    windows = selectors.window_managed_queryset(user=user)
    status = 400 if form.is_bound else 200  # bound here means it did not validate
    return render(request, "qr/manage_windows.html", {"windows": windows, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def manage_window(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    window = selectors.window_managed_queryset(user=user).filter(pk=pk).first()
    if window is None:
        raise Http404
    placements: list[Placement] = window.current_placements  # type: ignore[attr-defined]
    posted = request.POST if request.POST.get("action") == "add" else None
    add_form = forms.PlacementAddForm(posted, items=selectors.window_placeable_items(window=window))
    error = ""
    if request.method == "POST":
        error = _manage_action(request, window, placements, add_form)
        if not error:
            return redirect("qr:manage-window", pk=window.pk)
    context = {"window": window, "placements": placements, "add_form": add_form, "error": error}
    return render(request, "qr/manage_window.html", context, status=400 if error else 200)


def _manage_action(
    request: HttpRequest, window: Window, placements: list[Placement], add_form: forms.PlacementAddForm
) -> str:
    """Run the posted action on ``window``; the error to show, or "" when it worked."""
    action = request.POST.get("action", "")
    try:
        if action == "add":
            if not add_form.is_valid():
                return _("Choisissez un objet en vente de votre organisation.")
            services.placement_add(window=window, item=add_form.cleaned_data["item"])
        elif action in {"up", "down", "remove"}:
            by_id = {placement.pk: placement for placement in placements}
            raw = request.POST.get("placement", "")
            placement = by_id.get(int(raw)) if raw.isdigit() else None
            if placement is None:
                raise Http404
            if action == "remove":
                services.placement_remove(placement=placement)
            else:
                services.placement_move(placement=placement, offset=-1 if action == "up" else 1)
        elif action == "remove_sold":
            services.window_remove_sold(window=window)
        else:
            return _("Action inconnue.")
    except DomainError as exc:
        return str(exc.detail)
    return ""
