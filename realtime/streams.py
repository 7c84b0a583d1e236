"""Stream names, channel-layer group names and the wire shape of an event:
defined here once, used by publishers and consumers alike.

A stream is what a client watches: one item, one campaign, one window
(public payloads), or one organisation (managers only, private payloads)."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

ITEM = "item"
CAMPAIGN = "campaign"
WINDOW = "window"
ORGANISATION = "org"
PUBLIC_KINDS = frozenset({ITEM, CAMPAIGN, WINDOW})
KINDS = PUBLIC_KINDS | {ORGANISATION}


def stream(kind: str, pk: int) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown stream kind {kind!r}")
    return f"{kind}.{int(pk)}"


def item_stream(pk: int) -> str:
    return stream(ITEM, pk)


def campaign_stream(pk: int) -> str:
    return stream(CAMPAIGN, pk)


def window_stream(pk: int) -> str:
    return stream(WINDOW, pk)


def organisation_stream(pk: int) -> str:
    return stream(ORGANISATION, pk)


def is_private(name: str) -> bool:
    return name.startswith(ORGANISATION + ".")


def group_name(name: str) -> str:
    """Channel-layer group of a stream (ASCII, dots allowed, < 100 characters)."""
    return f"tremma.{name}"


def wire(*, event_id: int, type: str, at: str, data: dict[str, Any]) -> str:
    """The JSON text a client receives (the live-updates event shape), serialised once by the publisher."""
    return json.dumps({"id": str(event_id), "type": type, "at": at, "data": data}, cls=DjangoJSONEncoder)
