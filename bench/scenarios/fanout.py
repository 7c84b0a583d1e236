"""Fan-out: one sale delivered to 1,000 sockets watching one stream, and to
1,000 sockets spread over 50 streams; delivery latency next to a bare
``websockets`` broadcast to the same number of sockets in the same run; and
memory per open socket."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.harness import ROOT, Figure, Repeated, Report, Server, free_port, percentile


def windows(count: int) -> list[int]:
    """``count`` windows on display (each its own stream) for the fan-out."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import Organisation
    from qr.models import Window
    from qr.services import window_create

    organisation = Organisation.objects.order_by("id").first()
    assert organisation is not None
    existing = list(Window.objects.filter(name__startswith="Banc fan-out").order_by("id").values_list("id", flat=True))
    for n in range(len(existing), count):
        window = window_create(
            organisation=organisation,
            name=f"Banc fan-out {n}",
            place="Banc d'essai",
            starts_at=timezone.now() - timedelta(hours=1),
        )
        existing.append(window.pk)
    return existing[:count]


async def _open(urls: list[str], origin: str) -> list[ClientConnection]:
    sockets: list[ClientConnection] = []
    for start in range(0, len(urls), 100):  # open in waves: a server's accept backlog is finite
        batch = urls[start : start + 100]
        sockets += await asyncio.gather(
            *(connect(url, origin=origin, open_timeout=60, max_queue=None) for url in batch)  # type: ignore[arg-type]
        )
    return sockets


async def _deliveries(sockets: list[ClientConnection], trigger: object, timeout: float = 30) -> list[float]:
    """Milliseconds from just before the trigger to each socket's receipt."""

    async def first(sock: ClientConnection) -> float:
        await sock.recv()
        return time.perf_counter()

    waiters = [asyncio.create_task(first(sock)) for sock in sockets]
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await trigger()  # type: ignore[operator]
    done = await asyncio.wait_for(asyncio.gather(*waiters), timeout)
    return [(t - started) * 1000 for t in done]


async def tremma_fanout(
    server: Server, stream_ids: list[int], sockets_count: int, kind: str, repeats: int
) -> tuple[list[list[float]], int, int]:
    ws_base = server.url.replace("http://", "ws://")
    urls = [f"{ws_base}/ws/{kind}s/{stream_ids[i % len(stream_ids)]}/" for i in range(sockets_count)]
    rss_before = server.rss_kib()
    sockets = await _open(urls, origin=server.url)
    await asyncio.sleep(1)
    rss_after = server.rss_kib()
    ids = ",".join(str(pk) for pk in stream_ids)
    runs = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:

        async def trigger() -> None:
            response = await client.post(f"/__bench__/emit?stream={kind}&ids={ids}")
            response.raise_for_status()

        for _ in range(repeats):
            runs.append(await _deliveries(sockets, trigger))
    await asyncio.gather(*(sock.close() for sock in sockets))
    return runs, rss_before, rss_after


async def bare_fanout(sockets_count: int, repeats: int) -> list[list[float]]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.bare_ws", "--port", str(port)], cwd=ROOT)
    try:
        for _ in range(100):
            try:
                async with connect(f"ws://127.0.0.1:{port}/control"):
                    break
            except OSError:
                await asyncio.sleep(0.1)
        sockets = await _open([f"ws://127.0.0.1:{port}/watch"] * sockets_count, origin="http://127.0.0.1")
        runs = []
        async with connect(f"ws://127.0.0.1:{port}/control") as control:

            async def trigger() -> None:
                await control.send('{"type": "item.sold"}')

            for _ in range(repeats):
                runs.append(await _deliveries(sockets, trigger))
        await asyncio.gather(*(sock.close() for sock in sockets))
        return runs
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure(
    report: Report, server: Server, *, layer: str, stream_ids: list[int], kind: str, sockets: int, repeats: int
) -> None:
    one, rss_before, rss_after = asyncio.run(tremma_fanout(server, stream_ids[:1], sockets, kind, repeats))
    spread, _b, _a = asyncio.run(tremma_fanout(server, stream_ids[:50], sockets, kind, repeats))
    bare = asyncio.run(bare_fanout(sockets, repeats))
    bare_p50 = Repeated([percentile(r, 50) for r in bare])
    bare_p99 = Repeated([percentile(r, 99) for r in bare])
    for label, runs in ((f"1 {kind}", one), (f"50 {kind}s", spread)):
        report.add(
            Figure(
                "fanout",
                f"{layer}: {sockets} sockets on {label}, p50",
                "ms",
                Repeated([percentile(r, 50) for r in runs]),
                bare_p50,
                "bare websockets broadcast p50",
            )
        )
        report.add(
            Figure(
                "fanout",
                f"{layer}: {sockets} sockets on {label}, p99",
                "ms",
                Repeated([percentile(r, 99) for r in runs]),
                bare_p99,
                "bare websockets broadcast p99",
                target=2,
                target_kind="max",
            )
        )
    report.add(
        Figure(
            "fanout",
            f"{layer}: memory per open socket",
            "KiB",
            Repeated([(rss_after - rss_before) / sockets]),
            target=50,
            target_kind="max",
        )
    )
