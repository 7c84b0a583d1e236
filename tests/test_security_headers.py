"""Every page carries a Content-Security-Policy under which no inline script or
style runs, and the API docs need nothing from outside (Swagger UI is served from
our static files)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from csp.constants import NONCE
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.utils import build_policy
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from kernel.csp import CSPMiddleware
from tests.factories import CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db


def policy(response: object) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    return {name: values for name, *values in (part.split() for part in header.split(";") if part.strip())}


@pytest.mark.parametrize(
    "path", ["/", "/objets/{item}/", "/campagnes/{campaign}/", "/api/docs/", "/comptes/connexion/"]
)
def test_pages_forbid_inline_scripts_and_styles(client: Client, path: str) -> None:
    item = ItemFactory(campaign=CampaignFactory(status="live"))
    response = client.get(path.format(item=item.pk, campaign=item.campaign.slug))
    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_the_api_docs_page_loads_only_our_own_files(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/") for source in sources), sources
    assert "<script>" not in page and "<style>" not in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


# --- kernel.csp: the site's policy built once, each response's own parts still honoured ---------


def _respond(view: Callable[[HttpRequest], HttpResponse], path: str = "/") -> HttpResponse:
    return CSPMiddleware(view)(RequestFactory().get(path))  # type: ignore[return-value]


def _ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def test_the_kept_policy_is_the_one_django_csp_builds_from_the_settings() -> None:
    assert _respond(_ok)["Content-Security-Policy"] == build_policy()
    assert "Content-Security-Policy-Report-Only" not in _respond(_ok)


def test_a_changed_setting_changes_the_header(settings: Any) -> None:
    _respond(_ok)  # kept with the current settings
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"default-src": ["'self'"]},
        "EXCLUDE_URL_PREFIXES": ["/exclu/"],
    }
    response = _respond(_ok)
    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert response["Content-Security-Policy-Report-Only"] == "default-src 'self'"
    assert "Content-Security-Policy-Report-Only" not in _respond(_ok, "/exclu/page")


def test_a_view_with_parts_of_its_own_gets_its_own_policy() -> None:
    updated = _respond(csp_update({"img-src": "https://images.example.org"})(_ok))
    assert "https://images.example.org" in policy(updated)["img-src"]
    replaced = _respond(csp_replace({"script-src": "https://cdn.example.org"})(_ok))
    assert policy(replaced)["script-src"] == ["https://cdn.example.org"]
    assert "Content-Security-Policy" not in _respond(csp_exempt()(_ok))
    # and the next ordinary response gets the site's policy, not one of theirs
    assert policy(_respond(_ok))["script-src"] == ["'self'"]


def test_a_nonce_asked_for_goes_in_the_header_and_one_asked_too_late_is_an_error(settings: Any) -> None:
    def with_nonce(request: HttpRequest) -> HttpResponse:
        return HttpResponse(str(request.csp_nonce))  # type: ignore[attr-defined]

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": ["'self'", NONCE]}}
    assert policy(_respond(_ok))["script-src"] == ["'self'"]  # no nonce asked for: none given
    response = _respond(with_nonce)
    assert f"'nonce-{response.content.decode()}'" in policy(response)["script-src"]

    request = RequestFactory().get("/")
    CSPMiddleware(_ok)(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # type: ignore[attr-defined]


def test_a_header_set_by_the_view_is_left_alone() -> None:
    def own_header(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("ok")
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    assert _respond(own_header)["Content-Security-Policy"] == "default-src 'none'; sandbox"
