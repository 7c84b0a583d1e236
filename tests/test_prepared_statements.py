"""On PostgreSQL, a statement the web process runs again and again (a scan's code lookup, the
checkout's) is prepared on its connection after its fifth run, so PostgreSQL plans it once
(tremma/settings.py: server-side binding); DB_SERVER_SIDE_BINDING=false turns it off, for a
pooler in transaction mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from donations.models import Order
from qr.selectors import scan_landing, short_code_resolve
from qr.services import short_code_for
from tests.components import require
from tests.factories import ItemFactory, WindowFactory, place_items

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def prepared_here() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_lookup_run_again_and_again_is_planned_once() -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    placement = place_items(WindowFactory(), 1)[0]
    code = short_code_for(target=placement).code
    for _ in range(6):
        found = short_code_resolve(code=code.lower())  # a hostile case: codes are case-insensitive
        assert found is not None and found.placement_id == placement.pk
        landing = scan_landing(code=code.lower())  # the scan's own lookup, in plain SQL
        assert landing is not None and landing.placement_id == placement.pk
    prepared = prepared_here()
    assert any('FROM "qr_shortcode"' in statement and "ORDER BY" in statement for statement in prepared)
    assert any("FROM qr_shortcode c" in statement for statement in prepared)
    # Hostile codes never reach the database, prepared or not.
    assert short_code_resolve(code="'; DROP TABLE qr_shortcode; --") is None
    assert scan_landing(code="'; DROP TABLE qr_shortcode; --") is None


def test_db_server_side_binding_false_keeps_parameters_in_the_sql() -> None:
    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres", "DEBUG": "true"}
    show = "import tremma.settings as s; print(s.DATABASES['default']['OPTIONS'])"

    def settings_with(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", show], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=60
        )

    default, off = settings_with(), settings_with(DB_SERVER_SIDE_BINDING="false")
    assert default.returncode == 0 and off.returncode == 0, default.stderr + off.stderr
    assert "'server_side_binding': True" in default.stdout and "'prepare_threshold': 5" in default.stdout
    assert "server_side_binding" not in off.stdout
    refused = settings_with(DB_SERVER_SIDE_BINDING="sometimes")
    assert refused.returncode != 0 and "DB_SERVER_SIDE_BINDING" in refused.stderr


def test_the_checkouts_statements_are_converted_once_and_its_rows_statement_prepared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """psycopg converts a statement's placeholders once per text only up to a number of parameters
    (kernel.apps widens it): the checkout's one statement of rows (about 65) is not converted again
    at each checkout, and is prepared as any statement run again and again."""
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    from psycopg import _queries

    from checkout.services import order_start

    items = [ItemFactory() for _n in range(6)]
    order_start(item_id=items[0].pk, email="premier@example.org")
    converted_again: list[bytes] = []
    uncached = _queries._query2pg_nocache

    def counted(query: bytes, encoding: str) -> Any:
        converted_again.append(query)
        return uncached(query, encoding)

    monkeypatch.setattr(_queries, "_query2pg_nocache", counted)
    for n, item in enumerate(items[1:]):
        order = order_start(item_id=item.pk, email=f"passant{n}@example.org")
        assert Order.objects.get(pk=order.pk).lines.get().item_id == item.pk
    assert converted_again == []
    assert any(statement.startswith("WITH k AS MATERIALIZED") for statement in prepared_here())
