"""Counters in the shared cache (Redis in production, so every worker counts
together): payment attempts, sign-in failures, uploads."""

from __future__ import annotations

import time

from django.core.cache import cache


def count_in_window(key: str, *, seconds: int, by: int = 1) -> int:
    """Add ``by`` to the counter ``key``, which lives ``seconds`` from its first
    count; return its new value. ``add`` + ``incr`` are atomic in Redis and in
    the local-memory cache: no read-modify-write."""
    cache.add(key, 0, timeout=seconds)
    try:
        return int(cache.incr(key, by))
    except ValueError:  # expired between add and incr
        cache.add(key, by, timeout=seconds)
        return by


def counts_in_window(keys: list[str], *, seconds: int, by: int = 1) -> list[int]:
    """``count_in_window`` for several counters at once: one round trip to Redis (kernel.cache's
    ``counts_in_window``) instead of two per counter; elsewhere, or when Redis is down, one by one."""
    together = getattr(cache, "counts_in_window", None)
    counts = together(keys, seconds=seconds, by=by) if together is not None and keys else None
    if counts is None:
        counts = [count_in_window(key, seconds=seconds, by=by) for key in keys]
    return counts


def seconds_left_in_window(seconds: int) -> int:
    """For counters keyed by fixed windows (``int(time.time()) // seconds``): how long until this one ends."""
    return seconds - int(time.time()) % seconds
