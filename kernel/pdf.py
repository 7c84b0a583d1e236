"""HTML to PDF, the one way: WeasyPrint with a fetcher that reads nothing but
data: URIs and our own static and media files.

A document may carry text written by anyone (item titles, names, addresses);
the renderer must never become a way to reach the network (SSRF) or the disk
(``file:///etc/passwd``). Every other URL is refused, and WeasyPrint draws the
document without it. WeasyPrint is imported on first use only: the worker and
the web processes that never draw a PDF do not pay for it.
"""

from __future__ import annotations

import mimetypes
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings


class RefusedURL(ValueError):
    """The renderer asked for something other than data: or our own static/media files."""


def own_file(url: str) -> tuple[str, str] | None:
    """(``"static"`` or ``"media"``, relative path) when ``url`` names one of our
    own static or media files (on SITE_URL, or a path without host); None otherwise."""
    parts = urlsplit(url)
    site = urlsplit(settings.SITE_URL)
    foreign = (parts.scheme.lower(), parts.netloc.lower()) != (site.scheme.lower(), site.netloc.lower())
    if (parts.scheme or parts.netloc) and foreign:
        return None
    path = unquote(parts.path)
    for kind, prefix in (("static", settings.STATIC_URL), ("media", settings.MEDIA_URL)):
        prefix = "/" + str(prefix).strip("/") + "/"
        if path.startswith(prefix):
            relative = path[len(prefix) :]
            segments = relative.split("/")
            if not relative or ".." in segments or "\\" in relative or "\x00" in relative:
                return None
            return kind, posixpath.normpath(relative)
    return None


def own_file_bytes(url: str) -> tuple[bytes, str]:
    """The content and MIME type of our own file named by ``url``; RefusedURL for anything else."""
    found = own_file(url)
    if found is None:
        raise RefusedURL(f"not rendered: {url[:200]}")
    kind, relative = found
    mime = mimetypes.guess_type(relative)[0] or "application/octet-stream"
    if kind == "static":
        from django.contrib.staticfiles import finders

        located = finders.find(relative)
        path = Path(located) if isinstance(located, str) else Path(settings.STATIC_ROOT) / relative
        if not path.is_file():
            raise RefusedURL(f"no such static file: {relative}")
        return path.read_bytes(), mime
    from django.core.files.storage import default_storage

    if not default_storage.exists(relative):
        raise RefusedURL(f"no such media file: {relative}")
    with default_storage.open(relative, "rb") as media:
        return media.read(), mime


def url_fetcher() -> Any:
    """WeasyPrint's ``url_fetcher``: data: URIs and our own static/media files, nothing else."""
    try:
        from weasyprint.urls import URLFetcher, URLFetcherResponse  # WeasyPrint ≥ 70
    except ImportError:  # older WeasyPrint: a plain function returning a dict
        from weasyprint import default_url_fetcher  # type: ignore[attr-defined]

        def fetch(url: str) -> dict[str, Any]:
            if url.startswith("data:"):
                return default_url_fetcher(url)  # type: ignore[no-any-return]
            content, mime = own_file_bytes(url)
            return {"string": content, "mime_type": mime, "redirected_url": url}

        return fetch

    class OwnFilesFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            content, mime = own_file_bytes(url)
            return URLFetcherResponse(url, content, {"Content-Type": mime})

    return OwnFilesFetcher(allowed_protocols={"data"}, allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """The PDF of an HTML document; relative URLs resolve against SITE_URL, through ``url_fetcher``."""
    from weasyprint import HTML

    return bytes(HTML(string=html, base_url=settings.SITE_URL, url_fetcher=url_fetcher()).write_pdf())
