"""The site shell's own views: the error pages (HTML, or the API's error shape under /api/), and
/favicon.ico, which browsers ask for whatever the page links."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.templatetags.static import static

from kernel.api import api_not_found, api_server_error


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request, exception)
    return render(request, "frontend/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return api_server_error(request)
    return render(request, "frontend/500.html", status=500)


def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico: to the site's icon, an SVG among the static files (its hashed name, read per request)."""
    return HttpResponsePermanentRedirect(static("frontend/favicon.svg"))
