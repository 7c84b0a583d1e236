from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers
from rest_framework.test import APIClient

from tests.components import free_port, port_open, require
from tests.support.redis_server import OwnRedis

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fuzzing tests (minutes each) run only when asked for by marker (``-m fuzz``):
    CI runs them once, in their own invocation, not in each run of the suite."""
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    fuzzing = [item for item in items if item.get_closest_marker("fuzz")]
    if fuzzing:
        config.hook.pytest_deselected(items=fuzzing)
        items[:] = [item for item in items if not item.get_closest_marker("fuzz")]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Every test writes local media to its own folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # A fast hasher for the thousands of test passwords: hashing cost is not behaviour under test
    # (password validation, checking and the login flow all still run).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Static files come from the apps' folders (no collectstatic before tests).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Counters kept in the cache (payment attempt limits) start from zero in every test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _french_first() -> Iterator[None]:
    """Every test starts in the site's language: a request in English (the LocaleMiddleware
    activates its language in the test's thread) never leaks into the next test's emails."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _catalogue_uncached(settings: Any) -> None:
    """The catalogue's response cache (on with Redis) is invalidated when a write commits; inside a
    test's transaction nothing commits, so a list asked twice would be answered from the cache. Tests
    ask for it explicitly (tests/test_catalogue_speed.py's ``cached`` fixture, with real commits).
    The same for the item page's data (tests/test_item_page_cache.py)."""
    settings.CATALOGUE_CACHE_SECONDS = 0
    settings.ITEM_PAGE_CACHE_SECONDS = 0


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[str]:
    """localstripe on a free 127.0.0.1 port for the session; yields its base URL."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        require("stripe", False, "the localstripe package is not installed")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.stripe_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while not port_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            error = process.stderr.read().decode(errors="replace")[-500:] if process.stderr else ""
            require("stripe", False, f"localstripe did not start: {error}")
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_settings(settings: Any, stripe_server: str) -> Any:
    """Point the app at the local Stripe-compatible server with test keys."""
    settings.STRIPE_SECRET_KEY = "sk_test_tremma_local"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_tremma_local"
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_tremma_local_connect"
    settings.STRIPE_API_BASE = stripe_server
    settings.PAYMENT_GATEWAY = "stripe"
    return settings


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3-compatible server on a free 127.0.0.1 port; yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        require("s3", False, "moto[server] is not installed")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(settings: Any, s3_server: str) -> str:
    """Media on S3 through django-storages, in a fresh bucket; yields the bucket name."""
    import uuid

    import boto3

    bucket = f"tremma-test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="eu-west-3",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    settings.MEDIA_ON_S3 = True
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server,
                "region_name": "eu-west-3",
                "access_key": "testing",
                "secret_key": "testing",
                "signature_version": "s3v4",
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    return bucket


@pytest.fixture
def own_redis(settings: Any) -> Iterator[OwnRedis]:
    """A Redis of this test's own for this process and its workers: its pub/sub is nobody else's,
    and the test may stop and restart it (tests/support/redis_server.py)."""
    require("redis", shutil.which("redis-server") is not None, "redis-server is not installed")
    redis = OwnRedis()
    redis.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "kernel.cache.ResilientRedisCache",
            "LOCATION": redis.url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [redis.url]}}
    }
    channel_layers.backends.clear()
    try:
        yield redis
    finally:
        channel_layers.backends.clear()
        redis.stop()
