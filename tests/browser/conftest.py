"""Shared by the browser tests: one Chromium for the session, one uvicorn
server (over Redis, as in production) for the modules that need real
websockets, the folder where screenshots and reports are kept, and helpers to
throttle a page like a phone on a weak network."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.components import chromium_path, redis_available, redis_url, require
from tests.support.mailbox import Mailbox, mailbox
from tests.support.servers import asgi_servers

ROOT = Path(__file__).resolve().parent.parent.parent
# CI keeps this folder as an artefact (README, "The two commands"); one subfolder per database run.
ARTEFACTS = ROOT / "build" / "screenshots"

# Chrome DevTools' "Slow 4G" profile, the weak mobile network of a pavement: 150 ms round trip,
# 1.6 Mbit/s down, 750 kbit/s up (CDP takes bytes per second).
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
MID_RANGE_PHONE_CPU = 4  # Chrome's "4x slowdown": a mid-range phone on a laptop-class core
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Mobile Safari/537.36"
    ),
}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    require("chromium", path is not None, "no chromium executable on PATH")
    from playwright.sync_api import sync_playwright

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
        yield browser
        browser.close()


@dataclass(frozen=True)
class Site:
    url: str
    media: Path  # the server's MEDIA_ROOT: photos made by the test process must land there
    mail: Mailbox  # where the server sends its emails, over SMTP as in production


@pytest.fixture(scope="session")
def site_server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One uvicorn process for the session, on the test database and Redis (live updates cross
    from the web process to the sockets through Redis, as in production), sending its emails
    to an SMTP server of the test process (tests/support/mailbox.py)."""
    require("redis", redis_available(), f"no Redis at {redis_url()}")
    var = tmp_path_factory.mktemp("site-var")
    with mailbox() as mail, asgi_servers(1, debug=True, env={"TREMMA_VAR_DIR": str(var), **mail.env()}) as (url,):
        yield Site(url=url, media=var / "media", mail=mail)


@pytest.fixture
def site(site_server: Site, settings: Any) -> Site:
    """The live server, with this test's media where it serves them and its payment counters at zero."""
    import redis

    settings.MEDIA_ROOT = site_server.media
    # Each test starts a fresh hour of payment attempts from 127.0.0.1 (the server counts them in Redis).
    client = redis.Redis.from_url(redis_url())
    try:
        keys = list(client.scan_iter(match="*tremma:pay:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
    return site_server


@pytest.fixture(scope="session")
def artefacts(django_db_setup: None) -> Path:
    """build/screenshots/<database>/, emptied at the start of the session."""
    from django.db import connection

    folder = ARTEFACTS / connection.vendor
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def throttle(context: Any, page: Any) -> Any:
    """Slow 4G and a 4x slower CPU for ``page``, through the DevTools protocol; returns the CDP session."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": MID_RANGE_PHONE_CPU})
    return cdp


def sign_in(context: Any, user: Any, base_url: str) -> None:
    """Give ``context`` the session cookie of ``user`` (sessions live in the shared database)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base_url}])


T = TypeVar("T")


def off_the_loop(work: Callable[[], T]) -> T:
    """Run ``work`` (factories, services) in a thread of its own: Playwright keeps an event loop
    running in this thread, where the services' live events could not be published."""
    from django.db import connection

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]
