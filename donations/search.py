"""The catalogue's text search (``item_search(q=…)``): accents, case and plurals do not matter,
titles rank above descriptions.

PostgreSQL: French full text on the stored ``search_vector`` column (migration 0018: the
``tremma_french`` configuration unaccents then stems; a trigger keeps the column up to date;
a GIN index serves ``@@``). The column is not a model field, so ordinary SELECTs never read
it: the expressions below name it, on the query's own table alias.

SQLite (embedded, small catalogues): every word of the search, folded (no accents, lower
case, a plural's final s or x dropped), must be a word of the title or the description,
folded alike; ``tremma_words`` is registered on each new SQLite connection (``register_sqlite_functions``)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Expression,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.sql.compiler import SQLCompiler

from donations.models import Item

# More words than this in one search are ignored (each one is a condition).
MAX_WORDS = 8
CONFIG = "tremma_french"
_NOT_A_LETTER = re.compile(r"[\W_]+")


def fold(text: str | None) -> str:
    """``"Vélo ÉLECTRIQUE"`` → ``"velo electrique"``: no accents, lower case (œ → oe, ß → ss)."""
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.replace("œ", "oe").replace("æ", "ae")


def _stem(word: str) -> str:
    # French plurals, roughly: "chaises" → "chaise", "vélos" → "velo", "jeux" → "jeu"; short words stay.
    return word[:-1] if len(word) > 3 and word[-1] in "sx" else word


def search_words(text: str | None) -> list[str]:
    """The words of a text or a search, folded, a plural's final s or x dropped."""
    return [_stem(word) for word in _NOT_A_LETTER.sub(" ", fold(text)).split()]


def indexed_words(text: str | None) -> str:
    """``" velo de ville "``: a text's words as the SQLite search compares them, space-delimited."""
    return f" {' '.join(search_words(text))} "


def register_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: ``tremma_words(text)`` on SQLite connections."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("tremma_words", 1, indexed_words, deterministic=True)


class _Words(Func):
    function = "tremma_words"
    output_field = CharField()


class _SearchVector(Expression):
    """``"donations_item"."search_vector"`` (or whatever alias the query gave the item table)."""

    def __init__(self) -> None:
        super().__init__(output_field=FloatField())  # never selected: only its SQL matters

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        alias = compiler.query.get_initial_alias()
        return f'{compiler.quote_name_unless_alias(alias)}."search_vector"', []


class _WebQuery(Func):
    template = f"websearch_to_tsquery('{CONFIG}'::regconfig, tremma_search_text(%(expressions)s))"
    output_field = FloatField()


class _Matches(Func):
    template = "%(expressions)s"
    arg_joiner = " @@ "
    output_field = BooleanField()


class _Rank(Func):
    # Default weights {D 0.1, C 0.2, B 0.4, A 1.0}: a word in the title (A) outranks the description (B).
    function = "ts_rank"
    output_field = FloatField()


def text_search(queryset: QuerySet[Item], q: str, *, ranked: bool) -> QuerySet[Item]:
    """Items matching ``q``; when ``ranked``, the best first (then the newest)."""
    if connections[queryset.db].vendor == "postgresql":
        return _postgresql(queryset, q, ranked=ranked)
    return _sqlite(queryset, q, ranked=ranked)


def _postgresql(queryset: QuerySet[Item], q: str, *, ranked: bool) -> QuerySet[Item]:
    text = " ".join(q.split()[:MAX_WORDS])
    queryset = queryset.filter(_Matches(_SearchVector(), _WebQuery(Value(text))))
    if ranked:
        queryset = queryset.order_by(_Rank(_SearchVector(), _WebQuery(Value(text))).desc(), "-created_at", "-id")
    return queryset


def _sqlite(queryset: QuerySet[Item], q: str, *, ranked: bool) -> QuerySet[Item]:
    words = search_words(q)[:MAX_WORDS]
    if not words:
        return queryset.none()  # nothing to look for (punctuation, a lone accent): as PostgreSQL
    queryset = queryset.alias(title_words=_Words(F("title")), description_words=_Words(F("description")))
    in_title = Q()
    for word in words:
        # Whole words: "velo" finds "Vélo de ville", not "Veste en velours".
        queryset = queryset.filter(Q(title_words__contains=f" {word} ") | Q(description_words__contains=f" {word} "))
        in_title &= Q(title_words__contains=f" {word} ")
    if ranked:
        title_first = Case(When(in_title, then=Value(0)), default=Value(1), output_field=IntegerField())
        queryset = queryset.order_by(title_first, "-created_at", "-id")
    return queryset
