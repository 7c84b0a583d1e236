"""Run channel-layer coroutines from sync code, in the server's event loop.

Plain HTTP is served by Django's WSGI handler in worker threads (see
tremma/asgi.py) while websockets live in the server's event loop. The
in-memory layer's queues and the Redis layer's connections belong to that
loop: a sync caller in a worker thread must hand its coroutine to it rather
than start a loop of its own, which is what asgiref's ``async_to_sync`` does
outside Django's ASGI handler (a new loop per call: a new Redis connection
per event, and in-memory queues woken from the wrong thread)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import async_to_sync

T = TypeVar("T")

_server_loop: asyncio.AbstractEventLoop | None = None


def server_loop_set(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the ASGI application with the loop it is served from."""
    global _server_loop
    _server_loop = loop


def run_in_server_loop(function: Callable[..., Awaitable[T]], *args: Any, timeout: float = 10.0) -> T:
    """``function(*args)`` awaited in the server's loop when one is
    running in another thread; else through ``async_to_sync`` (management
    commands, the worker, tests, Django's ASGI handler)."""
    loop = _server_loop
    if loop is not None and loop.is_running() and not _in_loop(loop):
        future = asyncio.run_coroutine_threadsafe(_call(function, *args), loop)
        return future.result(timeout)
    return async_to_sync(function)(*args)


async def _call(function: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await function(*args)


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
