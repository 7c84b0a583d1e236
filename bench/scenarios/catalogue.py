"""Catalogue: GET /api/items/ with filters and ``q`` over 100,000 items (2,000,000 with ``--items``),
next to the bare JSON view served by the same server in the same run."""

from __future__ import annotations

import random
from urllib.parse import quote

from bench.bulkload import seed_items
from bench.ceilings import Ceilings, ratio_figure
from bench.harness import Figure, Repeated, Report, Server
from bench.pairs import alternate
from bench.wrk import wrk

WORDS = ["chêne", "lampe", "vélo", "porcelaine", "guitare", "miroir", "commode", "radio", "tapis", "théière"]


def captured_queries(paths: list[str]) -> dict[str, list[str]]:
    """The SQL each catalogue request issues, by running the API in-process (the same code the server runs)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    captured = {}
    for path in paths:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        captured[path] = [query["sql"] for query in queries.captured_queries]
    return captured


def analyze_all() -> None:
    """PostgreSQL: VACUUM ANALYZE every table after the bulk load, as autovacuum would soon do.
    Without it the planner still believes the items table nearly empty and picks plans that
    made the load ten times slower than in production."""
    from django.db import connection

    from bench.plans import analyze

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
        analyze(connection, [name for (name,) in cursor.fetchall()])


def plan_check(report: Report, captured: dict[str, list[str]]) -> None:
    """PostgreSQL only: EXPLAIN every captured query; a Seq Scan on a big table fails the gate."""
    from django.db import connection

    from bench.plans import big_tables, explain, seq_scans

    if connection.vendor != "postgresql":
        report.checks["catalogue.plans"] = "not checked: the plan check needs PostgreSQL"
        return
    big = big_tables(connection)
    offenders: dict[str, list[str]] = {}
    for path, sqls in captured.items():
        for sql in sqls:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue  # BEGIN, SAVEPOINT…: nothing to plan
            scanned = seq_scans(explain(connection, sql), set(big))
            if scanned:
                offenders.setdefault(path, []).append(f"{', '.join(sorted(set(scanned)))} in: {sql[:300]}")
    report.checks["catalogue.big_tables"] = big
    report.checks["catalogue.seq_scans"] = offenders
    statements = sum(len(sqls) for sqls in captured.values())
    detail = f"{statements} statements of {len(captured)} requests explained; big tables {big}"
    if offenders:
        detail += f"; Seq Scan in {len(offenders)} requests, e.g. {next(iter(offenders.values()))[0]}"
    report.gate("catalogue: no seq scan on a big table", not offenders, detail)


def measure(report: Report, server: Server, ceilings: Ceilings, *, items: int, pairs: int, load_seconds: float) -> None:
    from django.db.models import Count

    from campaigns.models import Campaign

    seed_items(items)
    analyze_all()
    # Pages that exist: a campaign's listed items, 20 a page (other scenarios add items unevenly).
    listed = Campaign.objects.filter(items__status="listed").annotate(n=Count("items")).values_list("slug", "n")
    pages = {slug: max(1, min(10, n // 20)) for slug, n in listed}
    slugs = sorted(pages)
    rng = random.Random(7)
    paths = []
    for _ in range(400):
        word = quote(rng.choice(WORDS))
        slug = rng.choice(slugs)
        paths.append(
            [
                "/api/items/?status=listed",
                f"/api/items/?campaign={slug}&status=listed&page={rng.randint(1, pages[slug])}",
                f"/api/items/?q={word}",
                f"/api/items/?q={word}&campaign={slug}",
            ][rng.randrange(4)]
        )
    non_2xx: list[int] = []

    def catalogue() -> dict[str, float]:
        result = wrk(server.url, paths, seconds=load_seconds, connections=ceilings.connections)
        non_2xx.append(result.non_2xx_3xx + result.socket_errors)
        return {"catalogue.rps": result.throughput, "catalogue.p50": result.p50_ms, "catalogue.p99": result.p99_ms}

    rounds = alternate(
        [ceilings.wsgi(), ceilings.ping(server), ("catalogue", catalogue)],
        pairs=pairs,
        ratios=[("catalogue.rps", "wsgi.rps"), ("catalogue.rps", "ping.rps")],
    )
    report.pair_sets["catalogue"] = rounds.as_dict()
    report.gate("catalogue: 0 errors", sum(non_2xx) == 0, f"{sum(non_2xx)} non-2xx answers or socket errors")
    report.add(
        Figure(
            "catalogue",
            f"items list p50 ({items:,} items, wrk -c{ceilings.connections})",
            "ms",
            Repeated(rounds.values("catalogue.p50")),
            loads=rounds.loads(),
        )
    )
    report.add(
        Figure(
            "catalogue",
            f"items list p99 ({items:,} items, wrk -c{ceilings.connections})",
            "ms",
            Repeated(rounds.values("catalogue.p99")),
            target=50,
            target_kind="max",
            notes="p99 ≤ 50 ms at 100,000 items",
            loads=rounds.loads(),
        )
    )
    report.add(
        ratio_figure(
            rounds, "catalogue", "items list throughput vs bare WSGI view (b)", "req/s", "catalogue.rps", "wsgi.rps"
        )
    )
    report.add(
        ratio_figure(
            rounds, "catalogue", "items list throughput vs production ping (c)", "req/s", "catalogue.rps", "ping.rps"
        )
    )
    analyze_all()  # again: the load itself added rows (reservations, short codes)
    captured = captured_queries(sorted(set(paths)))
    counts = [len(sqls) for sqls in captured.values()]
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
    busiest = max(captured, key=lambda path: len(captured[path]))
    report.checks["catalogue.busiest_request"] = {busiest: captured[busiest]}
    report.gate(
        "catalogue: ≤ 3 queries per request",
        max(counts) <= 3,
        f"max {max(counts)} over {len(counts)} distinct requests",
    )
    plan_check(report, captured)
