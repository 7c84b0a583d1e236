"""Every page carries a Content-Security-Policy under which no inline script or
style runs, and the API docs need nothing from outside (Swagger UI is served from
our static files)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

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
