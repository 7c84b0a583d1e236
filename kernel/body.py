"""Caps on request bodies, checked before any byte of a body is read.

A multipart body (photos, covers, signatures) may reach
``UPLOAD_MAX_BODY_BYTES``; any other body (JSON, forms, webhooks) stops at
``DATA_UPLOAD_MAX_MEMORY_SIZE``, which Django itself applies only to form
fields and never to a body that DRF's JSON parser reads. Past its cap, a
request gets ``413`` (our error shape under ``/api/``, a page elsewhere).

Two layers: ``RequestBodyLimitMiddleware`` (first in MIDDLEWARE) judges by
Content-Length; ``ChunkedBodyLimit`` (around the web process's ASGI app, see
tremma/asgi.py) gives a body that comes without one (``Transfer-Encoding:
chunked``) a length, counting it as it arrives into a temporary file and
stopping at the cap, since Django reads nothing of a body without a length.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext as _

from kernel.api import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]  # (scope, receive, send)

CHUNK_BYTES = 64 * 1024


def body_limit(content_type: str) -> int:
    """The most bytes a body of ``content_type`` may have."""
    if content_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
        return int(settings.UPLOAD_MAX_BODY_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    """413, in the language the request asks for (this runs before LocaleMiddleware)."""
    with translation.override(translation.get_language_from_request(request)):
        detail = _("Cet envoi est trop volumineux (%(max)s au plus).") % {"max": filesizeformat(limit)}
        if request.path.startswith("/api/"):
            return JsonResponse(error_body("request_too_large", detail), status=413)
        page = loader.render_to_string("frontend/413.html", {"detail": detail, "language": translation.get_language()})
    return HttpResponse(page, status=413)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(str(request.META.get("CONTENT_TYPE", "")))
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body for a length it cannot parse either
        if length > limit:
            return too_large(request, limit)
        return self.get_response(request)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


class ChunkedBodyLimit:
    """ASGI middleware for plain HTTP: a body without Content-Length is read up to
    its cap into a temporary file (in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE),
    then handed on with its length. Past the cap, reading stops and the request goes
    on with the length seen so far and no body, which the middleware above refuses.
    A 413 also closes the connection, so the client stops sending what is left."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _closing_on_413(send)
        if _header(scope, b"content-length") is not None or _header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)
            return
        limit = body_limit((_header(scope, b"content-type") or b"").decode("latin-1"))
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as spool:
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                more = bool(message.get("more_body", False))
                if size > limit:
                    break
                spool.write(chunk)
            headers = [
                (key, value)
                for key, value in scope["headers"]
                if key.lower() not in (b"content-length", b"transfer-encoding")
            ]
            headers.append((b"content-length", str(size).encode()))
            spool.seek(0)
            replay = _replay(spool if size <= limit else None, receive)
            await self.app({**scope, "headers": headers}, replay, send)


def _replay(spool: IO[bytes] | None, receive: Receive) -> Receive:
    """The spooled body in chunks (an empty one without ``spool``), then the client's own messages."""
    finished = False

    async def replay() -> Message:
        nonlocal finished
        if finished:
            return await receive()
        chunk = spool.read(CHUNK_BYTES) if spool is not None else b""
        finished = len(chunk) < CHUNK_BYTES
        return {"type": "http.request", "body": chunk, "more_body": not finished}

    return replay


def _closing_on_413(send: Send) -> Send:
    async def closing(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 413:
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await send(message)

    return closing
