"""The web process serves plain HTTP through Django's WSGI handler in worker
threads and websockets in its event loop (tremma/asgi.py): events published by
a request's thread must still reach the sockets of the same process."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
from websockets.asyncio.client import connect

from realtime.loop import run_in_server_loop, server_loop_set
from tests.factories import ItemFactory
from tests.support.servers import asgi_servers


@pytest.mark.django_db(transaction=True)
def test_a_checkout_served_by_a_worker_thread_reaches_a_socket_on_the_in_memory_layer() -> None:
    item = ItemFactory()
    with asgi_servers(1, redis=False) as (server,):

        async def scenario() -> tuple[int, dict[str, object], dict[str, object]]:
            # The client offers permessage-deflate, as browsers do.
            async with connect(server.replace("http://", "ws://") + f"/ws/items/{item.pk}/", origin=server) as socket:
                # The Procfile's server declines it: live events go uncompressed (--ws-per-message-deflate
                # false): small JSON texts, each compressed once per socket, cost more than they saved.
                assert socket.response is not None
                assert "Sec-WebSocket-Extensions" not in socket.response.headers
                assert socket.protocol.extensions == []
                await asyncio.sleep(0.2)
                async with httpx.AsyncClient(base_url=server) as api:
                    health = await api.get("/healthz")  # its channel-layer round trip runs from a worker thread too
                    order = await api.post(f"/api/items/{item.pk}/checkout/", json={"email": "passant@example.org"})
                assert order.status_code == 201, order.text
                event = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
                return health.status_code, health.json(), event

        status, health, event = asyncio.run(scenario())

    assert (status, health["channel_layer"]) == (200, "ok")
    assert event["type"] == "item.reserved"
    assert event["data"]["item"] == item.pk


def test_sync_code_in_another_thread_runs_its_coroutine_in_the_server_loop() -> None:
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        server_loop_set(loop)

        async def which_loop(tag: str) -> tuple[str, asyncio.AbstractEventLoop]:
            return tag, asyncio.get_running_loop()

        assert run_in_server_loop(which_loop, "a") == ("a", loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(timeout=5)
        loop.close()


def test_without_a_running_server_loop_sync_code_still_runs_its_coroutine() -> None:
    stopped = asyncio.new_event_loop()
    stopped.close()
    server_loop_set(stopped)  # e.g. a test process whose server loop has ended

    async def which_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert run_in_server_loop(which_loop) is not stopped


def test_a_web_process_imports_its_views_before_its_first_request() -> None:
    """A deploy starts several web processes at once: each imports its views and template tags
    when it starts (tremma/asgi.py), not during the first passer-by's request."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    modules = ("pages.views", "checkout.api", "qr.views", "frontend.templatetags.tremma")
    probe = f"import sys; import tremma.asgi; print(all(m in sys.modules for m in {modules!r}))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DEBUG": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_a_web_process_compiles_our_templates_before_its_first_request() -> None:
    """…and compiles our templates into the cached loader (the item page's took 30 ms at its first
    rendering, in each thread that got there before the first had kept it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    probe = (
        "import tremma.asgi as a; from django.template import engines;"
        " kept = engines['django'].engine.template_loaders[0].get_template_cache;"
        " names = a.own_templates();"
        " print(len(names), 'pages/item.html' in names, all(name in kept for name in names))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "localhost"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    count, item_page, all_kept = done.stdout.split()
    assert int(count) > 100 and item_page == "True" and all_kept == "True"
