"""Catalogue: GET /api/items/ with filters and ``q`` over 100,000 items,
next to the bare JSON view served by the same server in the same run."""

from __future__ import annotations

import random
from urllib.parse import quote

from bench.harness import Figure, Load, Repeated, Report, Server, hammer, percentile, run

WORDS = ["chêne", "lampe", "vélo", "porcelaine", "guitare", "miroir", "commode", "radio", "tapis", "théière"]


def seed_items(count: int) -> list[str]:
    """Bulk-load ``count`` listed items over the demo campaigns; returns the campaign slugs.

    Benchmark data only: rows are inserted listed in bulk, not walked through
    review one by one (the state machine is exercised by the test suite)."""
    from campaigns.management.commands.seed_demo import ITEMS
    from campaigns.models import Campaign
    from donations.models import Item, ItemStatus

    campaigns = list(Campaign.objects.order_by("id"))
    existing = Item.objects.count()
    batch = []
    for index in range(existing, count):
        title, description, condition, category, price = ITEMS[index % len(ITEMS)]
        batch.append(
            Item(
                campaign=campaigns[index % len(campaigns)],
                title=f"{title} n°{index}",
                description=description,
                condition=condition,
                category=category,
                price_cents=price + index % 97,
                status=ItemStatus.LISTED,
            )
        )
        if len(batch) == 5000:
            Item.objects.bulk_create(batch)
            batch = []
    Item.objects.bulk_create(batch)
    return [campaign.slug for campaign in campaigns]


def queries_per_request(paths: list[str]) -> list[int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    counts = []
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        counts.append(len(queries))
    return counts


def measure(report: Report, server: Server, *, items: int, requests: int, repeats: int, concurrency: int) -> None:
    slugs = seed_items(items)
    rng = random.Random(7)
    paths = []
    for _ in range(requests):
        choice = rng.randrange(4)
        word = quote(rng.choice(WORDS))
        slug = rng.choice(slugs)
        paths.append(
            [
                "/api/items/?status=listed",
                f"/api/items/?campaign={slug}&status=listed&page={rng.randint(1, 50)}",
                f"/api/items/?q={word}",
                f"/api/items/?q={word}&campaign={slug}",
            ][choice]
        )
    ping = ["/__bench__/ping"] * requests
    runs: list[tuple[Load, Load]] = []
    for _ in range(repeats):
        runs.append(
            (
                run(hammer(server.url, paths, concurrency=concurrency)),
                run(hammer(server.url, ping, concurrency=concurrency)),
            )
        )
    errors = sum(n for load, _ in runs for status, n in load.statuses.items() if status >= 400)
    report.checks["catalogue.errors"] = errors

    def rep(values: list[float]) -> Repeated:
        return Repeated(values)

    report.add(
        Figure(
            "catalogue",
            f"items list p50 ({items:,} items)",
            "ms",
            rep([percentile(load.latencies_ms, 50) for load, _ in runs]),
            rep([percentile(p.latencies_ms, 50) for _, p in runs]),
            "bare JSON view p50",
        )
    )
    report.add(
        Figure(
            "catalogue",
            f"items list p99 ({items:,} items)",
            "ms",
            rep([percentile(load.latencies_ms, 99) for load, _ in runs]),
            rep([percentile(p.latencies_ms, 99) for _, p in runs]),
            "bare JSON view p99",
            target=50,
            target_kind="max",
            target_on_value=True,
            notes="p99 ≤ 50 ms at 100,000 items",
        )
    )
    report.add(
        Figure(
            "catalogue",
            "items list throughput",
            "req/s",
            rep([load.throughput for load, _ in runs]),
            rep([p.throughput for _, p in runs]),
            "bare JSON view req/s",
            notes="no target: the p99 and the queries are the gates",
        )
    )
    counts = queries_per_request(sorted(set(paths))[:20])
    report.add(
        Figure(
            "catalogue",
            "queries per request (max over filters)",
            "queries",
            Repeated([float(max(counts))]),
            target=3,
            target_kind="max",
            notes="fixed whatever the page size or filter",
        )
    )
