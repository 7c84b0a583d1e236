"""ASGI entry point (the Procfile's ``web``): websockets through Channels in
the server's event loop, plain HTTP through Django's WSGI handler in a pool of
worker threads.

Why WSGI for HTTP: Django's ASGI handler hops between the loop and a thread
for the request signals, each sync middleware and the view — about 2 ms of CPU
per request here, several times the cost of the view itself (measured here; the
``flash`` benchmark shows the difference). One hop per request into a thread
that runs the whole sync stack keeps the product's behaviour (same
middleware, same views) at WSGI speed, on the same port as the websockets."""

import asyncio
import os
from pathlib import Path
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tremma.settings")
# Django must be set up before anything imports models (the routing below does).
django_wsgi_app = get_wsgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from kernel.body import ChunkedBodyLimit  # noqa: E402
from realtime.loop import server_loop_set  # noqa: E402
from tremma.routing import websocket_urlpatterns  # noqa: E402
from tremma.serving import WSGIInThreads  # noqa: E402


def own_templates() -> list[str]:
    """The names of our own apps' templates (not the libraries'), as the app loader finds them."""
    from django.apps import apps

    root = Path(settings.BASE_DIR)
    names: list[str] = []
    for app in apps.get_app_configs():
        folder = Path(app.path) / "templates"
        if root in folder.parents and "site-packages" not in folder.parts and folder.is_dir():
            names += sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    return names


def warm_up() -> None:
    """Do now what Django would do at this process's first requests: import every view (the
    URLconf) and the template tag libraries, and compile our templates into the cached loader
    (about 80 ms for all of them; the item page's alone took 30 ms at its first rendering, in each
    thread that rendered it before the first had kept it). A deploy or a restart starts several
    processes at once; without this, the first passers-by each one serves wait for its imports and
    compilations (seen in ``make bench``'s flash crowd profile, and in its first crowd's p99)."""
    from django.template import engines
    from django.template.loader import get_template
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the property imports the URLconf and its views
    engines.all()  # each template backend built: Django's imports its tag libraries
    for name in own_templates():
        get_template(name)


warm_up()


class HttpInWorkerThreads:
    """Django's WSGI app in ``WEB_THREADS`` threads; records the server's loop
    so that events published from those threads are sent from it."""

    def __init__(self, threads: int) -> None:
        self.wsgi = WSGIInThreads(django_wsgi_app, workers=threads)  # type: ignore[arg-type]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        server_loop_set(asyncio.get_running_loop())
        await self.wsgi(scope, receive, send)  # type: ignore[arg-type]


application = ProtocolTypeRouter(
    {
        # A body without Content-Length gets one (or a 413 past its cap) before Django sees it.
        "http": ChunkedBodyLimit(HttpInWorkerThreads(settings.WEB_THREADS)),
        # A browser's Origin must be one of ours in scheme, host AND port (SITE_URL and
        # CSRF_TRUSTED_ORIGINS): checking the host alone, as AllowedHostsOriginValidator does,
        # would let a page served over plain http, or on another port of the same host, open
        # a manager's dashboard socket with their cookies. (Sessions and users: the dashboard's
        # route only, tremma/routing.py.)
        "websocket": OriginValidator(URLRouter(websocket_urlpatterns), settings.WEBSOCKET_ALLOWED_ORIGINS),
    }
)
