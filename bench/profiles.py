"""What a ``py-spy record --format raw`` profile says, in a few numbers:
where the server's CPU went, by the layers that usually limit it here."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# Layer -> substrings of a frame ("function (file:line)") that put a sample in it.
# A sample counts once per layer it passes through (inclusive time).
LAYERS: dict[str, tuple[str, ...]] = {
    "asgiref thread hops (sync_to_async / async_to_sync)": ("asgiref/sync.py", "asgiref/current_thread_executor"),
    "Django middleware (incl. whitenoise)": (
        "django/middleware/",
        "django/contrib/sessions/middleware",
        "django/contrib/auth/middleware",
        "django/contrib/messages/middleware",
        "django/utils/deprecation.py",
        "whitenoise/middleware",
    ),
    "database (django.db backends, psycopg, sqlite3)": ("django/db/backends", "psycopg/", "sqlite3"),
    "ORM query building/compiling": ("django/db/models/sql", "django/db/models/query"),
    "DRF (views, serializers, renderers)": ("rest_framework/",),
    "templates": ("django/template/",),
    "server protocol (uvicorn/gunicorn, h11, httptools)": ("uvicorn/", "gunicorn/", "h11/", "httptools"),
    "Channels": ("channels/", "daphne/"),
    "our code": ("tremma/", "donations/", "payments/", "campaigns/", "qr/", "realtime/", "frontend/", "accounts/"),
}


def parse(text: str) -> list[tuple[list[str], int]]:
    stacks = []
    for line in text.splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def summarise(path: Path, top: int = 15) -> str:
    stacks = parse(path.read_text())
    total = sum(count for _frames, count in stacks)
    if not total:
        return f"{path.name}: no samples"
    layers: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    for frames, count in stacks:
        for layer, needles in LAYERS.items():
            if any(needle in frame for frame in frames for needle in needles):
                layers[layer] += count
        leaves[frames[-1]] += count
        thread = next((frame for frame in frames if frame.startswith("thread ")), "thread ?")
        threads[thread] += count
    lines = [f"{path.name}: {total} samples of CPU (py-spy, idle excluded)", "  by layer (inclusive):"]
    lines += [f"    {share * 100 / total:5.1f} %  {layer}" for layer, share in layers.most_common()]
    lines.append("  by thread:")
    lines += [f"    {share * 100 / total:5.1f} %  {thread}" for thread, share in threads.most_common(4)]
    lines.append(f"  top {top} functions (self):")
    lines += [f"    {share * 100 / total:5.1f} %  {leaf}" for leaf, share in leaves.most_common(top)]
    return "\n".join(lines)
