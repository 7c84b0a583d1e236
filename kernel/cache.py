"""The shared cache (Redis in production) that never takes a request down with it.

What Trëmma keeps in the cache can be lost or kept per process for a while:
payment-attempt counters, rendered QR images, the scan log's daily salt. So
when Redis is down or too slow, each call is answered by a local-memory cache
of the process instead of failing the checkout, gift or page that made it: the
attempt limits still hold, per process (fail safe), QR images are drawn again.
A warning is logged (at most once a minute per process) and Redis is tried
again on the next call."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.connection import ConnectionProxy
from django.utils.functional import cached_property
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY_SECONDS = 60.0


class ReusedClientRedisCacheClient(RedisCacheClient):
    """Django's Redis client, keeping one ``redis.Redis`` per connection pool.

    Django builds a new ``redis.Redis`` object around the pool on every call (~0.1 ms of
    Python, a third of a cached catalogue answer's own time); redis-py's clients are
    thread-safe and share the pool's connections, so one per pool is enough."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._clients[index] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


# kernel.counters' counters: for each key, its first count sets it to expire, then every count adds.
COUNTS_IN_WINDOW_LUA = """
local counts = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
  counts[i] = redis.call('INCRBY', key, ARGV[2])
end
return counts
"""


@dataclass
class _Shared:
    """What every cache object of one Redis location shares in a process."""

    client: ReusedClientRedisCacheClient
    # The counting script of each redis client (kernel.counters).
    counting: dict[int, Any] = field(default_factory=dict)
    warned_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_shared: dict[str, _Shared] = {}
_shared_lock = threading.Lock()


class ResilientRedisCache(RedisCache):
    """Django's Redis cache with a local fallback (see above), whose connections, fallback and
    warnings belong to the process, not to the cache object.

    Django hands out its cache objects per context (``caches`` is contextvar-based), and the web
    process runs each request in a fresh context (tremma/serving.py): with Django's own, every
    request built a new cache object, so a new connection pool, a new connection to Redis (its
    handshake was a third of a checkout's time), and a fallback of its own — when Redis was down,
    attempt limits counted each request alone."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
        location = f"{self._servers!r} {sorted(self._options.items())!r}"  # type: ignore[attr-defined]
        with _shared_lock:
            shared = _shared.get(location)
            if shared is None:
                client = self._class(self._servers, **self._options)  # type: ignore[attr-defined]
                shared = _shared[location] = _Shared(client)
        self._shared = shared
        # LocMemCache keeps its entries per name, for the whole process.
        self._fallback = LocMemCache(f"tremma-fallback {location}", {"OPTIONS": {"MAX_ENTRIES": 10000}})

    @cached_property
    def _cache(self) -> ReusedClientRedisCacheClient:  # type: ignore[override]
        return self._shared.client

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(super(), name)(*args, **kwargs)
        except REDIS_DOWN:
            self._warn(name)
            method: Callable[..., Any] = getattr(self._fallback, name)
            return method(*args, **kwargs)

    def _warn(self, name: str) -> None:
        shared = self._shared
        with shared.lock:
            now = time.monotonic()
            if now - shared.warned_at < WARN_EVERY_SECONDS:
                return
            shared.warned_at = now
        logger.warning("cache: Redis unavailable (%s); this process uses its own cache meanwhile", name, exc_info=True)

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("add", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("get", *args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("set", *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("touch", *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("delete", *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("get_many", *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("has_key", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("incr", *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("set_many", *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        return self._either("delete_many", *args, **kwargs)

    def clear(self) -> Any:
        self._fallback.clear()
        return self._either("clear")

    def counts_in_window(self, keys: list[str], *, seconds: int, by: int = 1) -> list[int] | None:
        """Add ``by`` to each counter of ``keys`` (each living ``seconds`` from its first count) in one
        round trip — one script, ``SET key 0 EX seconds NX`` then ``INCRBY`` per key, atomic in Redis
        as a script is, so no counter can lose its expiry between the two — and return their new
        values. None when Redis is down (the caller counts in this process's cache instead)."""
        made = [self.make_and_validate_key(key) for key in keys]
        try:
            client = self._cache.get_client(made[0], write=True)
            script = self._shared.counting.get(id(client))
            if script is None:
                script = self._shared.counting[id(client)] = client.register_script(COUNTS_IN_WINDOW_LUA)
            # EVALSHA, loading the script first when this Redis does not know it yet.
            answers = script(keys=made, args=[seconds, by], client=client)
        except REDIS_DOWN:
            self._warn("counts_in_window")
            return None
        return [int(answer) for answer in answers]

    def set_each(self, entries: dict[str, tuple[Any, int | None]]) -> None:
        """``SET`` each key of ``entries`` to its value for its own seconds (None: for ever) in one
        round trip (a pipeline; each SET is atomic, the batch need not be). Raises one of
        ``REDIS_DOWN`` when Redis is down: no local fallback (see ``shared_call``)."""
        if not entries:
            return
        client = self._cache.get_client(None, write=True)
        pipe = client.pipeline(transaction=False)
        for key, (value, seconds) in entries.items():
            made = self.make_and_validate_key(key)
            pipe.set(made, self._cache._serializer.dumps(value), ex=self.get_backend_timeout(seconds))  # type: ignore[attr-defined]
        pipe.execute()


def shared_call(cache: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``name`` on ``cache`` without the local fallback: on a ResilientRedisCache,
    Redis's own answer or one of ``REDIS_DOWN``.

    For what must be the same in every process or not be at all (a response cache and
    the generation that invalidates it): a process-local copy could serve another
    process's stale entry, where going without the cache only costs time."""
    cache = unproxied(cache)
    if isinstance(cache, ResilientRedisCache):
        return getattr(RedisCache, name)(cache, *args, **kwargs)
    return getattr(cache, name)(*args, **kwargs)


def unproxied(cache: Any) -> Any:
    """The cache object itself behind ``django.core.cache.cache`` (a proxy to this context's
    default cache, which ``isinstance`` does not see through)."""
    if isinstance(cache, ConnectionProxy):
        return cache._connections[cache._alias]  # type: ignore[attr-defined]
    return cache
