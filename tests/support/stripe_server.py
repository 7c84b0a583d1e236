"""Run localstripe, a Stripe-compatible server, bound to 127.0.0.1 only.

``python -m tests.support.stripe_server --port N``. Its own launcher binds
every interface; this one does not. Test code may register extra routes on
``localstripe.server.app`` (see TOOLING.md) before ``run``."""

from __future__ import annotations

import argparse

from aiohttp import web
from localstripe.server import app


def run(port: int) -> None:
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    run(parser.parse_args().port)
