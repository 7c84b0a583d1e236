"""Plain HTTP handed to Django's WSGI handler in threads (tremma/serving.py):
an ordinary response crosses from its thread to the loop once, a streamed one
still streams, small bodies are read before the thread starts and big ones as
before, and a client gone mid-body or an app that fails are handled as a2wsgi
handles them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from tremma.serving import READ_AHEAD_BYTES, WSGIInThreads


class Streamed:
    """A streamed response's body (Django's StreamingHttpResponse and FileResponse say ``streaming``)."""

    streaming = True

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks

    def close(self) -> None:
        self.closed = True


class Whole(list[bytes]):
    """An ordinary response's body (Django's HttpResponse: ``streaming`` is False)."""

    streaming = False
    closed = False

    def close(self) -> None:
        self.closed = True


def scope(body_length: int | None = None, method: str = "POST") -> dict[str, Any]:
    headers = [(b"host", b"testserver")]
    if body_length is not None:
        headers.append((b"content-length", str(body_length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def receiver(pieces: list[bytes], *, disconnect_after: int | None = None) -> Any:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": piece, "more_body": n < len(pieces) - 1} for n, piece in enumerate(pieces)
    ]
    if disconnect_after is not None:
        messages = [*messages[:disconnect_after], {"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # a client that sends nothing more
        raise AssertionError("unreachable")

    return receive


async def serve(app: Any, asgi_scope: dict[str, Any], receive: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await WSGIInThreads(app, workers=2)(asgi_scope, receive, send)
    return sent


def echo(body_kind: type = Whole) -> Any:
    """A WSGI app answering with the body it read."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return body_kind([data]) if body_kind is Whole else body_kind(iter([data]))

    return app


def body_of(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")


async def test_an_ordinary_response_is_sent_from_the_loop_after_one_crossing() -> None:
    crossings = mock.patch("asyncio.run_coroutine_threadsafe", wraps=asyncio.run_coroutine_threadsafe)
    with crossings as crossed:
        sent = await serve(echo(), scope(5), receiver([b"he", b"llo"]))
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200
    assert sent[1] == {"type": "http.response.body", "body": b"hello"}
    assert crossed.call_count == 0  # neither the body's reading nor the response's pieces crossed back


async def test_a_streamed_response_streams_its_first_chunk_before_the_last_is_made() -> None:
    first_sent = threading.Event()
    made: list[str] = []

    def chunks() -> Iterator[bytes]:
        made.append("first")
        yield b"first,"
        # The next chunk waits until the loop has sent the first to the client.
        assert first_sent.wait(timeout=10), "the first chunk was held back"
        made.append("second")
        yield b"second"

    body = Streamed(chunks())

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/csv")])
        return body

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body") == b"first,":
            first_sent.set()

    await WSGIInThreads(app, workers=2)(scope(0, method="GET"), receiver([b""]), send)
    assert made == ["first", "second"]
    assert sent[0]["type"] == "http.response.start"
    assert body_of(sent) == b"first,second"
    assert sent[-1] == {"type": "http.response.body", "body": b""}
    assert body.closed


async def test_a_body_without_a_length_or_a_big_one_is_read_as_before() -> None:
    big = [b"x" * (64 * 1024)] * (READ_AHEAD_BYTES // (64 * 1024) + 2)
    crossings = mock.patch("asyncio.run_coroutine_threadsafe", wraps=asyncio.run_coroutine_threadsafe)
    with crossings as crossed:
        sent = await serve(echo(), scope(sum(map(len, big))), receiver(big))
    assert body_of(sent) == b"".join(big)
    assert crossed.call_count >= len(big)  # read by the thread as it arrives, piece by piece: never all in the loop
    sent = await serve(echo(), scope(None), receiver([b"no length"]))
    assert body_of(sent) == b"no length"


@pytest.mark.parametrize("length", [b"abc", b"-5", b"", b"99999999999999999999999"])
async def test_a_hostile_content_length_reads_nothing_it_should_not(length: bytes) -> None:
    asgi_scope = scope(None)
    asgi_scope["headers"].append((b"content-length", length))
    sent = await asyncio.wait_for(serve(echo(), asgi_scope, receiver([b"body"])), timeout=10)
    assert sent[0]["status"] == 200


async def test_a_client_gone_mid_body_leaves_the_view_a_short_body() -> None:
    sent = await asyncio.wait_for(
        serve(echo(), scope(12), receiver([b"hello", b" world", b"!"], disconnect_after=1)), timeout=10
    )
    assert body_of(sent) == b"hello"


async def test_a_failing_app_fails_the_request_and_closes_nothing_half_sent() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        raise RuntimeError("boom")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="boom"):
        await WSGIInThreads(app, workers=2)(scope(2), receiver([b"{}"]), send)
    assert sent == []  # the server answers 500 itself: no half response went out


async def test_an_ordinary_body_is_closed_once_sent() -> None:
    body = Whole([b"a", b"b"])

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("201 Created", [("X-Test", "1")])
        return body

    sent = await serve(app, scope(0, method="GET"), receiver([b""]))
    assert sent[0]["status"] == 201
    assert (b"x-test", b"1") in sent[0]["headers"]
    assert body_of(sent) == b"ab"
    assert body.closed
