"""Trigram indexes for the catalogue's ``q`` search on PostgreSQL.

``item_search`` filters with ``title__icontains`` / ``description__icontains``,
which Django writes as ``UPPER(col::text) LIKE UPPER('%word%')``: a B-tree
cannot serve a leading wildcard, so at 100,000 items PostgreSQL read the whole
table for every search (found by ``python -m bench``'s plan check). GIN
trigram indexes on exactly those expressions let it use a bitmap index scan.

PostgreSQL only (pg_trgm is a trusted extension from PostgreSQL 13 on, so the
database owner may create it); SQLite has no such index and keeps scanning,
which its small embedded databases can afford. The indexes are not in the
model state (Django cannot express them portably), hence RunPython."""

from django.db import migrations

INDEXES = {
    "item_title_upper_trgm": 'UPPER("title"::text)',
    "item_description_upper_trgm": 'UPPER("description"::text)',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "donations_item" USING gin (({expression}) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("donations", "0006_item_newest_first")]

    operations = [migrations.RunPython(create, drop)]
