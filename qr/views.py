"""Pages and images of the qr app: scans, QR images, windows, sheets, manager pages."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from itertools import cycle
from math import ceil

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import User
from accounts.requests import signed_in
from kernel.api import error_body
from kernel.errors import DomainError
from kernel.net import client_address
from kernel.spreadsheet import Cell, Euros, csv_response
from qr import forms, selectors, services, sheets
from qr.models import Placement, Window
from qr.rendering import PNG_DEFAULT_SIZE, PNG_SIZES, render_qr
from realtime.selectors import last_event_id

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"


def _unknown_code(request: HttpRequest) -> HttpResponse:
    return render(request, "qr/unknown_code.html", status=404)


@never_cache  # every scan must reach us to be counted
@require_safe
def scan(request: HttpRequest, code: str) -> HttpResponse:
    landing = selectors.scan_landing(code=code)
    if landing is None:
        return _unknown_code(request)
    try:
        if request.method == "GET":  # HEAD comes from link checkers, not from people
            services.scan_log(
                code_id=landing.code_id,
                placement_id=landing.placement_id,
                window_id=landing.window_id,
                user_agent=request.headers.get("User-Agent", ""),
                address=client_address(request),
            )
    except Exception:
        # The passer-by comes first: a scan we fail to count still lands on its page.
        logger.exception("could not log a scan of %s", landing.code)
    return HttpResponseRedirect(landing.path)


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
    window = selectors.window_visible_to(user=signed_in(request), pk=pk)
    if window is None:
        raise Http404
    return window


@require_safe
def window_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The window on a phone: what a scan of the window's own code shows."""
    window = selectors.window_visible_to(user=signed_in(request), pk=pk)
    if window is None:
        # An old sticker on the glass: say the window is over and show the organisation's projects.
        over = selectors.window_over(pk=pk)
        if over is None:
            raise Http404
        campaigns = selectors.campaigns_of(organisation=over.organisation)
        return render(request, "qr/window_over.html", {"window": over, "campaigns": campaigns}, status=410)
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
        "today_cents": selectors.window_sold_cents(window=window, since=_start_of_today()),
        "stream": f"/ws/windows/{window.pk}/",
        "last_event": last_event_id(),
    }
    # A screen speaks to the street, not to the browser it runs in: the site's language
    # (French first) unless the screen's URL asks for another with ?lang=.
    language = request.GET.get("lang", "")
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    with translation.override(language):
        return render(request, "qr/screen.html", context)


def _start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


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
    services.short_code_for(target=window)  # windows created in the admin get their own code here
    placements: list[Placement] = window.current_placements  # type: ignore[attr-defined]
    action = request.POST.get("action") if request.method == "POST" else None
    add_form = forms.PlacementAddForm(
        request.POST if action == "add" else None, items=selectors.window_placeable_items(window=window)
    )
    edit_form = forms.WindowEditForm(request.POST if action == "edit" else None, window=window)
    error = ""
    if request.method == "POST":
        error = _manage_action(request, window, placements, add_form, edit_form)
        if not error:
            if action == "edit":
                messages.success(request, _("Vitrine enregistrée."))
            return redirect("qr:manage-window", pk=window.pk)
    context = {
        "window": window,
        "placements": placements,
        "add_form": add_form,
        "edit_form": edit_form,
        "error": error,
    }
    return render(request, "qr/manage_window.html", context, status=400 if error else 200)


def _manage_action(
    request: HttpRequest,
    window: Window,
    placements: list[Placement],
    add_form: forms.PlacementAddForm,
    edit_form: forms.WindowEditForm,
) -> str:
    """Run the posted action on ``window``; the error to show, or "" when it worked."""
    action = request.POST.get("action", "")
    try:
        if action == "edit":
            if not edit_form.is_valid():
                return _("Certaines informations ne sont pas valides : voyez ci-dessous.")
            services.window_update(window=window, changes=edit_form.changes())
        elif action == "add":
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


def funnel_period(raw: str | None) -> tuple[datetime, datetime] | None:
    """The period ending now of ``?days=`` (7 by default), or None if the value is not allowed."""
    days = 7
    if raw is not None:
        if not raw.isdigit() or not selectors.FUNNEL_DAYS[0] <= int(raw) <= selectors.FUNNEL_DAYS[1]:
            return None
        days = int(raw)
    until = timezone.now()
    return until - timedelta(days=days), until


FUNNEL_HOURLY_DAYS = 7  # up to a week the funnel is drawn and exported hour by hour, beyond it day by day
FUNNEL_ITEM_COLUMNS = [
    gettext_noop("identifiant de l'objet"),
    gettext_noop("objet"),
    gettext_noop("prix (€)"),
    gettext_noop("scans"),
    gettext_noop("visiteurs (par jour)"),
    gettext_noop("vendu"),
    gettext_noop("collecté (€)"),
]


def funnel_points(funnel: selectors.Funnel) -> tuple[bool, list[selectors.FunnelHour]]:
    """Whether the funnel is shown hour by hour, and its hours (or days), every one of the period."""
    hourly = funnel.until - funnel.since <= timedelta(days=FUNNEL_HOURLY_DAYS)
    return hourly, funnel.hours if hourly else funnel.days


def funnel_items_csv(funnel: selectors.Funnel) -> HttpResponse:
    """The treasurer's sheet: one line per item of the window (and one for its own code), amounts in euros."""
    rows: list[list[Cell]] = [
        [
            row.item_id,
            row.title if row.item_id else _("QR code de la vitrine"),
            Euros(row.price_cents) if row.item_id else None,
            row.scans,
            row.visitors,
            _("oui") if row.sold else _("non"),
            Euros(row.sold_cents),
        ]
        for row in funnel.rows
    ]
    header = [_(column) for column in FUNNEL_ITEM_COLUMNS]
    return csv_response(filename="vitrine-entonnoir-objets.csv", header=header, rows=rows)


def funnel_times_csv(funnel: selectors.Funnel) -> HttpResponse:
    """The timeline, as the page draws it: one line per hour (or per day), the empty ones included."""
    hourly, points = funnel_points(funnel)
    rows: list[list[Cell]] = [
        [
            point.hour if hourly else timezone.localtime(point.hour).date(),
            point.scans,
            point.sales,
            Euros(point.sold_cents),
        ]
        for point in points
    ]
    header = [_("heure") if hourly else _("jour"), _("scans"), _("ventes"), _("collecté (€)")]
    filename = "vitrine-entonnoir-heures.csv" if hourly else "vitrine-entonnoir-jours.csv"
    return csv_response(filename=filename, header=header, rows=rows)


def nice_ceiling(value: int) -> int:
    """The top of a count axis: 1, 2, 5, 10, 20, 50... at least ``value``."""
    top, factors = 1, cycle((2, 2.5, 2))
    while top < value:
        top = round(top * next(factors))
    return top


def funnel_chart(funnel: selectors.Funnel) -> dict[str, object]:
    """Coordinates of the funnel's line chart: one point per hour (or day) of the period, zeros included,
    with its axes. Sized for a phone's width (the SVG scales, its text stays legible)."""
    hourly, points = funnel_points(funnel)
    width, height, left, right, top, bottom = 360, 230, 40, 10, 12, 62
    plot_width, plot_height = width - left - right, height - top - bottom
    peak = nice_ceiling(max([point.scans for point in points] + [1]))
    step = plot_width / max(len(points), 1)
    base = top + plot_height

    # Coordinates as text, so that the template never writes them with a French decimal comma.
    def x(index: int) -> str:
        return f"{left + step * (index + 0.5):.2f}"

    def y(scans: int) -> str:
        return f"{base - plot_height * scans / peak:.2f}"

    placed = [{"point": point, "x": x(index), "y": y(point.scans)} for index, point in enumerate(points)]
    every = max(1, ceil(len(points) / 5))  # at most 5 or 6 labels under the axis, evenly spread
    return {
        "hourly": hourly,
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "base": base,
        "line": " ".join(f"{point['x']},{point['y']}" for point in placed),
        "points": placed,
        "markers": len(points) <= 48,
        "sales": [{"x": x(index)} for index, point in enumerate(points) if point.sales],
        "x_ticks": placed[::every],
        "y_ticks": [{"value": value, "y": y(value)} for value in sorted({0, peak // 2, peak})],
        "x_title_y": height - 6,
        "y_title_x": 12,
        "y_title_y": top + plot_height / 2,
    }


@login_required
@require_safe
def manage_window_funnel(request: HttpRequest, pk: int) -> HttpResponse:
    """Scans and sales of one window of the manager's organisations, as a page with a plot or as CSV."""
    user: User = request.user  # type: ignore[assignment]
    window = selectors.window_managed_queryset(user=user).filter(pk=pk).first()
    if window is None:
        raise Http404
    period = funnel_period(request.GET.get("days"))
    if period is None:
        return HttpResponse(_("Période invalide."), status=400, content_type="text/plain; charset=utf-8")
    funnel = selectors.window_funnel(window=window, since=period[0], until=period[1])
    if request.GET.get("format") == "csv":
        # Two tables of different lines (items; hours or days), so two files, each one table a spreadsheet reads.
        return funnel_times_csv(funnel) if request.GET.get("table") == "temps" else funnel_items_csv(funnel)
    context = {"window": window, "funnel": funnel, "chart": funnel_chart(funnel)}
    return render(request, "qr/manage_funnel.html", context)
