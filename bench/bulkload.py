"""The catalogue's benchmark data: listed items by the hundred thousand or the million.

On PostgreSQL the rows go in with COPY (psycopg's copy protocol), the way an
operator would import a catalogue: the items table's secondary indexes are
dropped first and built again at the end (one sort each instead of a
million random insertions), then the rows a listed item brings along are made
by the server itself in one INSERT … SELECT each: its short code (what
``item_transition`` gives a listed item, so catalogue reads never write) and
one photo row pointing at one of the demo's few photo files (the list reads
photos: an item without one would make the benchmark lighter than life).
2,000,000 items load in about 11 minutes on a shared 2-core machine (load 6),
the search vector's trigger (donations 0018) included. Elsewhere (SQLite) ``bulk_create`` by
batches, as before.

Benchmark data only: rows are inserted listed, not walked through review one
by one (the state machine is exercised by the test suite)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

# Items are spread over this long, so "newest first" and a deep page read a real spread of dates.
SPREAD = timedelta(days=2 * 365)
# Tables whose secondary indexes are dropped during the COPY and built again after it.
INDEXED_TABLES = ("donations_item", "qr_shortcode", "donations_itemphoto")


def seed_items(count: int, *, say: Any = print) -> list[str]:
    """Bring the listed items up to ``count`` over the demo campaigns; returns the campaign slugs."""
    from campaigns.models import Campaign
    from donations.models import Item

    campaigns = list(Campaign.objects.select_related("organisation").order_by("id"))
    existing = Item.objects.count()
    if count > existing:
        started = time.monotonic()
        if connection.vendor == "postgresql":
            _copy_items(campaigns, existing, count)
        else:
            _bulk_create_items(campaigns, existing, count)
        seconds = time.monotonic() - started
        say(f"  catalogue: {count - existing:,} items loaded in {seconds:.0f} s ({connection.vendor})")
    return [campaign.slug for campaign in campaigns]


def item_values(campaigns: list[Any], index: int) -> dict[str, Any]:
    """The ``index``-th benchmark item's own fields (the others take their model default)."""
    from donations.models import ItemStatus, parcel_allowed
    from pages.management.commands.seed_demo import ITEMS

    title, description, condition, category, price = ITEMS[index % len(ITEMS)]
    campaign = campaigns[index % len(campaigns)]
    # Most objects have a weight; about a third of those that may travel ship (the catalogue's
    # delivery filter then reads a realistic share: ?delivery=relay|home).
    weight = None if index % 10 == 9 else 200 + (index * 37) % 6000
    ships = index % 3 == 0 and parcel_allowed(category=category, weight_grams=weight)
    return {
        "campaign_id": campaign.pk,
        "title": f"{title} n°{index}",
        "description": description,
        "condition": condition,
        "category": category,
        "price_cents": price + index % 97,
        "status": ItemStatus.LISTED,
        "weight_grams": weight,
        "ships": ships,
    }


def _bulk_create_items(campaigns: list[Any], start: int, count: int) -> None:
    from donations.models import Item
    from qr.services import short_codes_ensure

    batch = []
    for index in range(start, count):
        batch.append(Item(**item_values(campaigns, index)))
        if len(batch) == 5000:
            short_codes_ensure(targets=Item.objects.bulk_create(batch))
            batch = []
    if batch:
        short_codes_ensure(targets=Item.objects.bulk_create(batch))


def _item_columns() -> list[Any]:
    """The items table's concrete fields the COPY writes: every one but the serial id."""
    from donations.models import Item

    return [field for field in Item._meta.concrete_fields if not field.primary_key]


def _rows(campaigns: list[Any], start: int, count: int) -> Iterator[tuple[Any, ...]]:
    from donations.models import Item
    from tremma.bench import column_defaults

    fields = _item_columns()
    defaults = column_defaults(Item)
    now = timezone.now()
    step = SPREAD / max(1, count - start)
    derived = _derived_fields()
    for index in range(start, count):
        values = {**defaults, **item_values(campaigns, index)}
        # Oldest first, so ids and dates grow together as they do in life; the last item is "now".
        values["created_at"] = values["updated_at"] = now - step * (count - 1 - index)
        for name, compute in derived.items():
            values[name] = compute(values, campaigns[index % len(campaigns)])
        yield tuple(values[field.attname] for field in fields)


def _derived_fields() -> dict[str, Any]:
    """Fields the model derives on write (when it has them): computed here as its services would."""
    from donations.models import Item

    names = {field.attname for field in Item._meta.concrete_fields}
    derived: dict[str, Any] = {}
    if "department" in names:
        from kernel.places import department_of

        def department(values: dict[str, Any], campaign: Any) -> str:
            postal = values.get("postal_code") or getattr(campaign.organisation, "postal_code", "")
            return str(department_of(postal or ""))

        derived["department"] = department
    return derived


def _secondary_indexes(cursor: Any) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes that back no constraint (primary key, unique)."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [list(INDEXED_TABLES)],
    )
    return list(cursor.fetchall())


def _copy_items(campaigns: list[Any], start: int, count: int) -> None:
    from qr.models import CODE_ALPHABET, CODE_LENGTH

    fields = _item_columns()
    columns = ", ".join(f'"{field.column}"' for field in fields)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM donations_item")
        (before,) = cursor.fetchone()
        indexes = _secondary_indexes(cursor)
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY donations_item ({columns}) FROM STDIN") as copy:
            for row in _rows(campaigns, start, count):
                copy.write_row(row)
        # Short codes: unique, drawn from the real alphabet, derived from the id by a bijection
        # (an odd multiplier modulo 31**7), so they look random and never collide with each other.
        # The few random ones the demo drew are skipped if one ever matches.
        base = len(CODE_ALPHABET)
        modulus = base**CODE_LENGTH
        digits = " || ".join(
            f"substr('{CODE_ALPHABET}', ((s.n / {base**power}) %% {base})::int + 1, 1)" for power in range(CODE_LENGTH)
        )
        cursor.execute(
            f"""
            INSERT INTO qr_shortcode (code, item_id, created_at, updated_at)
            SELECT {digits}, s.id, now(), now()
            FROM (SELECT id, (id::numeric * 2654435761 %% {modulus})::bigint AS n
                  FROM donations_item WHERE id > %s) s
            ON CONFLICT DO NOTHING
            """,
            [before],
        )
        # Photos: one a listed item, pointing at the demo's own files (a few, shared), as a real
        # catalogue's rows point at theirs. Renditions and fallbacks ride along as they are.
        cursor.execute(
            """
            WITH demo AS (
                SELECT image, fallback, renditions, width, height,
                       row_number() OVER (ORDER BY id) - 1 AS n, count(*) OVER () AS total
                FROM donations_itemphoto WHERE position = 0 AND item_id <= %s
            )
            INSERT INTO donations_itemphoto (item_id, image, fallback, renditions, width, height, position)
            SELECT i.id, d.image, d.fallback, d.renditions, d.width, d.height, 0
            FROM donations_item i JOIN demo d ON d.n = i.id %% d.total
            WHERE i.id > %s
            """,
            [before, before],
        )
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
