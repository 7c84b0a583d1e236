"""PostgreSQL's plan for the catalogue's queries: no sequential scan of a big table.

"Big" is decided by the data, not by a list of names: a relation the planner
believes holds at least ``BIG_ROWS`` rows after ANALYZE. At 100,000 items that
is the items table (and whatever else grows with it); campaigns,
organisations, short codes and the bench's photo-less photos table hold a few
rows, and for those reading the whole table is the planner's right choice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

BIG_ROWS = 10_000


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of one plan tree, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def seq_scans(explain: list[dict[str, Any]] | str, big: set[str]) -> list[str]:
    """The big relations that an ``EXPLAIN (FORMAT JSON)`` result reads with a Seq Scan."""
    document = json.loads(explain) if isinstance(explain, str) else explain
    found = []
    for statement in document:
        for node in plan_nodes(statement["Plan"]):
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in big:
                found.append(node["Relation Name"])
    return found


def big_tables(connection: Any, min_rows: int = BIG_ROWS) -> dict[str, int]:
    """Relations of the current schema the planner estimates at ``min_rows`` rows or more."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND reltuples >= %s",
            [min_rows],
        )
        return {name: int(rows) for name, rows in cursor.fetchall()}


def analyze(connection: Any, tables: list[str]) -> None:
    """VACUUM ANALYZE so the planner sees the seeded rows (and index-only scans see a fresh visibility map),
    as autovacuum would leave a table that has grown to this size."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'VACUUM ANALYZE "{table}"')


def explain(connection: Any, sql: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        result = cursor.fetchone()[0]
    return json.loads(result) if isinstance(result, str) else result
