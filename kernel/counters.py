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


def seconds_left_in_window(seconds: int) -> int:
    """For counters keyed by fixed windows (``int(time.time()) // seconds``): how long until this one ends."""
    return seconds - int(time.time()) % seconds
