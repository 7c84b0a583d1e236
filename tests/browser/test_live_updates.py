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
from tests.browser import axe
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


def in_thread(work: Any) -> None:
    """Run ``work`` outside Playwright's thread (it runs an event loop), as a manager's request would.

    Writes that emit live events go through here, setup included: in a thread with a running
    event loop their publication fails, and a later event of the same stream then waits for the
    relay (realtime.services), which these tests do not run."""
    from django.db import connection

    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def placed(window: Any, count: int) -> list[Any]:
    """``place_items`` (its placements emit live events) run as a manager's request would."""
    placements: list[Any] = []
    in_thread(lambda: placements.extend(place_items(window, count)))
    return placements


def reserve(item_id: int) -> None:
    from django.db import connection

    try:
        order_start(item_id=item_id, email="passant@example.org")
    finally:
        connection.close()


def test_the_window_screen_shows_an_object_being_bought_without_reloading(redis_layer: None) -> None:
    window = WindowFactory()
    first, second = placed(window, 2)

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
    first, second = placed(window, 2)
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


def test_the_window_screen_draws_an_object_put_in_and_drops_one_taken_out_without_reloading(
    redis_layer: None,
) -> None:
    from donations.models import Item
    from qr.services import placement_add, placement_remove
    from tests.factories import ItemFactory, add_photo

    window = WindowFactory()
    (first,) = placed(window, 1)
    item = ItemFactory(campaign=first.item.campaign, title="Buffet en chêne", price_cents=4250)
    add_photo(item)
    added: dict[str, Any] = {}

    with asgi_servers(1, debug=True) as (server,):

        def script(browser: Any) -> tuple[list[str | None], dict[str, Any], list[Any], list[str | None], bool]:
            page = browser.new_page(bypass_csp=True)  # see the module docstring
            page.goto(f"{server}/windows/{window.pk}/screen/")
            page.evaluate("window.notReloaded = true")
            page.wait_for_timeout(500)  # the screen is connected to its stream
            in_thread(lambda: added.update(placement=placement_add(window=window, item=Item.objects.get(pk=item.pk))))
            card = page.locator(f'ol.placements [data-item="{item.pk}"]')
            card.wait_for(timeout=15_000)
            shown = {
                "title": card.locator(".title").inner_text(),
                "price": card.locator(".price").inner_text(),
                "qr": card.locator(".qr").get_attribute("src"),
                "photo": card.locator(".photo").get_attribute("src"),
            }
            after_add = page.locator("ol.placements > li").evaluate_all("rows => rows.map(r => r.dataset.item)")
            problems = axe.blocking(page)  # the drawn card is as accessible as the served ones
            in_thread(lambda: placement_remove(placement=first))
            page.locator(f'ol.placements [data-item="{first.item_id}"]').wait_for(state="detached", timeout=15_000)
            after_remove = page.locator("ol.placements > li").evaluate_all("rows => rows.map(r => r.dataset.item)")
            return after_add, shown, problems, after_remove, page.evaluate("window.notReloaded === true")

        after_add, shown, problems, after_remove, not_reloaded = in_chromium(script)

    code = added["placement"].short_code.code
    assert after_add == [str(first.item_id), str(item.pk)]  # at its place, after the first
    assert shown["title"] == "Buffet en chêne" and shown["price"] == "42,50\u00a0€"
    assert shown["qr"] == f"/q/{code}.svg" and shown["photo"]
    assert problems == []
    assert after_remove == [str(item.pk)]
    assert not_reloaded
