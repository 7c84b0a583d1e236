"""Generation tokens: a value in the shared cache that changes after every committed
write of one kind, so whatever was cached under the old token is never served again.

Readers put the token they read next to what they cache and compare it on the way
out (one cache round trip for both); writers call ``generation_bump`` inside their
transaction and the token changes once it commits (a rollback changes nothing).
When the shared cache is down, readers get ``None`` (they go uncached) and a lost
bump is bounded by the readers' own expiry."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

from kernel.cache import REDIS_DOWN, ResilientRedisCache, shared_call, unproxied

logger = logging.getLogger(__name__)

T = TypeVar("T")

PREFIX = "generation:"
# What the items list caches (pages/api/catalogue.py): bumped by any committed change of an item,
# its photos, its campaign or organisation (donations.selectors.item_changed, donations.receivers, campaigns.services).
CATALOGUE = "catalogue"


def generation_key(name: str) -> str:
    return PREFIX + name


def generation_bump(name: str, *, seconds: int | None = None) -> None:
    """Change ``name``'s token when the current transaction commits (now outside one).
    ``seconds``: how long the token lives (None: for ever); a token gone is as good as changed.
    Every token a transaction bumps is set in one round trip when it commits (a checkout
    bumps the catalogue's and its item's)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        generation_set(name, seconds=seconds)
        return
    bumps: _Bumps | None = getattr(connection, _BUMPS, None)
    # This transaction's bumps, unless its hook is gone (a rollback discarded it, or it ran).
    if bumps is None or not any(hook is bumps for _sids, hook, _robust in connection.run_on_commit):
        bumps = _Bumps()
        setattr(connection, _BUMPS, bumps)
        transaction.on_commit(bumps, robust=True)
    bumps.names[name] = seconds


# The connection attribute holding the bumps of its transaction (a connection belongs to one thread).
_BUMPS = "_kernel_generation_bumps"


class _Bumps:
    """The tokens one transaction bumps, set together on commit (its on_commit hook)."""

    def __init__(self) -> None:
        self.names: dict[str, int | None] = {}

    def __call__(self) -> None:
        shared = unproxied(cache)
        if len(self.names) == 1 or not isinstance(shared, ResilientRedisCache):
            for name, seconds in self.names.items():
                generation_set(name, seconds=seconds)
            return
        try:
            shared.set_each({generation_key(name): (secrets.token_hex(8), s) for name, s in self.names.items()})
        except REDIS_DOWN:
            logger.warning("generations %s not bumped: the shared cache is down", sorted(self.names), exc_info=True)


def generation_set(name: str, *, seconds: int | None = None) -> str | None:
    token = secrets.token_hex(8)
    try:
        shared_call(cache, "set", generation_key(name), token, seconds)
    except REDIS_DOWN:
        logger.warning("generation %s not bumped: the shared cache is down", name, exc_info=True)
        return None
    return token


def generation_entry(name: str, key: str, *, seconds: int | None = None) -> tuple[str | None, Any]:
    """``name``'s token and what ``key`` keeps for that token, in one round trip: ``(token, value)``,
    ``(token, None)`` when ``key`` keeps nothing current, ``(None, None)`` when the cache is down or
    the token was missing (set now, with ``seconds`` to live: nothing kept under an older token may
    match it). Keep a value for the token with ``generation_keep``."""
    name_key = generation_key(name)
    try:
        found: dict[str, Any] = shared_call(cache, "get_many", [name_key, key])
    except REDIS_DOWN:
        return None, None
    token = found.get(name_key)
    if token is None:
        with contextlib.suppress(*REDIS_DOWN):
            shared_call(cache, "add", name_key, secrets.token_hex(8), seconds)
        return None, None
    entry = found.get(key)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == token:
        return token, entry[1]
    return token, None


def generation_keep(key: str, token: str, value: Any, seconds: int) -> None:
    """Keep ``value`` under ``key`` for ``token`` (read by ``generation_entry`` before the value was
    made): once the token changes, it is never served again. Without the cache, nothing is kept."""
    with contextlib.suppress(*REDIS_DOWN):
        shared_call(cache, "set", key, (token, value), seconds)


def generation_cached(
    name: str,
    key: str,
    *,
    seconds: int,
    token_seconds: int | None,
    servable: Callable[[Any], bool],
    read: Callable[[], T | None],
) -> T | None:
    """One row kept for ``name``'s token: what ``key`` keeps when current and ``servable`` (its type,
    its id, a public status: an entry is untrusted), else ``read()``, kept when ``servable`` for the
    token read before it. ``seconds`` 0: uncached. ``token_seconds``: how long the token lives. An
    entry that no longer unpickles (a deploy changed a model, not the key's version) is a miss."""
    token: str | None = None
    if seconds:
        try:
            token, kept = generation_entry(name, key, seconds=token_seconds)
        except Exception:
            logger.warning("generations: entry %s unreadable", key, exc_info=True)
            kept = None
        if kept is not None and servable(kept):
            return kept  # type: ignore[no-any-return]
    value = read()
    if token is not None and value is not None and servable(value):
        generation_keep(key, token, value, seconds)  # without the cache: served uncached
    return value
