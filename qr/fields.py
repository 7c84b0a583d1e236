"""``short_url`` for the catalogue serializers (campaigns, items) without a query per row.

The querysets select the target's code with ``select_related("short_code")``;
the list serializer creates the codes still missing on the page in one batch
(``short_codes_ensure``), so a page costs the same number of queries whatever
its length.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Manager, Model
from rest_framework import serializers

from qr.selectors import short_url
from qr.services import short_code_for, short_codes_ensure


class ShortCodeListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[Any]:
        rows = list(data.all() if isinstance(data, Manager) else data)
        short_codes_ensure(targets=rows)
        return super().to_representation(rows)


def short_url_of(target: Model) -> str:
    """The absolute short URL of an item, campaign or window, its code created on first use."""
    relation = type(target).short_code.related  # type: ignore[attr-defined]
    code = relation.get_cached_value(target, default=None)
    if code is None:
        code = short_code_for(target=target)  # type: ignore[arg-type]
        relation.set_cached_value(target, code)
    return short_url(code)
