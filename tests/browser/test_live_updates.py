"""Live pages in a real Chromium: a change processed by the application shows
up on a screen without a reload (server: uvicorn + Channels over Redis).

Pages that wait with ``wait_for_function`` bypass the Content-Security-Policy:
Playwright turns the predicate string into code inside the page while polling,
which the policy rightly refuses. The policy itself is proven in
test_content_security_policy.py (live item page, payment page, dashboard)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from checkout.services import order_start
from tests.browser.test_windows_screen_live import in_chromium
from tests.components import redis_available, redis_url, require
from tests.factories import WindowFactory, place_items
from tests.support.servers import asgi_servers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_layer(settings: Any) -> Iterator[None]:
    """This test process publishes through Redis, as a web process does in production."""
    from channels.layers import channel_layers

    require("redis", redis_available(), f"no Redis at {redis_url()}")
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [redis_url()]}}
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def reserve(item_id: int) -> None:
    from django.db import connection

    try:
        order_start(item_id=item_id, email="passant@example.org")
    finally:
        connection.close()


def test_the_window_screen_shows_an_object_being_bought_without_reloading(redis_layer: None) -> None:
    window = WindowFactory()
    first, second = place_items(window, 2)

    with asgi_servers(1, debug=True) as (server,):

        def script(browser: Any) -> tuple[str, str]:
            page = browser.new_page(bypass_csp=True)  # see the module docstring
            page.goto(f"{server}/windows/{window.pk}/screen/")
            row = page.locator(f'[data-item="{first.item_id}"]')
            before = row.get_attribute("data-status")
            # The sale is processed outside Playwright's thread (it runs an event loop), then published to Redis.
            buyer = threading.Thread(target=reserve, args=(first.item_id,))
            buyer.start()
            buyer.join()
            page.wait_for_function(
                f"document.querySelector('[data-item=\"{first.item_id}\"]').dataset.status === 'reserved'",
                timeout=15_000,
            )
            return before, row.locator(".state").inner_text()

        before, state = in_chromium(script)

    assert before == "listed"
    assert state == "en cours d’achat"
    assert second.item.status == "listed"


def test_the_window_screen_comes_back_after_the_server_restarts(redis_layer: None) -> None:
    from tests.components import free_port
    from tests.support.servers import start_server, stop_server

    window = WindowFactory()
    first, second = place_items(window, 2)
    port = free_port()
    server = start_server(port, debug=True)
    try:

        def script(browser: Any) -> str:
            nonlocal server
            page = browser.new_page(bypass_csp=True)  # see the module docstring
            page.goto(f"http://127.0.0.1:{port}/windows/{window.pk}/screen/")
            page.wait_for_timeout(500)
            stop_server(server)  # the screen loses its connection…
            buyer = threading.Thread(target=reserve, args=(second.item_id,))
            buyer.start()
            buyer.join()  # …a sale happens meanwhile…
            server = start_server(port, debug=True)  # …and the server is back: the screen resumes with ?since=
            page.wait_for_function(
                f"document.querySelector('[data-item=\"{second.item_id}\"]').dataset.status === 'reserved'",
                timeout=30_000,
            )
            return page.locator(f'[data-item="{first.item_id}"]').get_attribute("data-status")

        untouched = in_chromium(script)
    finally:
        stop_server(server)
    assert untouched == "listed"
