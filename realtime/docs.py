"""The websocket part of the API docs, rendered from the declarations
(realtime/events.py): a Markdown section added to the OpenAPI description
(shown at /api/docs/) and the same catalogue as data under the schema's
``x-live-events`` key (/api/schema/), through drf-spectacular's
POSTPROCESSING_HOOKS (tremma/settings.py)."""

from __future__ import annotations

from typing import Any

from realtime import streams as s
from realtime.events import DECLARATIONS, EventType, FieldType, type_name

# Where each kind of stream is watched (tremma/routing.py).
STREAM_URLS = {
    s.ITEM: "/ws/items/{id}/",
    s.CAMPAIGN: "/ws/campaigns/{slug}/",
    s.WINDOW: "/ws/windows/{id}/",
    s.ORGANISATION: "/ws/dashboard/",
}
_KIND_ORDER = (s.ITEM, s.CAMPAIGN, s.WINDOW, s.ORGANISATION)

INTRODUCTION = (
    # One line per paragraph: Swagger UI renders a line break as a break.
    "## Live events (websockets)\n\n"
    "Live updates are read-only websocket streams: `/ws/items/{id}/`, `/ws/campaigns/{slug}/` and `/ws/windows/{id}/` "
    "are public; `/ws/dashboard/` needs a signed-in manager and carries the events of their organisations, with the "
    'private fields too. Each message is one JSON event, `{"id": "…", "type": "…", "at": "<ISO 8601>", "data": {…}}`; '
    "reconnect with `?since=<last id>` to get what was missed (up to 500 events, kept "
    "`REALTIME_EVENT_RETENTION_DAYS` days). Close codes: 4400 bad `since`, 4401 not signed in, 4403 not a manager, "
    "4404 no such item, campaign or window.\n"
)


def _fields(fields: dict[str, FieldType] | Any) -> str:
    return ", ".join(f"`{name}` ({type_name(kind)})" for name, kind in fields.items()) or "—"


def _streams(declaration: EventType) -> str:
    return ", ".join(f"`{STREAM_URLS[kind]}`" for kind in _KIND_ORDER if kind in declaration.streams)


def events_markdown() -> str:
    """The catalogue of live events as a Markdown section (a table, one row per declared type)."""
    rows = [
        "| Event | Description | Data (everyone) | Data added on `/ws/dashboard/` | Streams |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows += [
        f"| `{d.name}` | {d.description} | {_fields(d.public)} | {_fields(d.private)} | {_streams(d)} |"
        for d in DECLARATIONS
    ]
    return INTRODUCTION + "\n" + "\n".join(rows) + "\n"


def events_catalogue() -> list[dict[str, Any]]:
    """The same catalogue as data (JSON-ready)."""
    return [
        {
            "type": d.name,
            "description": d.description,
            "public": {name: type_name(kind) for name, kind in d.public.items()},
            "private": {name: type_name(kind) for name, kind in d.private.items()},
            "streams": [STREAM_URLS[kind] for kind in _KIND_ORDER if kind in d.streams],
        }
        for d in DECLARATIONS
    ]


def schema_add_live_events(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the live events join the API's description."""
    info = result.setdefault("info", {})
    info["description"] = (info.get("description", "") + "\n\n" + events_markdown()).strip()
    result["x-live-events"] = events_catalogue()
    return result
