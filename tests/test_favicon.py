"""The site's icon: an SVG among the static files, linked from every page, and /favicon.ico
(which browsers ask for anyway) sends them to it for good."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_page_links_the_svg_icon(client: Client) -> None:
    page = client.get("/").content.decode()
    assert re.search(
        rf'<link rel="icon" href="{re.escape(static("frontend/favicon.svg"))}" type="image/svg\+xml">', page
    )


def test_favicon_ico_redirects_for_good_to_the_svg(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == static("frontend/favicon.svg")


def test_the_icon_is_a_small_svg_in_the_site_s_colours() -> None:
    path = finders.find("frontend/favicon.svg")
    assert path is not None
    text = Path(path).read_text(encoding="utf-8")
    root = ElementTree.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox") == "0 0 32 32"
    assert "#a8201a" in text and len(text) < 1000
