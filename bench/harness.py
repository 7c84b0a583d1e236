"""What every benchmark shares: a real server started the way the Procfile
starts it, figures repeated and summarised, and the report.

Machines here are shared and noisy, so every figure stands next to a ceiling
measured in the same run on the same machine, as a ratio."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Repeated:
    """One figure measured several times: median, min and max."""

    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {"median": self.median, "min": min(self.runs), "max": max(self.runs), "runs": self.runs}


@dataclass
class Figure:
    scenario: str
    name: str
    unit: str
    value: Repeated
    ceiling: Repeated | None = None
    ceiling_name: str = ""
    # ratio = value / ceiling; ``target`` bounds it ("min" for throughputs, "max" for latencies).
    target: float | None = None
    target_kind: str = "min"
    notes: str = ""
    # Judge the figure itself (e.g. "p99 ≤ 50 ms") rather than its ratio to the ceiling.
    target_on_value: bool = False

    @property
    def ratio(self) -> float | None:
        if self.ceiling is None or self.ceiling.median == 0:
            return None
        return self.value.median / self.ceiling.median

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        measured = self.ratio if self.ceiling is not None and not self.target_on_value else self.value.median
        if measured is None:
            return None
        return measured >= self.target if self.target_kind == "min" else measured <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "name": self.name,
            "unit": self.unit,
            "value": self.value.as_dict(),
            "ceiling": self.ceiling.as_dict() if self.ceiling else None,
            "ceiling_name": self.ceiling_name,
            "ratio": self.ratio,
            "target": self.target,
            "target_kind": self.target_kind,
            "target_on": "value" if self.target_on_value or self.ceiling is None else "ratio",
            "met": self.met,
            "notes": self.notes,
        }


@dataclass
class Report:
    environment: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(f"  {figure.scenario:<10} {figure.name:<44} {fmt(figure.value.median)} {figure.unit}", flush=True)

    def write(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        body = {
            "environment": self.environment,
            "figures": [figure.as_dict() for figure in self.figures],
            "checks": self.checks,
        }
        dated = RESULTS / f"{time.strftime('%Y-%m-%dT%H%M%S')}.json"
        dated.write_text(json.dumps(body, indent=2, default=str))
        shutil.copyfile(dated, RESULTS / "latest.json")
        return dated

    def table(self) -> str:
        header = f"{'scenario':<10} {'figure':<44} {'median':>10} {'min':>10} {'max':>10} {'unit':<8} "
        header += f"{'ceiling':>10} {'ratio':>7} {'target':>8} met"
        lines = [header, "-" * len(header)]
        for f in self.figures:
            ceiling = fmt(f.ceiling.median) if f.ceiling else "-"
            ratio = f"{f.ratio:.3f}" if f.ratio is not None else "-"
            target = "-" if f.target is None else ("≥" if f.target_kind == "min" else "≤") + f"{f.target:g}"
            met = {True: "yes", False: "NO", None: "-"}[f.met]
            lines.append(
                f"{f.scenario:<10} {f.name:<44} {fmt(f.value.median):>10} {fmt(min(f.value.runs)):>10} "
                f"{fmt(max(f.value.runs)):>10} {f.unit:<8} {ceiling:>10} {ratio:>7} {target:>8} {met}"
            )
        for name, value in self.checks.items():
            lines.append(f"check: {name} = {value}")
        return "\n".join(lines)


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def repeat(times: int, measure: Callable[[], float]) -> Repeated:
    return Repeated([measure() for _ in range(times)])


# --- the server -----------------------------------------------------------


def bench_database_url() -> tuple[str, str]:
    """A database of the bench's own: PostgreSQL when DATABASE_URL is set, else a fresh SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parsed = urlparse(url)
        admin = urlunparse(parsed._replace(path="/postgres"))
        import psycopg

        with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS tremma_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE tremma_bench")
        return urlunparse(parsed._replace(path="/tremma_bench")), "postgresql"
    folder = Path(tempfile.mkdtemp(prefix="tremma-bench-"))
    return f"sqlite:///{folder / 'bench.sqlite3'}", "sqlite"


class Server:
    """The production server configuration of the Procfile (uvicorn, ASGI),
    on a free 127.0.0.1 port, with the bench-only routes switched on."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.port = free_port()
        self.env = env
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "tremma.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        # Links the server makes (checkout pages, QR codes) point at itself.
        env = {**self.env, "SITE_URL": self.url}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("the server did not answer /healthz within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def rss_kib(self) -> int:
        """Resident memory of the server (one worker: the process itself)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def base_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(
        SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        TREMMA_BENCH="true",
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="http://127.0.0.1",
        LOG_LEVEL="WARNING",
        DB_CONN_MAX_AGE="60",
        DJANGO_SETTINGS_MODULE="tremma.settings",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


# --- HTTP load ------------------------------------------------------------


@dataclass
class Load:
    latencies_ms: list[float]
    statuses: dict[int, int]
    seconds: float

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


async def hammer(
    base_url: str,
    paths: Sequence[str],
    *,
    concurrency: int,
    method: str = "GET",
    body: Callable[[int], dict[str, Any]] | None = None,
) -> Load:
    """Send one request per path with ``concurrency`` in flight; latency per request."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for index, path in enumerate(paths):
        queue.put_nowait((index, path))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                index, path = queue.get_nowait()
                started = time.perf_counter()
                if method == "GET":
                    response = await client.get(path)
                else:
                    response = await client.request(method, path, json=body(index) if body else None)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Load(latencies, statuses, seconds)


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)  # type: ignore[arg-type]
