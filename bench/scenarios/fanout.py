"""Fan-out: one sale delivered to 1,000 sockets watching one stream, and to
1,000 sockets spread over 50 streams; delivery latency next to a bare
``websockets`` broadcast to the same number of sockets in the same run; and
memory per open socket."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.ceilings import ratio_figure
from bench.harness import ROOT, Figure, Repeated, Report, Server, free_port, percentile
from bench.pairs import alternate


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


async def _deliveries(sockets: list[ClientConnection], trigger: Any, timeout: float = 30) -> list[float]:
    """Milliseconds from just before the trigger to each socket's receipt (sockets that got nothing
    within ``timeout`` are missing from the list: the caller counts deliveries)."""

    async def first(sock: ClientConnection) -> float:
        await sock.recv()
        return time.perf_counter()

    waiters = [asyncio.create_task(first(sock)) for sock in sockets]
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await trigger()
    done, pending = await asyncio.wait(waiters, timeout=timeout)
    for task in pending:
        task.cancel()
    return [(task.result() - started) * 1000 for task in done if not task.exception()]


class Loop:
    """One event loop in a thread of its own, so the sockets stay open across the
    synchronous steps of bench.pairs.alternate."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.run(self._cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    @staticmethod
    async def _cancel_the_rest() -> None:
        """Let the sockets' own tasks (keep-alive pings…) end before the loop does."""
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


async def _close(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(sock.close() for sock in sockets))


async def _connect(url: str) -> ClientConnection:
    return await connect(url)


def bare_server() -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.bare_ws", "--port", str(port)], cwd=ROOT)
    return process, port


async def _wait_for_bare(port: int) -> None:
    for _ in range(100):
        try:
            async with connect(f"ws://127.0.0.1:{port}/control"):
                return
        except OSError:
            await asyncio.sleep(0.1)


def measure(
    report: Report, server: Server, *, layer: str, stream_ids: list[int], kind: str, sockets: int, pairs: int
) -> None:
    loop = Loop()
    process, port = bare_server()
    delivered: dict[str, list[int]] = {"bare": [], "ours": []}
    try:
        loop.run(_wait_for_bare(port))
        bare_sockets = loop.run(_open([f"ws://127.0.0.1:{port}/watch"] * sockets, origin="http://127.0.0.1"))
        control = loop.run(_connect(f"ws://127.0.0.1:{port}/control"))
        client = httpx.AsyncClient(base_url=server.url, timeout=30)

        async def bare_trigger() -> None:
            await control.send('{"type": "item.sold"}')

        def bare() -> dict[str, float]:
            times = loop.run(_deliveries(bare_sockets, bare_trigger))
            delivered["bare"].append(len(times))
            return {"bare.p50": percentile(times, 50), "bare.p99": percentile(times, 99)}

        ws_base = server.url.replace("http://", "ws://")
        for label, streams in ((f"1 {kind}", stream_ids[:1]), (f"{len(stream_ids)} {kind}s", stream_ids)):
            urls = [f"{ws_base}/ws/{kind}s/{streams[i % len(streams)]}/" for i in range(sockets)]
            rss_before = server.rss_kib()
            ours_sockets = loop.run(_open(urls, origin=server.url))
            time.sleep(1)
            rss_after = server.rss_kib()
            ids = ",".join(str(pk) for pk in streams)

            async def trigger(ids: str = ids) -> None:
                response = await client.post(f"/__bench__/emit?stream={kind}&ids={ids}")
                response.raise_for_status()

            def ours(trigger: Any = trigger, sockets_: list[ClientConnection] = ours_sockets) -> dict[str, float]:
                times = loop.run(_deliveries(sockets_, trigger))
                delivered["ours"].append(len(times))
                return {"ours.p50": percentile(times, 50), "ours.p99": percentile(times, 99)}

            rounds = alternate([("bare", bare), ("ours", ours)], pairs=pairs, ratios=[("ours.p99", "bare.p99")])
            report.pair_sets[f"fanout.{label}"] = rounds.as_dict()
            for q in ("p50", "p99"):
                report.add(
                    ratio_figure(
                        rounds,
                        "fanout",
                        f"{layer}: {sockets} sockets on {label}, last-delivery {q}"
                        if q == "p99"
                        else f"{layer}: {sockets} sockets on {label}, {q}",
                        "ms",
                        f"ours.{q}",
                        f"bare.{q}",
                        # The targets: one window ≤ 1.5× a bare broadcast, fifty ≤ 2×.
                        target=(1.5 if len(streams) == 1 else 2) if q == "p99" else None,
                        target_kind="max",
                        notes="ceiling: a bare websockets broadcast to the same number of sockets",
                    )
                )
            if len(streams) == 1:
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
            loop.run(_close(ours_sockets))
        loop.run(_close([*bare_sockets, control]))
        loop.run(client.aclose())
    finally:
        process.terminate()
        process.wait(timeout=10)
        loop.close()
    expected = len(delivered["ours"]) * sockets
    got = sum(delivered["ours"])
    report.gate(
        "fanout: 100 % delivered",
        got == expected,
        f"{got} of {expected} deliveries (ours); bare {sum(delivered['bare'])} of {len(delivered['bare']) * sockets}",
    )
