"""What a ``py-spy record --format raw`` profile says, in a few numbers:
where the server's time went, by the layers that usually limit it here.

py-spy samples every thread (``--threads``); in this container its idle
detection lets blocked threads through, so samples whose innermost frame is a
known wait are set apart first (a thread parked on a lock or a queue, and
psycopg waiting for PostgreSQL's answer). Each remaining sample is given to
the layer of its innermost frame that belongs to one (exclusive time: a
query's own cost is "database", not also "middleware" that wraps the view)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

WAITS: dict[str, tuple[str, ...]] = {
    "waiting for PostgreSQL (psycopg Connection.wait)": ("Connection.wait (psycopg/",),
    "threads parked (locks, executor queues)": (
        "Condition.wait (threading.py",
        "_worker (concurrent/futures/thread.py",
        "_wait_for_tstate_lock (threading.py",
        "Event.wait (threading.py",
    ),
    "event loop in native code (uvloop run, epoll; idle included)": (
        "Runner.run (asyncio/runners.py",
        "select (selectors.py",
    ),
}

# Checked in this order for each frame, innermost frame first.
LAYERS: dict[str, tuple[str, ...]] = {
    "asgiref thread hops (sync_to_async, executors, thread start/notify)": (
        "asgiref/",
        "concurrent/futures/",
        "threading.py",
    ),
    "database driver (psycopg, sqlite3, connect)": ("psycopg/", "sqlite3", "django/db/backends"),
    "Redis client (cache, channel layer, throttles)": ("redis/", "channels_redis/"),
    "ORM (query building, compiling, model instances)": ("django/db/models",),
    "DRF (views, serializers, renderers)": ("rest_framework/",),
    "Django middleware (incl. whitenoise)": (
        "django/middleware/",
        "django/contrib/sessions/",
        "django/contrib/auth/middleware",
        "django/contrib/messages/",
        "django/utils/deprecation.py",
        "whitenoise/",
    ),
    "templates": ("django/template/", "django/templatetags/"),
    "our code": (
        "tremma/",
        "kernel/",
        "accounts/",
        "campaigns/",
        "donations/",
        "ledger/",
        "payments/",
        "qr/",
        "receipts/",
        "checkout/",
        "pages/",
        "realtime/",
        "frontend/",
    ),
    "Channels": ("channels/", "daphne/"),
    "other Django (handlers, URL resolving, signals, i18n)": ("django/",),
    "server protocol and event loop (uvicorn, gunicorn, asyncio)": (
        "uvicorn/",
        "gunicorn/",
        "h11/",
        "httptools",
        "asyncio/",
    ),
}


def parse(text: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in text.splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def _layer(frames: list[str], layers: dict[str, tuple[str, ...]]) -> str | None:
    for frame in reversed(frames):
        for layer, needles in layers.items():
            if any(needle in frame for needle in needles):
                return layer
    return None


def summarise(path: Path, top: int = 15) -> str:
    stacks = parse(path.read_text())
    total = sum(count for _frames, count in stacks)
    if not total:
        return f"{path.name}: no samples"
    waits: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for frames, count in stacks:
        wait = next((name for name, needles in WAITS.items() if any(n in frames[-1] for n in needles)), None)
        if wait:
            waits[wait] += count
            continue
        layers[_layer(frames, LAYERS) or "other (imports, stdlib)"] += count
        leaves[frames[-1]] += count
    busy = total - sum(waits.values())
    lines = [f"{path.name}: {total} samples over all threads, {busy} of them running Python"]
    lines += [f"  {share * 100 / total:5.1f} % of all  {name}" for name, share in waits.most_common()]
    lines.append("  running Python, by innermost layer (share of the running samples):")
    lines += [f"    {share * 100 / busy:5.1f} %  {layer}" for layer, share in layers.most_common()]
    lines.append(f"  top {top} functions (self, share of the running samples):")
    lines += [f"    {share * 100 / busy:5.1f} %  {leaf}" for leaf, share in leaves.most_common(top)]
    return "\n".join(lines)
