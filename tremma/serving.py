"""Plain HTTP from the server's event loop to Django's WSGI handler in a pool of
threads (tremma/asgi.py), with as few crossings between the loop and a thread
as a request allows.

a2wsgi does the translation (the WSGI environ, the body as a file, the pool).
As it comes, each request crosses between the loop and its thread once to run,
then once more for each piece of the response (its status and headers, each
chunk of the body, the end) and for each piece of the request body read:
every crossing wakes the other side and waits for it. Here:

- a body whose length is known and small (a JSON checkout, a webhook, a form) is
  read in the loop before the thread starts, so reading it crosses nothing;
- a response that is not streamed (``HttpResponse``: every page and API answer)
  is kept by the thread and sent by the loop once the thread is done: one
  crossing per request, and one more back.

Streamed responses (files, exports) and bigger bodies (uploads) take a2wsgi's
own path, piece by piece, as before (``make bench``: (c) against (b))."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from a2wsgi.wsgi import WSGIMiddleware, WSGIResponder

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Bodies up to this size are read in the loop before the thread runs (kernel.body caps bodies
# that are not uploads at DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MiB by default; uploads stream).
READ_AHEAD_BYTES = 256 * 1024


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_ahead(scope: Scope, receive: Receive) -> io.BytesIO | None:
    """The whole body when its announced length is small; None to leave it to a2wsgi's reading
    (no length, or a big one). A client that disconnects before the end gets what was sent: the
    view sees a short body, as with a2wsgi's own reading."""
    length = _content_length(scope)
    if length is None or length > READ_AHEAD_BYTES:
        return None
    chunks: list[bytes] = []
    more = length > 0
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break  # http.disconnect
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return io.BytesIO(b"".join(chunks))


class OneHopResponder(WSGIResponder):
    """a2wsgi's responder, keeping a response that is not streamed in the thread and sending
    it from the loop once the thread is done (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Messages the thread keeps for the loop; None once the response is streamed.
        self.kept: list[Any] | None = []
        self.read_body: io.BytesIO | None = None

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Read here, handed to the app in its thread (``wsgi``) in place of a2wsgi's reading.
        self.read_body = await _read_ahead(scope, receive)
        await super().__call__(scope, receive, send)  # type: ignore[arg-type]

    def send(self, message: Any) -> None:
        if self.kept is not None:
            self.kept.append(message)  # in the thread: the loop sends it at the end
            return
        super().send(message)

    async def sender(self, send: Send) -> None:  # type: ignore[override]
        await super().sender(send)  # type: ignore[arg-type]
        for message in self.kept or ():
            await send(message)

    def wsgi(self, environ: Any, start_response: Any) -> None:
        if self.read_body is not None:
            environ["wsgi.input"] = self.read_body
        iterable = self.app(environ, start_response)
        try:
            # Django's HttpResponse says it is not streamed; anything else is streamed.
            if getattr(iterable, "streaming", True):
                kept, self.kept = self.kept or [], None
                for message in kept:  # the status and headers, already given
                    super().send(message)
                for chunk in iterable:
                    super().send({"type": "http.response.body", "body": chunk, "more_body": True})
                super().send({"type": "http.response.body", "body": b""})
            else:
                self.send({"type": "http.response.body", "body": b"".join(iterable)})
        finally:
            getattr(iterable, "close", lambda: None)()


class WSGIInThreads(WSGIMiddleware):
    """a2wsgi's ``WSGIMiddleware`` with ``OneHopResponder`` for plain HTTP."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)  # type: ignore[arg-type]
            return
        responder = OneHopResponder(self.app, self.executor, self.send_queue_size)
        await responder.run(scope, receive, send)
