"""Ceiling (b): the best stock Django does here — one JsonResponse view, no
middleware, no apps, no database, served by WSGI (gunicorn, one sync worker).

This module is its own settings module, URLconf and WSGI entry point:
``DJANGO_SETTINGS_MODULE=bench.bare_django gunicorn bench.bare_django:application``."""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path

SECRET_KEY = "bench-only-bare-django"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare_django"
MIDDLEWARE: list[str] = []
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_I18N = False


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("__bench__/ping", ping)]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare_django")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
