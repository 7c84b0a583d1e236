"""The live events are declared once (realtime/events.py): nothing else can be
emitted, the API docs list them, and the pages' scripts read only declared fields."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client

from realtime import events as e
from realtime import streams as s
from realtime.docs import events_markdown
from realtime.events import (
    CATALOGUE,
    DECLARATIONS,
    EventFieldsInvalid,
    EventStreamsInvalid,
    EventType,
    UndeclaredEvent,
)
from realtime.models import EventStream, RealtimeEvent
from realtime.services import event_emit, event_messages
from tests.factories import ItemFactory

ROOT = Path(__file__).resolve().parent.parent

SAMPLES: dict[Any, Any] = {int: 7, str: "text", bool: True}


def sample(fields: Any) -> dict[str, Any]:
    """A value of the declared type for each field."""
    return {name: SAMPLES[kind] if kind in SAMPLES else SAMPLES[kind.__args__[0]] for name, kind in fields.items()}


def streams_of(declaration: EventType) -> dict[str, list[int]]:
    arguments = {s.ITEM: "items", s.CAMPAIGN: "campaigns", s.WINDOW: "windows", s.ORGANISATION: "organisations"}
    return {arguments[kind]: [1] for kind in declaration.streams}


def sold(item: Any) -> dict[str, Any]:
    return {
        "type": e.ITEM_SOLD,
        "public": {"item": item.pk, "status": "sold", "price_cents": 1500},
        "private": {"order": 3, "email": "acheteur@example.org", "title": item.title, "campaign_title": "Projet"},
        "items": [item.pk],
        "campaigns": [item.campaign_id],
        "organisations": [item.campaign.organisation_id],
    }


def assert_nothing_written(send: Any) -> None:
    # Emitted outside any transaction (autocommit): a row written before the check would stay.
    assert not RealtimeEvent.objects.exists()
    assert not EventStream.objects.exists()
    assert send.call_count == 0


# --- event_emit goes through the declarations -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_undeclared_event_type_cannot_be_emitted_and_nothing_is_written() -> None:
    item = ItemFactory()
    with mock.patch("realtime.services._send_all") as send:
        with pytest.raises(UndeclaredEvent):
            event_emit(type="item.stolen", public={"item": item.pk}, items=[item.pk])
        with pytest.raises(UndeclaredEvent):
            event_emit(type="Item.Sold", public={}, items=[item.pk])
    assert_nothing_written(send)


def _broken(item: Any, change: str) -> dict[str, Any]:
    event = sold(item)
    if change == "public field missing":
        del event["public"]["price_cents"]
    elif change == "private field missing":
        del event["private"]["email"]
    elif change == "no private part":
        del event["private"]
    elif change == "extra public field":
        event["public"]["email"] = "acheteur@example.org"  # personal data must not slip into public
    elif change == "extra private field":
        event["private"]["phone"] = "0600000000"
    elif change == "wrong type":
        event["public"]["price_cents"] = "15.00"
    elif change == "boolean for a number":
        event["public"]["item"] = True
    elif change == "None for a text":
        event["private"]["title"] = None
    return event


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change",
    [
        "public field missing",
        "private field missing",
        "no private part",
        "extra public field",
        "extra private field",
        "wrong type",
        "boolean for a number",
        "None for a text",
    ],
)
def test_a_declared_event_with_wrong_fields_fails_and_nothing_is_written(change: str) -> None:
    item = ItemFactory()
    with mock.patch("realtime.services._send_all") as send, pytest.raises(EventFieldsInvalid):
        event_emit(**_broken(item, change))
    assert_nothing_written(send)


@pytest.mark.django_db(transaction=True)
def test_a_stream_of_an_undeclared_kind_fails_and_nothing_is_written() -> None:
    item = ItemFactory()
    campaign = item.campaign
    public = {
        "campaign": campaign.slug,
        "raised_cents": 0,
        "goal_cents": 100,
        "backers_count": 0,
        "currency": "EUR",
        "matched_cents": 0,
        "match_percent": 0,
    }
    with mock.patch("realtime.services._send_all") as send:
        # campaign.progress goes to campaigns and organisations, not to an item's watchers.
        with pytest.raises(EventStreamsInvalid):
            event_emit(type=e.CAMPAIGN_PROGRESS, public=public, campaigns=[campaign.pk], items=[item.pk])
        # The bench's event never reaches the managers' dashboard.
        with pytest.raises(EventStreamsInvalid):
            event_emit(type=e.BENCH_PING, public={"bench": True, "sent_ns": "1"}, organisations=[1])
    assert_nothing_written(send)


@pytest.mark.django_db(transaction=True)
def test_a_declared_event_is_written_and_published() -> None:
    item = ItemFactory()
    with mock.patch("realtime.services._send_all") as send, transaction.atomic():
        event = event_emit(**sold(item))
    assert send.call_count == 1
    assert RealtimeEvent.objects.get().pk == event.pk
    assert set(EventStream.objects.values_list("stream", flat=True)) == {
        f"item.{item.pk}",
        f"campaign.{item.campaign_id}",
        f"org.{item.campaign.organisation_id}",
    }


def test_a_field_may_be_declared_optional() -> None:
    declaration = EventType(name="x.y", description="", public={"note": str | None}, private={}, streams=frozenset())
    declaration.check(public={"note": None}, private={}, kinds=[])
    declaration.check(public={"note": "ok"}, private={}, kinds=[])
    with pytest.raises(EventFieldsInvalid, match=r"not str \| None"):
        declaration.check(public={"note": 3}, private={}, kinds=[])


# --- The catalogue ----------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.name)
def test_each_declaration_accepts_its_own_fields_and_streams(declaration: EventType) -> None:
    assert declaration.description and declaration.streams <= s.KINDS
    assert re.fullmatch(r"[a-z]+\.[a-z_]+", declaration.name)
    e.event_check(
        type=declaration.name,
        public=sample(declaration.public),
        private=sample(declaration.private),
        kinds=declaration.streams,
    )


def test_the_type_constants_are_the_declared_types() -> None:
    constants = {value for name, value in vars(e).items() if name.isupper() and isinstance(value, str)}
    assert constants == set(CATALOGUE)
    assert len(CATALOGUE) == len(DECLARATIONS)


def _emit_calls() -> list[tuple[Path, ast.Call]]:
    calls = []
    for path in sorted(ROOT.glob("**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in {".venv", "node_modules", "tests", ".git"} or "migrations" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name == "event_emit":
                    calls.append((relative, node))
    return calls


def test_every_type_the_code_base_emits_is_declared_and_named_by_its_constant() -> None:
    calls = _emit_calls()
    assert len(calls) >= 8  # checkout, payments, bench: the scan found them
    emitted = set()
    for path, call in calls:
        argument = next((keyword.value for keyword in call.keywords if keyword.arg == "type"), None)
        where = f"{path}:{call.lineno}"
        assert isinstance(argument, ast.Name), f"{where}: type= is a constant of realtime/events.py"
        assert isinstance(getattr(e, argument.id, None), str), f"{where}: {argument.id} is not in realtime/events.py"
        emitted.add(getattr(e, argument.id))
    assert emitted <= set(CATALOGUE)
    assert emitted == set(CATALOGUE), f"declared but never emitted: {set(CATALOGUE) - emitted}"


# --- Private fields stay on the managers' streams ---------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.name)
def test_private_fields_never_reach_public_streams(declaration: EventType) -> None:
    private = {name: f"secret-{name}" for name, kind in declaration.private.items() if kind is str}
    private.update({name: 424242 for name, kind in declaration.private.items() if kind is int})
    public = sample(declaration.public)
    with mock.patch("realtime.services._send_all"):
        event = event_emit(type=declaration.name, public=public, private=private, **streams_of(declaration))
    names = list(EventStream.objects.filter(event=event).values_list("stream", flat=True))
    for group, text in event_messages(event, names):
        data = json.loads(text)["data"]
        if s.is_private(group.removeprefix("tremma.")):
            assert data == {**public, **private}
        else:
            assert data == public
            assert not any(str(value) in text for value in private.values())


# --- The docs ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_docs_list_every_declared_event(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    description = document["info"]["description"]
    assert "## Live events (websockets)" in description
    for declaration in DECLARATIONS:
        row = next(line for line in description.splitlines() if line.startswith(f"| `{declaration.name}` |"))
        assert declaration.description in row
        for name in [*declaration.public, *declaration.private]:
            assert f"`{name}`" in row
    catalogue = {entry["type"]: entry for entry in document["x-live-events"]}
    assert list(catalogue) == [declaration.name for declaration in DECLARATIONS]
    assert catalogue[e.ITEM_SOLD]["public"] == {"item": "int", "status": "str", "price_cents": "int"}
    assert catalogue[e.GIFT_RECEIVED]["streams"] == ["/ws/campaigns/{slug}/", "/ws/dashboard/"]
    assert description.endswith(events_markdown().strip())


# --- The pages' scripts read only declared fields ---------------------------------------------

TYPE_COMPARED = re.compile(r"event\.type\s*(===|!==)\s*[\"']([^\"']+)[\"']")
HANDLER_KEY = re.compile(r"^\s*[\"']([a-z_]+\.[a-z_]+)[\"']\s*:\s*(.+)$", re.MULTILINE)
FIELD_READ = re.compile(r"\bdata\??\.([A-Za-z_$][\w$]*)|\bdata\[\s*[\"']([^\"']+)[\"']\s*\]")
DESTRUCTURED = re.compile(r"\{([^{}]*)\}\s*=\s*(?:event\.)?data\b")


def field_reads(code: str) -> set[str]:
    """Fields of a live event's ``data`` read by ``code``: ``data.x``, ``event.data?.x``, ``data["x"]``,
    ``const { x, y: alias } = event.data``."""
    reads = {dotted or indexed for dotted, indexed in FIELD_READ.findall(code)}
    for names in DESTRUCTURED.findall(code):
        reads |= {re.split(r"[:=]", part)[0].strip() for part in names.split(",") if part.strip()}
    return reads


def _block(code: str, start: int) -> str:
    """From the first ``{`` at or after ``start`` to its matching ``}``."""
    opening = code.index("{", start)
    depth = 0
    for position in range(opening, len(code)):
        depth += {"{": 1, "}": -1}.get(code[position], 0)
        if depth == 0:
            return code[opening : position + 1]
    return code[opening:]


def _rest_of_block(code: str, start: int) -> str:
    """From ``start`` to the end of the block it stands in."""
    depth = 0
    for position in range(start, len(code)):
        depth += {"{": 1, "}": -1}.get(code[position], 0)
        if depth < 0:
            return code[start:position]
    return code[start:]


def typed_scopes(code: str) -> list[tuple[str, str]]:
    """(event type, code that handles only that type): ``if (event.type === "x") {…}``,
    ``if (event.type !== "x") return; …``, and handler maps ``{"x": (data) => …, "y": fn}``."""
    scopes = []
    for match in TYPE_COMPARED.finditer(code):
        operator, name = match.groups()
        after = code[match.end() :]
        if operator == "===":
            scopes.append((name, _block(code, match.end())))
        elif re.match(r"\s*\)\s*return\b", after):
            scopes.append((name, _rest_of_block(code, match.end())))
    for match in HANDLER_KEY.finditer(code):
        name, value = match.groups()
        function = re.match(r"([A-Za-z_$][\w$]*)\s*,?\s*$", value)
        if function:
            body = re.search(rf"function\s+{re.escape(function.group(1))}\s*\(", code)
            assert body, f"handler {function.group(1)} of {name} not found"
            scopes.append((name, _block(code, body.end())))
        elif value.rstrip().endswith("{"):
            scopes.append((name, _block(code, match.start(2))))
        else:
            scopes.append((name, value))
    return scopes


def event_types_named(code: str) -> set[str]:
    return {name for _operator, name in TYPE_COMPARED.findall(code)} | {name for name, _ in HANDLER_KEY.findall(code)}


def shipped_scripts() -> list[Path]:
    """Every .js file under an app's static/ folder."""
    return sorted(
        path
        for path in ROOT.glob("*/static/**/*.js")
        if (ROOT / path.relative_to(ROOT).parts[0] / "__init__.py").exists()
    )


def dashboard_scripts() -> set[Path]:
    """Scripts of the pages that watch /ws/dashboard/ (the stream with private fields)."""
    scripts = set()
    for template in ROOT.glob("*/templates/**/*.html"):
        text = template.read_text()
        if "/ws/dashboard/" in text:
            for name in re.findall(r"\{%\s*static\s+[\"']([^\"']+\.js)[\"']\s*%\}", text):
                scripts |= {path for path in shipped_scripts() if path.as_posix().endswith(f"/static/{name}")}
    return scripts


def script_problems(code: str, *, private: bool) -> list[str]:
    allowed = e.all_fields() if private else e.public_fields()
    problems = [f"reads data.{name}, declared by no event" for name in sorted(field_reads(code) - allowed)]
    for name in sorted(event_types_named(code) - set(CATALOGUE)):
        problems.append(f"handles {name!r}, not a declared event")
    for name, scope in typed_scopes(code):
        declaration = CATALOGUE.get(name)
        if declaration is None:
            continue
        fields = {*declaration.public, *declaration.private} if private else set(declaration.public)
        problems += [f"reads data.{field} of {name}, not declared" for field in sorted(field_reads(scope) - fields)]
    return problems


def test_the_script_check_finds_undeclared_reads() -> None:
    assert script_problems("x(data.item, data.status, event.data?.price_cents)", private=False) == []
    assert script_problems("x(data.colour)", private=False) == ["reads data.colour, declared by no event"]
    assert script_problems("x(data.email)", private=False)  # private: only on the dashboard
    assert script_problems("x(data.email)", private=True) == []
    assert script_problems("const { raised_cents: r, colour } = event.data;", private=False)
    typed = 'if (event.type === "gift.received") { show(data.price_cents); }'
    assert script_problems(typed, private=False) == ["reads data.price_cents of gift.received, not declared"]
    early = 'f((event) => { if (event.type !== "campaign.progress") return; g(event.data.item); });'
    assert script_problems(early, private=False) == ["reads data.item of campaign.progress, not declared"]
    handlers = 'const h = {\n  "item.released": (data) => drop(data.amount_cents),\n  "item.lost": f,\n};'
    assert script_problems(handlers + "\nfunction f(data) { }", private=True) == [
        "handles 'item.lost', not a declared event",
        "reads data.amount_cents of item.released, not declared",
    ]


def test_the_pages_scripts_read_only_declared_fields_of_declared_events() -> None:
    scripts = shipped_scripts()
    names = {path.relative_to(ROOT).as_posix() for path in scripts}
    assert {"frontend/static/frontend/item.js", "qr/static/qr/screen.js"} <= names
    private = dashboard_scripts()
    assert {path.name for path in private} == {"dashboard.js"}
    problems = {
        path.relative_to(ROOT).as_posix(): found
        for path in scripts
        if (found := script_problems(path.read_text(), private=path in private))
    }
    assert problems == {}
    read = set().union(*(field_reads(path.read_text()) for path in scripts))
    assert {"item", "status", "price_cents", "raised_cents", "goal_cents", "title", "campaign_title"} <= read


def test_the_dashboard_follows_holds_with_the_fields_item_reserved_declares() -> None:
    # A hold's row on the dashboard: added by item.reserved (its title is for managers only),
    # removed when the item is sold or back on sale.
    (script,) = dashboard_scripts()
    code = script.read_text()
    assert {e.ITEM_RESERVED, e.ITEM_RELEASED, e.ITEM_SOLD} <= event_types_named(code)
    reserved = CATALOGUE[e.ITEM_RESERVED]
    assert "title" in reserved.private and "title" not in reserved.public
    scope = "".join(body for name, body in typed_scopes(code) if name == e.ITEM_RESERVED)
    assert "title" in field_reads(scope)
    assert {"until", "item"} <= field_reads(code)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["item", "window", "campaign"])
def test_the_bench_emits_its_declared_event(kind: str) -> None:
    from django.test import RequestFactory

    from tremma.bench import emit

    with mock.patch("realtime.services._send_all") as send:
        response = emit(RequestFactory().post(f"/__bench__/emit?stream={kind}&ids=1,2&sent_ns=123"))
    assert response.status_code == 200
    event = RealtimeEvent.objects.get()
    assert (event.type, event.public) == (e.BENCH_PING, {"bench": True, "sent_ns": "123"})
    assert set(EventStream.objects.values_list("stream", flat=True)) == {f"{kind}.1", f"{kind}.2"}
    assert send.call_count == 1
