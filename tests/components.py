"""Real components the suite talks to (PostgreSQL, Redis, a Stripe-compatible
server, an S3 server, Chromium, GNU gettext). A test that needs one calls ``require``: on a
developer's machine without it the test is skipped with the reason named; when
``TREMMA_REQUIRE`` lists it (CI does), a missing component fails the test, so
CI proves these tests ran."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

KNOWN = {"postgres", "redis", "stripe", "s3", "chromium", "poppler", "gettext"}


def required() -> set[str]:
    names = {name.strip() for name in os.environ.get("TREMMA_REQUIRE", "").split(",") if name.strip()}
    unknown = names - KNOWN
    if unknown:
        raise pytest.UsageError(f"TREMMA_REQUIRE names unknown components: {sorted(unknown)}")
    return names


def require(name: str, available: bool, why: str) -> None:
    if available:
        return
    message = f"component {name} not available: {why}"
    if name in required():
        pytest.fail(f"{message} (TREMMA_REQUIRE lists it)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    parsed = urlparse(redis_url())
    return port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
