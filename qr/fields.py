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

from campaigns.selectors import PUBLIC_CAMPAIGN_STATUSES
from donations.models import PUBLIC_STATUSES, Item
from qr.selectors import short_url
from qr.services import short_code_for, short_codes_ensure


def _public(target: Model) -> bool:
    """Only what passers-by may see gets a printed code: no code for a draft or an item in review."""
    if isinstance(target, Item):
        return target.status in PUBLIC_STATUSES
    status = getattr(target, "status", None)
    return status is None or status in PUBLIC_CAMPAIGN_STATUSES


class ShortCodeListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[Any]:
        rows = list(data.all() if isinstance(data, Manager) else data)
        short_codes_ensure(targets=[row for row in rows if _public(row)])
        return super().to_representation(rows)


def short_url_of(target: Model) -> str | None:
    """The absolute short URL of a public item, campaign or window, its code created on first use."""
    relation = type(target).short_code.related  # type: ignore[attr-defined]
    code = relation.get_cached_value(target, default=None)
    if code is None:
        if not _public(target):
            return None
        code = short_code_for(target=target)  # type: ignore[arg-type]
        relation.set_cached_value(target, code)
    return short_url(code)
