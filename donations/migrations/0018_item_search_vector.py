"""French full-text search on PostgreSQL: a stored, weighted search vector per item.

- ``unaccent`` (a trusted extension from PostgreSQL 13: the database's owner, or
  any role with CREATE on the database, may create it) and a text search
  configuration ``tremma_french``: ``french`` whose words are unaccented
  before stemming, and ``tremma_search_text`` which folds the plurals the
  French stemmer keeps ("vélos", "jeux"), so "Vélo", "VELO" and "velos" are
  all ``velo``.
- ``donations_item.search_vector``: the title (weight A) and the description
  (weight B), written by a trigger on every INSERT and on every UPDATE that
  changes either, whatever writes the row (the ORM, ``bulk_create``, COPY).
  ``unaccent`` is not IMMUTABLE, so the vector cannot be a generated column
  nor an index expression: it is stored. It is not a model field either, so
  ordinary SELECTs never read it; ``donations.search`` reaches it by name.
- A GIN index on it. The trigram indexes of 0007 served the ``icontains``
  search this replaces: they go (and come back if this is reversed).

SQLite has none of this: ``donations.search`` folds accents and case there."""

from django.db import migrations

CONFIG = "tremma_french"

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{CONFIG}') THEN
            CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.french);
            ALTER TEXT SEARCH CONFIGURATION {CONFIG}
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF;
    END
    $$
    """,
    # French plurals the stemmer leaves alone ("vélos", "pianos": an s after a vowel; "jeux",
    # "bijoux"), folded on both sides, the indexed text and the search, so "velos" finds "Vélo".
    r"""
    CREATE OR REPLACE FUNCTION tremma_search_text(text) RETURNS text AS $$
        SELECT regexp_replace(
            regexp_replace(unaccent(coalesce($1, '')), '([[:alpha:]]{2,}[aiou])s\M', '\1', 'gi'),
            '([[:alpha:]]+(eu|ou))x\M', '\1', 'gi'
        )
    $$ LANGUAGE sql STABLE PARALLEL SAFE
    """,
    'ALTER TABLE "donations_item" ADD COLUMN IF NOT EXISTS "search_vector" tsvector',
    f"""
    CREATE OR REPLACE FUNCTION donations_item_search_vector() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'INSERT'
           OR NEW.title IS DISTINCT FROM OLD.title
           OR NEW.description IS DISTINCT FROM OLD.description THEN
            NEW.search_vector :=
                setweight(to_tsvector('{CONFIG}', tremma_search_text(NEW.title)), 'A')
                || setweight(to_tsvector('{CONFIG}', tremma_search_text(NEW.description)), 'B');
        END IF;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    'DROP TRIGGER IF EXISTS "donations_item_search_vector" ON "donations_item"',
    """
    CREATE TRIGGER "donations_item_search_vector"
        BEFORE INSERT OR UPDATE OF title, description ON "donations_item"
        FOR EACH ROW EXECUTE FUNCTION donations_item_search_vector()
    """,
    'CREATE INDEX IF NOT EXISTS "item_search_vector" ON "donations_item" USING gin ("search_vector")',
    'DROP INDEX IF EXISTS "item_title_upper_trgm"',
    'DROP INDEX IF EXISTS "item_description_upper_trgm"',
    # Last: the rows it updates queue deferred foreign-key checks, and PostgreSQL refuses
    # to change a table's indexes with such events pending in the same transaction.
    f"""
    UPDATE "donations_item" SET "search_vector" =
        setweight(to_tsvector('{CONFIG}', tremma_search_text("title")), 'A')
        || setweight(to_tsvector('{CONFIG}', tremma_search_text("description")), 'B')
    """,
]

BACKWARD = [
    'CREATE INDEX IF NOT EXISTS "item_title_upper_trgm" ON "donations_item" USING gin ((UPPER("title"::text)) gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS "item_description_upper_trgm" ON "donations_item" '
    'USING gin ((UPPER("description"::text)) gin_trgm_ops)',
    'DROP TRIGGER IF EXISTS "donations_item_search_vector" ON "donations_item"',
    "DROP FUNCTION IF EXISTS donations_item_search_vector()",
    "DROP FUNCTION IF EXISTS tremma_search_text(text)",
    'ALTER TABLE "donations_item" DROP COLUMN IF EXISTS "search_vector"',
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}",
    # unaccent stays: other databases objects may use it, and it costs nothing.
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("donations", "0017_item_location_weight_categories")]

    operations = [migrations.RunPython(forward, backward)]
