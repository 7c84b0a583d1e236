"""With REDIS_URL set, any number of ASGI processes serve the streams: a sale
processed by one process reaches a socket held by another."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.db import connection
from websockets.asyncio.client import connect

from tests.components import free_port, redis_available, redis_url, require
from tests.factories import ItemFactory

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url(),
        TREMMA_BENCH="true",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tremma.asgi:application", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def two_servers() -> Iterator[tuple[str, str]]:
    require("redis", redis_available(), f"no Redis at {redis_url()}")
    ports = [free_port(), free_port()]
    processes = [start_server(port) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} did not start"
                time.sleep(0.2)
        yield urls[0], urls[1]
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)


def test_a_sale_processed_by_one_process_reaches_a_socket_held_by_another(two_servers: tuple[str, str]) -> None:
    first, second = two_servers
    item = ItemFactory()

    async def scenario() -> dict[str, object]:
        ws_url = second.replace("http://", "ws://") + f"/ws/items/{item.pk}/"
        async with connect(ws_url, origin=second) as socket:  # type: ignore[arg-type]
            await asyncio.sleep(0.3)
            async with httpx.AsyncClient() as client:
                response = await client.post(f"{first}/__bench__/emit?stream=item&ids={item.pk}")
                assert response.status_code == 200
            return json.loads(await asyncio.wait_for(socket.recv(), timeout=10))

    message = asyncio.run(scenario())
    assert message["type"] == "item.sold"
