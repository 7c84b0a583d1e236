"""Catalogue: GET /api/items/ with filters and ``q`` over 100,000 items (2,000,000 with ``--items``),
next to the bare JSON view served by the same server in the same run."""

from __future__ import annotations

import random
from collections.abc import Callable
from urllib.parse import quote

import httpx

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


# The levers of pages/api/catalogue.py, switched off one after the other (server settings), to say
# what each gives: the first set is production's and carries the targets.
LEVER_SETS: list[tuple[str, dict[str, str]]] = [
    ("all levers", {}),
    ("no response cache", {"CATALOGUE_CACHE_SECONDS": "0"}),
    ("no cache, model rows + DRF serializer", {"CATALOGUE_CACHE_SECONDS": "0", "CATALOGUE_VALUES_ROWS": "false"}),
    (
        "no cache, DRF rows, exact counts",
        {"CATALOGUE_CACHE_SECONDS": "0", "CATALOGUE_VALUES_ROWS": "false", "CATALOGUE_EXACT_COUNT_UP_TO": "1000000000"},
    ),
]


def catalogue_paths(items: int, rng: random.Random) -> list[str]:
    """400 requests over every filter, the text search, orders, pages by number and deep cursors."""
    from django.db.models import Count

    from campaigns.models import Campaign, Organisation
    from donations.models import PUBLIC_STATUSES, Item
    from kernel.places import department_of
    from pages.api.catalogue import encode_cursor
    from pages.management.commands.seed_demo import ITEMS

    # Pages that exist: a campaign's listed items, 20 a page (other scenarios add items unevenly).
    listed = Campaign.objects.filter(items__status="listed").annotate(n=Count("items")).values_list("slug", "n")
    pages = {slug: max(1, min(10, n // 20)) for slug, n in listed}
    slugs = sorted(pages)
    organisations = sorted(Organisation.objects.values_list("slug", flat=True))
    departments = sorted(
        {department_of(code) for code in Organisation.objects.values_list("postal_code", flat=True)} - {""}
    ) or ["64"]
    categories = sorted({row[3] for row in ITEMS})
    public = Item.objects.filter(status__in=PUBLIC_STATUSES)
    deep = [depth for depth in (10_000, items // 10, items // 2) if depth < items - 100]
    cursors = []
    for depth in deep:
        newest = public.order_by("-created_at", "-id").values_list("created_at", "id")[depth]
        cursors.append("?after=" + encode_cursor([newest[0].isoformat(), newest[1]]))
        cheapest = public.order_by("price_cents", "id").values_list("price_cents", "id")[depth]
        cursors.append("?ordering=price&after=" + encode_cursor(list(cheapest)))
    paths = []
    for _ in range(400):
        word = quote(rng.choice(WORDS))
        slug = rng.choice(slugs)
        low = rng.randrange(500, 5000, 500)
        choices = [
            "/api/items/?status=listed",
            f"/api/items/?campaign={slug}&status=listed&page={rng.randint(1, pages[slug])}",
            f"/api/items/?q={word}",
            f"/api/items/?q={word}&campaign={slug}",
            f"/api/items/?q={word}&ordering=newest",
            f"/api/items/?category={rng.choice(categories)}",
            f"/api/items/?department={rng.choice(departments)}&ordering=newest",
            f"/api/items/?organisation={rng.choice(organisations)}",
            "/api/items/?delivery=collection",
            f"/api/items/?delivery={rng.choice(['relay', 'home'])}",
            f"/api/items/?delivery=relay&category={rng.choice(categories)}",
            f"/api/items/?min_price_cents={low}&max_price_cents={low * 4}",
            f"/api/items/?ordering={rng.choice(['price', '-price'])}&page={rng.randint(1, 5)}",
            f"/api/items/?status=listed&page={rng.randint(20, 50)}",
            "/api/items/" + rng.choice(cursors) if cursors else "/api/items/?after=",
        ]
        paths.append(rng.choice(choices))
    return paths


def deep_page_figures(report: Report, items: int) -> None:
    """One request at a time, in-process, uncached: a page far down the list by number (OFFSET) and by
    cursor (an index range from the last item seen). What keyset pages give."""
    import time

    from django.test import Client
    from django.test.utils import override_settings

    from donations.models import PUBLIC_STATUSES, Item
    from pages.api.catalogue import encode_cursor

    depth = min(100_000, items // 2)
    row = Item.objects.filter(status__in=PUBLIC_STATUSES).order_by("-created_at", "-id").values_list("created_at", "id")
    created_at, pk = row[depth - 1]
    by_cursor = f"/api/items/?after={encode_cursor([created_at.isoformat(), pk])}"
    by_page = f"/api/items/?page={depth // 20 + 1}"
    client = Client(HTTP_HOST="127.0.0.1")
    with override_settings(CATALOGUE_CACHE_SECONDS=0):
        for name, path in (("by page number (OFFSET)", by_page), ("by cursor (after)", by_cursor)):
            times = []
            for _ in range(15):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            report.add(
                Figure(
                    "catalogue",
                    f"page at item {depth:,} {name}, 1 client",
                    "ms",
                    Repeated(times[3:]),
                    notes=f"{items:,} items; in-process, uncached, one request at a time",
                )
            )


def measure(
    report: Report,
    ceilings: Ceilings,
    *,
    items: int,
    pairs: int,
    load_seconds: float,
    server_for: Callable[[str, dict[str, str]], Server],
    levers: bool,
) -> None:
    from django.test.utils import override_settings

    seed_items(items)
    analyze_all()
    paths = catalogue_paths(items, random.Random(7))
    for index, (label, env) in enumerate(LEVER_SETS if levers else LEVER_SETS[:1]):
        with server_for(label, env) as server:
            measure_one(
                report,
                server,
                ceilings,
                paths,
                items=items,
                pairs=pairs if index == 0 else max(3, pairs - 2),
                load_seconds=load_seconds,
                label=label,
                main=index == 0,
            )
    deep_page_figures(report, items)
    analyze_all()  # again: the load itself added rows (reservations, short codes)
    with override_settings(CATALOGUE_CACHE_SECONDS=0):  # the queries a miss makes
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


def measure_one(
    report: Report,
    server: Server,
    ceilings: Ceilings,
    paths: list[str],
    *,
    items: int,
    pairs: int,
    load_seconds: float,
    label: str,
    main: bool,
) -> None:
    non_2xx: list[int] = []
    # Steady state: every distinct request once before measuring, so the pairs all see the same warm
    # server (with the response cache, a cold first pair would be mostly misses and the rest hits;
    # what a miss costs is the "no response cache" set's figure).
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path in sorted(set(paths)):
            client.get(path)

    def catalogue() -> dict[str, float]:
        result = wrk(server.url, paths, seconds=load_seconds, connections=ceilings.connections)
        non_2xx.append(result.non_2xx_3xx + result.socket_errors)
        return {"catalogue.rps": result.throughput, "catalogue.p50": result.p50_ms, "catalogue.p99": result.p99_ms}

    rounds = alternate(
        [ceilings.wsgi(), ceilings.ping(server), ("catalogue", catalogue)],
        pairs=pairs,
        ratios=[("catalogue.rps", "wsgi.rps"), ("catalogue.rps", "ping.rps")],
    )
    suffix = "" if main else f" [{label}]"
    report.pair_sets["catalogue" + suffix] = rounds.as_dict()
    report.gate(f"catalogue{suffix}: 0 errors", sum(non_2xx) == 0, f"{sum(non_2xx)} non-2xx answers or socket errors")
    size = f"{items:,} items, wrk -c{ceilings.connections}"
    report.add(
        Figure(
            "catalogue",
            f"items list p50 ({size}){suffix}",
            "ms",
            Repeated(rounds.values("catalogue.p50")),
            loads=rounds.loads(),
            cpu_ms=rounds.cpu_ms(),
        )
    )
    report.add(
        Figure(
            "catalogue",
            f"items list p99 ({size}){suffix}",
            "ms",
            Repeated(rounds.values("catalogue.p99")),
            target=50 if main else None,
            target_kind="max",
            notes=f"p99 ≤ 50 ms at {items:,} items" if main else f"lever check: {label}",
            loads=rounds.loads(),
            cpu_ms=rounds.cpu_ms(),
        )
    )
    report.add(
        ratio_figure(
            rounds,
            "catalogue",
            f"items list throughput vs bare WSGI view (b){suffix}",
            "req/s",
            "catalogue.rps",
            "wsgi.rps",
            target=0.25 if main else None,
            notes=f"issue 19: ≥ 0.25× the bare Django view at {items:,} items" if main else f"lever check: {label}",
        )
    )
    report.add(
        ratio_figure(
            rounds,
            "catalogue",
            f"items list throughput vs production ping (c){suffix}",
            "req/s",
            "catalogue.rps",
            "ping.rps",
        )
    )
