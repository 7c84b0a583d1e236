"""Counters in the shared cache: several counted in one round trip to Redis (one script), each with its expiry,
and counted in the process's own cache when Redis is down (tests/test_redis_down.py: the limits hold)."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
import redis
from django.core.cache import cache, caches

from checkout.throttles import TooManyAttempts, payment_attempt_check
from kernel.counters import counts_in_window
from tests.support.redis_server import OwnRedis


def test_counters_count_together_each_with_its_expiry(own_redis: OwnRedis) -> None:
    assert counts_in_window(["a", "b"], seconds=60) == [1, 1]
    assert counts_in_window(["a", "b"], seconds=60, by=3) == [4, 4]
    assert counts_in_window(["b"], seconds=60) == [5]
    client = redis.Redis.from_url(own_redis.url)
    for key in ("a", "b"):
        assert 0 < client.ttl(cache.make_and_validate_key(key)) <= 60
    assert cache.get("a") == 4  # still the cache's own integer, readable by get


def test_a_payment_attempt_costs_one_round_trip_to_redis(own_redis: OwnRedis, monkeypatch: Any, settings: Any) -> None:
    settings.PAYMENT_ATTEMPTS_PER_EMAIL = 2
    sent: list[str] = []
    pipeline_execute, command = redis.client.Pipeline.execute, redis.Redis.execute_command

    def counted_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append("pipeline")
        return pipeline_execute(self, *args, **kwargs)

    def counted_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(args[0]))
        return command(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)
    monkeypatch.setattr(redis.Redis, "execute_command", counted_command)
    # One script: the first count a Redis sees loads it (it did not know it), then each is one call.
    payment_attempt_check(client_key="203.0.113.8", email="premier@example.org")
    assert sent == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]
    sent.clear()
    payment_attempt_check(client_key="203.0.113.9", email="Passant@Example.org")
    assert sent == ["EVALSHA"]
    payment_attempt_check(client_key="203.0.113.10", email="passant@example.org ")
    with pytest.raises(TooManyAttempts):  # the same email (case and spaces aside), from a third address
        payment_attempt_check(client_key="203.0.113.11", email="passant@example.org")
    assert sent == ["EVALSHA"] * 3


def test_counters_go_on_in_the_process_when_redis_is_down(own_redis: OwnRedis) -> None:
    assert counts_in_window(["a"], seconds=60) == [1]
    own_redis.stop()
    assert counts_in_window(["a", "b"], seconds=60) == [1, 1]
    assert counts_in_window(["a"], seconds=60) == [2]
    # Back, empty (its scripts forgotten as its keys): counting there again loads the script again.
    own_redis.start()
    assert counts_in_window(["a", "b"], seconds=60, by=2) == [2, 2]
    assert 0 < redis.Redis.from_url(own_redis.url).ttl(cache.make_and_validate_key("a")) <= 60


def _in_a_request_context(work: Any) -> Any:
    """Run ``work`` as the web process runs each request (tremma/serving.py): in a fresh copy of the
    server loop's context, where Django's ``caches`` (contextvar-based) hand out a new cache object."""
    return contextvars.Context().run(work)


def test_each_request_shares_the_process_connections_to_redis(own_redis: OwnRedis) -> None:
    client = redis.Redis.from_url(own_redis.url)
    _in_a_request_context(lambda: counts_in_window(["warm"], seconds=60))
    before = client.info("stats")["total_connections_received"]
    for _request in range(20):
        _in_a_request_context(lambda: (counts_in_window(["a"], seconds=60), caches["default"].get("x")))
    opened = client.info("stats")["total_connections_received"] - before
    assert opened == 0, f"{opened} connections opened by 20 requests"
    assert counts_in_window(["a"], seconds=60) == [21]


def test_the_fallback_counts_for_the_whole_process_when_redis_is_down(own_redis: OwnRedis) -> None:
    own_redis.stop()
    counts = [_in_a_request_context(lambda: counts_in_window(["attempts"], seconds=60))[0] for _ in range(4)]
    assert counts == [1, 2, 3, 4]  # one request after another: the limit holds across them


def test_redis_down_is_logged_once_a_minute_whatever_the_number_of_requests(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    own_redis.stop()
    with caplog.at_level("WARNING", logger="kernel.cache"):
        for _ in range(5):
            _in_a_request_context(lambda: caches["default"].get("x"))
    assert len([r for r in caplog.records if "Redis unavailable" in r.getMessage()]) == 1
