"""The live events, declared once: each type's fields, with their Python types,
and the kinds of stream it goes to.

``event_emit`` (realtime/services.py) checks every event against its
declaration before anything is written; the websocket part of the API docs
(realtime/docs.py) and the test of the pages' scripts read the same
declarations. A new event type is added here first.

``public`` fields reach everyone watching an item, campaign or window stream
and never hold personal data; ``private`` fields reach only the managers'
organisation stream, merged over the public ones (a private field of the same
name replaces the public one there)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Any

from realtime import streams as s

# --- Type names (call sites use these, never bare strings) -------------------------------------

ITEM_RESERVED = "item.reserved"
ITEM_RELEASED = "item.released"
ITEM_SOLD = "item.sold"
ITEM_HANDED_OVER = "item.handed_over"
GIFT_RECEIVED = "gift.received"
CAMPAIGN_PROGRESS = "campaign.progress"
WINDOW_PLACEMENT_ADDED = "window.placement_added"
WINDOW_PLACEMENT_REMOVED = "window.placement_removed"
BENCH_PING = "bench.ping"

FieldType = type | UnionType


class EventDeclarationError(ValueError):
    """An event that does not match the declarations (a bug in the caller)."""


class UndeclaredEvent(EventDeclarationError):
    """No declaration for this type: declare it in realtime/events.py first."""


class EventFieldsInvalid(EventDeclarationError):
    """A field missing, extra, or of the wrong type."""


class EventStreamsInvalid(EventDeclarationError):
    """A stream of a kind the event's declaration does not list."""


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    public: Mapping[str, FieldType]
    private: Mapping[str, FieldType]
    streams: frozenset[str]  # stream kinds: realtime.streams.ITEM, CAMPAIGN, WINDOW, ORGANISATION

    def check(self, *, public: Mapping[str, Any], private: Mapping[str, Any], kinds: Iterable[str]) -> None:
        """Raise unless ``public``/``private`` hold exactly the declared fields,
        each of its declared type, and every stream kind is declared."""
        problems = _field_problems("public", self.public, public) + _field_problems("private", self.private, private)
        if problems:
            raise EventFieldsInvalid(f"{self.name}: " + "; ".join(problems))
        undeclared = sorted(set(kinds) - self.streams)
        if undeclared:
            raise EventStreamsInvalid(f"{self.name} does not go to {', '.join(undeclared)} streams")


def _field_problems(part: str, declared: Mapping[str, FieldType], given: Mapping[str, Any]) -> list[str]:
    problems = [f"{part} field {name!r} missing" for name in declared if name not in given]
    problems += [f"{part} field {name!r} not declared" for name in given if name not in declared]
    for name, value in given.items():
        expected = declared.get(name)
        if expected is not None and not _is_of(value, expected):
            problems.append(f"{part} field {name!r} is {type(value).__name__}, not {type_name(expected)}")
    return problems


def _is_of(value: Any, expected: FieldType) -> bool:
    # JSON has no "a boolean is a number": True is no item id.
    if isinstance(value, bool) and not _names_bool(expected):
        return False
    return isinstance(value, expected)


def _names_bool(expected: FieldType) -> bool:
    members = expected.__args__ if isinstance(expected, UnionType) else (expected,)
    return bool in members


def type_name(expected: FieldType) -> str:
    """``int``, ``str``, ``str | None``: the type as the docs show it."""
    if isinstance(expected, UnionType):
        return " | ".join(type_name(member) for member in expected.__args__)
    return "None" if expected is type(None) else expected.__name__


_ITEM_STREAMS = frozenset({s.ITEM, s.CAMPAIGN, s.WINDOW, s.ORGANISATION})
_CAMPAIGN_STREAMS = frozenset({s.CAMPAIGN, s.ORGANISATION})

DECLARATIONS: tuple[EventType, ...] = (
    EventType(
        name=ITEM_RESERVED,
        description=(
            "Someone started paying for an item: it is held for them until `until` (ISO 8601);"
            " managers also see its title."
        ),
        public={"item": int, "status": str, "until": str},
        private={"title": str},
        streams=_ITEM_STREAMS,
    ),
    EventType(
        name=ITEM_RELEASED,
        description="An item is back on sale: a hold expired or failed, or its sale was refunded before hand-over.",
        public={"item": int, "status": str},
        private={},
        streams=_ITEM_STREAMS,
    ),
    EventType(
        name=ITEM_SOLD,
        description="An item was paid for; managers also see the order, the buyer's email and the titles.",
        public={"item": int, "status": str, "price_cents": int},
        private={"order": int, "email": str, "title": str, "campaign_title": str},
        streams=_ITEM_STREAMS,
    ),
    EventType(
        name=ITEM_HANDED_OVER,
        description="A sold item was handed over to its buyer (claim code checked by a manager).",
        public={"item": int, "status": str},
        private={"order": int},
        streams=_ITEM_STREAMS,
    ),
    EventType(
        name=GIFT_RECEIVED,
        description="A gift to campaign `campaign` (slug) was paid; `name` is empty if anonymous, but for managers.",
        public={"campaign": str, "amount_cents": int, "name": str},
        # ``de_name``: "de"/"d'" and the name, the French way (kernel.words.de_name), for the French dashboard.
        private={"gift": int, "email": str, "name": str, "de_name": str, "message": str, "campaign_title": str},
        streams=_CAMPAIGN_STREAMS,
    ),
    EventType(
        name=CAMPAIGN_PROGRESS,
        description=(
            "Campaign `campaign` (slug): its money changed (payment, refund, dispute, a partner's payment); its total"
            " and backers; `matched_cents`: what matchfunding partners promised and have not paid yet (never in"
            " `raised_cents`); `match_percent`: the share of a gift paid now that partners add (100: doubled; 0: none)."
        ),
        public={
            "campaign": str,
            "raised_cents": int,
            "goal_cents": int,
            "backers_count": int,
            "currency": str,
            "matched_cents": int,
            "match_percent": int,
        },
        private={},
        streams=_CAMPAIGN_STREAMS,
    ),
    EventType(
        name=WINDOW_PLACEMENT_ADDED,
        description="A manager put item `item` in the window at `position`: what its screen needs to draw its card.",
        public={
            "item": int,
            "status": str,
            "title": str,
            "price_cents": int,
            "photo": str,
            "short_url": str,
            "qr": str,
            "position": int,
        },
        private={},
        streams=frozenset({s.WINDOW}),
    ),
    EventType(
        name=WINDOW_PLACEMENT_REMOVED,
        description="A manager took item `item` out of the window: its screen drops its card.",
        public={"item": int},
        private={},
        streams=frozenset({s.WINDOW}),
    ),
    EventType(
        name=BENCH_PING,
        description="Benchmarks only (routed when TREMMA_BENCH=true): measures delivery, carries no state.",
        public={"bench": bool, "sent_ns": str},
        private={},
        streams=frozenset({s.ITEM, s.CAMPAIGN, s.WINDOW}),
    ),
)

CATALOGUE: dict[str, EventType] = {declaration.name: declaration for declaration in DECLARATIONS}


def event_declaration(type: str) -> EventType:
    """The declaration of ``type``; UndeclaredEvent if there is none."""
    try:
        return CATALOGUE[type]
    except KeyError:
        raise UndeclaredEvent(f"live event type {type!r} is not declared in realtime/events.py") from None


def event_check(*, type: str, public: Mapping[str, Any], private: Mapping[str, Any], kinds: Iterable[str]) -> None:
    """Raise (UndeclaredEvent, EventFieldsInvalid, EventStreamsInvalid) unless the event matches its declaration."""
    event_declaration(type).check(public=public, private=private, kinds=kinds)


def public_fields() -> set[str]:
    return {name for declaration in DECLARATIONS for name in declaration.public}


def all_fields() -> set[str]:
    return public_fields() | {name for declaration in DECLARATIONS for name in declaration.private}
