"""The ceiling of fan-out: a bare ``websockets`` server that broadcasts each
message received on /control to every socket connected on /watch. Frames go
uncompressed, as the Procfile's server sends them (``--ws-per-message-deflate
false``): the same work on the wire."""

from __future__ import annotations

import argparse
import asyncio

from websockets.asyncio.server import ServerConnection, broadcast, serve

watchers: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    if connection.request is not None and connection.request.path == "/control":
        async for message in connection:
            broadcast(watchers, message)
        return
    watchers.add(connection)
    try:
        await connection.wait_closed()
    finally:
        watchers.discard(connection)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_queue=None, compression=None):
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
