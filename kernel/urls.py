"""Addresses that moved: the old path answers with a permanent redirect to the new one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import reverse


class _PermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    # 308, not 301: a form posted to the old address is posted again to the new one.
    status_code = 308


def moved(name: str) -> Callable[..., HttpResponse]:
    """A view sending whatever reaches an old path (GET or POST, query string
    kept) to the URL named ``name``, with the same arguments."""

    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        target = reverse(name, kwargs=kwargs or None)
        query = request.META.get("QUERY_STRING", "")
        return _PermanentRedirectKeepingMethod(f"{target}?{query}" if query else target)

    return view
