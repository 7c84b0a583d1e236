"""Generation tokens (kernel.generations): every token a transaction bumps changes once it commits,
all in one round trip to Redis; a rollback changes none; with Redis down, nothing fails and no
process keeps a token of its own (shared_call never falls back to the process's cache). Real
commits (transaction=True) on this test's own Redis."""

from __future__ import annotations

from typing import Any

import pytest
import redis.connection
from django.core.cache import cache
from django.db import transaction

from kernel.cache import REDIS_DOWN, shared_call, unproxied
from kernel.generations import generation_bump, generation_entry, generation_key
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every packet this process sends to Redis (a pipeline is one)."""
    sent: list[Any] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sent


def tokens(*names: str) -> list[Any]:
    return [shared_call(cache, "get", generation_key(name)) for name in names]


def test_a_transactions_bumps_change_every_token_once_it_commits_in_one_round_trip(
    own_redis: OwnRedis, sends: list[Any]
) -> None:
    before = tokens("catalogue", "item:7", "campaign:3")
    sends.clear()
    with transaction.atomic():
        generation_bump("catalogue")
        generation_bump("item:7", seconds=60)
        generation_bump("catalogue")  # twice in one transaction: once
        with transaction.atomic():
            generation_bump("campaign:3", seconds=60)
        assert sends == []  # nothing before the commit
    assert len(sends) == 1
    after = tokens("catalogue", "item:7", "campaign:3")
    assert all(token is not None for token in after) and all(a != b for a, b in zip(after, before, strict=True))
    ttl = unproxied(cache)._cache.get_client(None).ttl(unproxied(cache).make_and_validate_key(generation_key("item:7")))
    assert 0 < ttl <= 60
    assert (
        unproxied(cache)._cache.get_client(None).ttl(unproxied(cache).make_and_validate_key("generation:catalogue"))
        == -1
    )


def test_a_rolled_back_transaction_changes_no_token_and_the_next_one_bumps_again(own_redis: OwnRedis) -> None:
    with transaction.atomic():
        generation_bump("catalogue")
    kept = tokens("catalogue")

    def rolled_back() -> None:
        with transaction.atomic():
            generation_bump("catalogue")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        rolled_back()
    assert tokens("catalogue") == kept
    # A savepoint rolled back drops its bump, the transaction's own still happens.
    with transaction.atomic():
        try:
            with transaction.atomic():
                generation_bump("item:9", seconds=60)
                raise ZeroDivisionError
        except ZeroDivisionError:
            pass
        generation_bump("catalogue")
    assert tokens("catalogue") != kept


def test_redis_down_fails_nothing_and_no_process_keeps_a_token_of_its_own(own_redis: OwnRedis) -> None:
    own_redis.stop()
    with transaction.atomic():
        generation_bump("catalogue")
        generation_bump("item:7", seconds=60)
    with pytest.raises(REDIS_DOWN):
        shared_call(cache, "get", generation_key("catalogue"))
    assert generation_entry("catalogue", "page", seconds=None) == (None, None)
    # The process's own cache (what other calls fall back to) holds no token and no entry.
    fallback = unproxied(cache)._fallback
    assert fallback.get(generation_key("catalogue")) is None and fallback.get(generation_key("item:7")) is None
    own_redis.start()
    with transaction.atomic():
        generation_bump("catalogue")
    assert tokens("catalogue")[0] is not None
