"""The window screen and a scan, in a real Chromium against a live server.

Each test drives its own Chromium from a worker thread: a thread has no
running event loop, so this Playwright session never collides with the one
another browser-test module keeps open for the whole pytest session.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from PIL import Image

from qr.models import Scan
from tests.components import chromium_path, require
from tests.factories import WindowFactory, place_items
from tests.support.decoding import decode

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)


def in_chromium(script: Callable[[Any], T]) -> T:
    path = chromium_path()
    require("chromium", path is not None, "no chromium executable on PATH")
    outcome: dict[str, Any] = {}

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=path,
                    args=[
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--no-first-run",
                        "--disable-sync",
                    ],
                )
                try:
                    outcome["value"] = script(browser)
                finally:
                    browser.close()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def test_the_qr_codes_shown_on_the_window_screen_read_back_to_each_placement(live_server: Any) -> None:
    window = WindowFactory(name="Vitrine de Noël")
    placements = place_items(window, 4)

    def look(browser: Any) -> tuple[str | None, bytes]:
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
        page.goto(f"{live_server.url}/windows/{window.pk}/screen/")
        page.wait_for_function("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
        return page.locator("body").get_attribute("data-stream"), page.screenshot(full_page=True)

    stream, shot = in_chromium(look)

    assert stream == f"/ws/windows/{window.pk}/"
    # Every address the screen's QR codes give. The whole 1920 px screenshot once gave the decoder a
    # spurious "QR code" reading a number ("906769", CI 2026-12-02) beside the four addresses: what
    # is not an address is the decoder's noise, not one of our codes.
    found = sorted(barcode.text for barcode in decode(Image.open(io.BytesIO(shot))) if "://" in barcode.text)
    assert found == sorted(f"http://testserver/q/{placement.short_code.code}" for placement in placements)


def test_a_phone_scanning_a_card_lands_on_the_item_in_french(live_server: Any) -> None:
    window = WindowFactory()
    (placement,) = place_items(window, 1, title="Platine vinyle", price_cents=15000)

    def scan(browser: Any) -> tuple[str, str, str]:
        page = browser.new_page(
            locale="fr-FR", viewport={"width": 390, "height": 844}, is_mobile=True, user_agent=ANDROID
        )
        page.goto(f"{live_server.url}/q/{placement.short_code.code}")
        heading = page.get_by_role("heading", level=1).inner_text()
        return page.url, heading, page.locator(".price").first.inner_text()

    url, heading, price = in_chromium(scan)

    assert url == f"{live_server.url}/objets/{placement.item_id}/"
    assert heading == "Platine vinyle" and "150,00" in price
    scan_row = Scan.objects.get()
    assert (scan_row.placement, scan_row.window, scan_row.client_class) == (placement, window, "mobile")
