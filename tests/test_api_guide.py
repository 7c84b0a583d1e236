"""The API guide (docs/api.md) cannot drift from the code: its live-event table lists
exactly the declared events (realtime/events.py), every /api/ path and operation it
names exists in the OpenAPI schema and every operation is in it, and its error codes
are the domain errors' (kernel.errors.DomainError), with their status."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

# Loaded for what they import: every room's services, so every domain error.
import tremma.routing
import tremma.urls  # noqa: F401
from kernel.errors import DomainError
from realtime.docs import STREAM_URLS
from realtime.events import DECLARATIONS, type_name

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "api.md"
# The prefix itself (named in prose), and the schema and docs served beside the API.
NOT_IN_SCHEMA = {"/api/", "/api/schema/", "/api/docs/"}
OPERATION = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/api/[^`\s?]*)")
# Every API path ends with a slash (one without is only named to say it is redirected).
API_PATH = re.compile(r"/api/[-a-z0-9_/{}.]*/")
FIELD = re.compile(r"`([a-z_]+)` \(([a-zA-Z| ]+)\)")


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def event_rows(text: str) -> dict[str, list[str]]:
    """The rows of the table under "### Events": event type -> its cells."""
    section = text.split("### Events", 1)[1]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 5:
            rows[cells[0].strip("`")] = cells
    return rows


def fields(cell: str) -> dict[str, str]:
    return dict(FIELD.findall(cell))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def path_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def schema_operation(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema's operations of the path matching ``path`` (a template, or with real ids)."""
    if path in schema["paths"]:
        return schema["paths"][path]
    return next((ops for template, ops in schema["paths"].items() if path_pattern(template).match(path)), None)


def test_the_event_table_lists_exactly_the_declared_events() -> None:
    rows = event_rows(guide())
    assert sorted(rows) == sorted(declaration.name for declaration in DECLARATIONS)
    for declaration in DECLARATIONS:
        name, public, private, streams, _meaning = rows[declaration.name]
        assert fields(public) == {field: type_name(kind) for field, kind in declaration.public.items()}, name
        assert fields(private) == {field: type_name(kind) for field, kind in declaration.private.items()}, name
        assert set(re.findall(r"`(/ws/[^`]+)`", streams)) == {STREAM_URLS[kind] for kind in declaration.streams}, name


def test_every_api_path_of_the_guide_is_in_the_schema(schema: dict[str, Any]) -> None:
    named = set(API_PATH.findall(guide())) - NOT_IN_SCHEMA
    assert len(named) > 30  # the guide names the API's paths, and this test finds them
    missing = sorted(path for path in named if schema_operation(schema, path) is None)
    assert not missing, f"docs/api.md names paths the API does not have: {missing}"


def test_every_operation_of_the_guide_is_in_the_schema(schema: dict[str, Any]) -> None:
    named = set(OPERATION.findall(guide()))
    assert len(named) > 30
    missing = sorted(
        f"{method} {path}" for method, path in named if method.lower() not in (schema_operation(schema, path) or {})
    )
    assert not missing, f"docs/api.md names operations the API does not have: {missing}"


def test_every_operation_of_the_schema_is_in_the_guide(schema: dict[str, Any]) -> None:
    named = set(OPERATION.findall(guide()))
    absent = sorted(
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"} and (method.upper(), path) not in named
    )
    assert not absent, f"docs/api.md does not document: {absent}"


# Domain errors no API operation answers with: raised by pages only (windows, Stripe onboarding, the team), or
# turned into ``invalid`` with ``fields`` by the API's serializers before the service would raise them.
NOT_THROUGH_THE_API = {
    "short_code_taken",
    "item_not_placeable",
    "connect_unavailable",
    "invalid_token",
    "invalid_dates",
    # The team page's invitations and roles (campaigns/team.py): no API yet.
    "last_admin",
    "role_above_yours",
    "already_member",
    "invitation_invalid",
    "invitation_expired",
    "invitation_used",
    "invitation_of_another_email",
    "invitation_void",
    # The managers' news page (news/views.py): no API yet.
    "campaign_not_public",
    # The monthly gift's own page (checkout/recurring_views.py, signed link): no API yet.
    "recurring_not_active",
    # Matchfunding pledges and their payment (checkout/services/pledges.py): the workspace's pages only.
    "campaign_closed",
    "pledge_settled",
    "pledge_running",
    "cap_below_matched",
    "received_above_cap",
    "received_before_pledge",
    # The donor wall's moderation page (checkout/manage_wall.py): no API yet.
    "not_on_wall",
    # The shop counter's pages (checkout/counter.py): no API yet.
    "amount_invalid",
    "cheque_number_invalid",
    "counter_entry_cancelled",
    "counter_item_changed",
}
# DRF's own codes and those of kernel.api, accounts.authentication and accounts.permissions.
NOT_DOMAIN_ERRORS = {
    "parse_error",
    "authentication_failed",
    "token_expired",
    "not_authenticated",
    "csrf_failed",
    "email_unverified",
    "method_not_allowed",
    "request_too_large",
    "unsupported_media_type",
    "server_error",
}


def domain_errors() -> dict[str, set[int]]:
    """Each domain error code -> the statuses it is answered with."""
    found: dict[str, set[int]] = {DomainError.code: {DomainError.status_code}}
    waiting = [DomainError]
    while waiting:
        for subclass in waiting.pop().__subclasses__():
            found.setdefault(subclass.code, set()).add(subclass.status_code)
            waiting.append(subclass)
    return found


def documented_codes(text: str) -> dict[str, set[int]]:
    """The codes of the tables under "### Codes" -> the statuses the guide gives them."""
    section = text.split("### Codes", 1)[1].split("\n## ", 1)[0]
    codes: dict[str, set[int]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            for code in re.findall(r"`([a-z_]+)`", cells[1]):
                codes.setdefault(code, set()).add(int(cells[0]))
    return codes


def test_the_error_codes_of_the_guide_are_the_code_s_with_their_status() -> None:
    documented = documented_codes(guide())
    domain = domain_errors()
    assert not sorted(set(documented) - set(domain) - NOT_DOMAIN_ERRORS), "codes the code never answers"
    assert not sorted(set(domain) - set(documented) - NOT_THROUGH_THE_API), "domain errors missing from the guide"
    wrong = {
        code: (statuses, domain[code])
        for code, statuses in documented.items()
        if code in domain and statuses != domain[code]
    }
    assert not wrong, f"statuses differ (guide, code): {wrong}"
