"""What every benchmark shares: a real server started the way the Procfile
starts it, figures repeated and summarised, and the report.

Machines here are shared and noisy, so every figure stands next to a ceiling
measured in the same run on the same machine, as a ratio."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import aiohttp
import httpx

from bench.machine import SLOWED_AT, slowed

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def phone_session(
    server_url: str, headers: dict[str, str] | None = None, *, timeout: float = 60
) -> aiohttp.ClientSession:
    """One simulated phone of a crowd: its own connections and cookies, kept from our address too
    (the CSRF cookie of the demo payment page). aiohttp: the crowd's phones share the server's two
    cores, and an httpx client cost three times their CPU (4.5-4.8 s a flash crowd, against
    1.4-1.8 s), counted in every latency they measured."""
    return aiohttp.ClientSession(
        base_url=server_url,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=timeout),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
    )


# The demo gateway's card that pays.
TEST_CARD = "4242 4242 4242 4242"


async def demo_pay(phone: aiohttp.ClientSession, pay_url: str) -> int:
    """Pay on the demo gateway's page as a person does: its form read (the phone's CSRF cookie and
    token), the test card sent; the answer's status (303/302: paid)."""
    async with phone.get(pay_url) as form:
        text = await form.text()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    data = {"card_number": TEST_CARD, "csrfmiddlewaretoken": token.group(1) if token else ""}
    async with phone.post(pay_url, data=data, allow_redirects=False) as paid:
        await paid.read()
        return paid.status


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
    # Measured in alternating pairs (bench.pairs): the ratio of each pair, the
    # 1-minute load average after each, and whether the set stayed spread.
    pair_ratios: list[float] | None = None
    loads: list[float] = field(default_factory=list)
    noisy: bool = False
    # The machine's speed beside each run or pair (bench.machine.cpu_work_ms; higher is slower).
    cpu_ms: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.pair_ratios:
            return statistics.median(self.pair_ratios)
        if self.ceiling is None or self.ceiling.median == 0:
            return None
        return self.value.median / self.ceiling.median

    @property
    def ratio_range(self) -> tuple[float, float] | None:
        if self.pair_ratios:
            return min(self.pair_ratios), max(self.pair_ratios)
        return None

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
            "pair_ratios": self.pair_ratios,
            "ratio_min_max": self.ratio_range,
            "load1_per_pair": self.loads,
            "noisy": self.noisy,
            "machine_cpu_ms": self.cpu_ms,
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
    # Hard gates (counts only): name -> (passed, detail). A failed gate fails ``python -m bench``.
    gates: dict[str, tuple[bool, str]] = field(default_factory=dict)
    pair_sets: dict[str, Any] = field(default_factory=dict)
    results: Path = RESULTS

    def gate(self, name: str, passed: bool, detail: str) -> None:
        self.gates[name] = (passed, detail)
        print(f"  gate {name}: {'ok' if passed else 'FAILED'} ({detail})", flush=True)

    @property
    def failed_gates(self) -> list[str]:
        return [name for name, (passed, _detail) in self.gates.items() if not passed]

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(f"  {figure.scenario:<10} {figure.name:<44} {fmt(figure.value.median)} {figure.unit}", flush=True)

    @property
    def machine_best_ms(self) -> float:
        """The machine at its fastest in this run: the least fixed-work time beside any figure."""
        return min((ms for figure in self.figures for ms in figure.cpu_ms if ms > 0), default=0.0)

    def slowed(self, figure: Figure) -> bool:
        return slowed(figure.cpu_ms, self.machine_best_ms)

    def write(self) -> Path:
        self.results.mkdir(parents=True, exist_ok=True)
        body = {
            "environment": {**self.environment, "machine_best_cpu_ms": self.machine_best_ms},
            "figures": [{**figure.as_dict(), "slowed": self.slowed(figure)} for figure in self.figures],
            "gates": {name: {"passed": passed, "detail": detail} for name, (passed, detail) in self.gates.items()},
            "checks": self.checks,
            "pair_sets": self.pair_sets,
        }
        dated = self.results / f"{time.strftime('%Y-%m-%dT%H%M%S')}.json"
        dated.write_text(json.dumps(body, indent=2, default=str))
        shutil.copyfile(dated, self.results / "latest.json")
        return dated

    def table(self) -> str:
        env = self.environment
        lines = [
            f"database: {env.get('database')}   channel layer: {env.get('channel_layer')}   "
            f"cores: {env.get('cores')}   quick: {env.get('quick')}"
            + (
                f"   autovacuum: {env['autovacuum']} (statistics refreshed before each measured phase)"
                if env.get("autovacuum")
                else ""
            ),
            f"server (Procfile web, 1 worker): {env.get('server')}",
            f"machine: fixed CPU work {self.machine_best_ms:g} ms at its fastest in this run; cpu ms beside each"
            f" figure (per run or pair), SLOWED when over {SLOWED_AT:g}× that (bench/machine.py)",
        ]
        header = (
            f"{'scenario':<10} {'figure':<50} {'median':>9} {'min–max':>17} {'unit':<10} {'ceiling':>9} "
            f"{'ratio':>6} {'ratio min–max':>13} {'target':>7} {'met':<6} load1 / cpu ms"
        )
        lines += [header, "-" * len(header)]
        for f in self.figures:
            ceiling = fmt(f.ceiling.median) if f.ceiling else "-"
            ratio = f"{f.ratio:.3f}" if f.ratio is not None else "-"
            span = f.ratio_range
            ratio_span = f"{span[0]:.2f}–{span[1]:.2f}" if span else "-"
            on = "" if f.target_on_value or f.ceiling is None else "×"
            target = "-" if f.target is None else ("≥" if f.target_kind == "min" else "≤") + f"{f.target:.3g}{on}"
            met = {True: "met", False: "MISSED", None: "-"}[f.met]
            loads = ",".join(f"{load:.1f}" for load in f.loads) or "-"
            cpu = ",".join(f"{ms:.0f}" for ms in f.cpu_ms) or "-"
            value_span = f"{fmt(min(f.value.runs))}–{fmt(max(f.value.runs))}"
            lines.append(
                f"{f.scenario:<10} {f.name[:50]:<50} {fmt(f.value.median):>9} {value_span:>17} {f.unit:<10} "
                f"{ceiling:>9} {ratio:>6} {ratio_span:>13} {target:>7} {met:<6} {loads} / {cpu}"
                + ("  NOISY" if f.noisy else "")
                + ("  SLOWED" if self.slowed(f) else "")
            )
        if self.gates:
            lines.append("")
            for name, (passed, detail) in self.gates.items():
                lines.append(f"gate {'ok    ' if passed else 'FAILED'} {name}: {detail}")
        return "\n".join(lines)


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


# --- the server -----------------------------------------------------------


def bench_database_url() -> tuple[str, str]:
    """A fresh database of the bench's own: PostgreSQL when DATABASE_URL is set, else a new SQLite file.

    The PostgreSQL database is dropped and created again, so it must be one
    whose name says it is a bench's (``…bench…``); ``/postgres`` or no name
    means ``tremma_bench``."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parsed = urlparse(url)
        name = parsed.path.lstrip("/") or "postgres"
        if name == "postgres":
            name = "tremma_bench"
        if "bench" not in name:
            raise SystemExit(
                f"DATABASE_URL names {name!r}: the bench drops and recreates its database, give it one named *bench*"
            )
        admin = urlunparse(parsed._replace(path="/postgres"))
        import psycopg

        with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return urlunparse(parsed._replace(path=f"/{name}")), f"postgresql ({name})"
    folder = Path(tempfile.mkdtemp(prefix="tremma-bench-"))
    return f"sqlite:///{folder / 'bench.sqlite3'}", "sqlite"


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in field 2 may hold spaces: the parent pid follows its closing ")".
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Server:
    """A server process on a free 127.0.0.1 port, by default the Procfile's
    ``web`` line (whatever it says: that is what is measured) with one worker
    (``workers=None``: the Procfile's own default) and the bench-only routes
    switched on. ``command`` replaces it for the ceilings; ``profile`` runs it under ``py-spy record`` (all threads and
    subprocesses) and writes collapsed stacks there on exit."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        command: list[str] | None = None,
        health: str = "/healthz",
        profile: Path | None = None,
        name: str = "web",
        workers: int | None = 1,
    ) -> None:
        from bench.procfile import command_for

        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        self.env.pop("WEB_CONCURRENCY", None)
        if workers is not None:
            self.env["WEB_CONCURRENCY"] = str(workers)
        self.command = command or command_for("web", port=self.port, env=self.env, workers=workers)
        self.health = health
        self.profile = profile
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        command = [arg.replace("{port}", str(self.port)) for arg in self.command]
        if self.profile is not None:
            self.profile.parent.mkdir(parents=True, exist_ok=True)
            spy = str(Path(sys.executable).parent / "py-spy")
            # --nonblocking: py-spy otherwise stops the server at each sample, and with one thread
            # per request under ASGI that made every latency many times longer.
            record = [spy, "record", "--format", "raw", "--rate", "100", "--nonblocking", "--subprocesses"]
            record.append("--threads")
            command = [*record, "-o", str(self.profile), "--", *command]
        # Links the server makes (checkout pages, QR codes) point at itself.
        env = {**self.env, "SITE_URL": self.url}
        # The server's own output (console e-mails, access logs if any) goes to a log beside the results.
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.log = RESULTS / f"server-{self.name}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} server exited with {self.process.returncode}: see {self.log}")
            try:
                if httpx.get(self.url + self.health, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"the {self.name} server did not answer {self.health} within 60 s: {command}")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            # SIGINT first: py-spy writes its profile on it, and servers shut down cleanly.
            os.killpg(self.process.pid, signal.SIGINT if self.profile else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def rss_kib(self) -> int:
        """Resident memory of the server: the process and its workers."""
        assert self.process is not None
        return tree_rss_kib(self.process.pid)


def hello_server(env: dict[str, str]) -> Server:
    """Ceiling (a): the raw ASGI hello-world under uvicorn, one worker."""
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.hello:app", "--host", "127.0.0.1", "--port", "{port}"]
    return Server(env, command=[*uvicorn, "--no-access-log", "--log-level", "warning"], health="/", name="hello")


def bare_django_server(env: dict[str, str]) -> Server:
    """Ceiling (b): the bare Django JSON view, no middleware, WSGI (gunicorn, one sync worker)."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--workers", "1", "--worker-class", "sync", "--bind", "127.0.0.1:{port}"]
    command += ["--log-level", "warning", "bench.bare_django:application"]
    return Server(
        {**env, "DJANGO_SETTINGS_MODULE": "bench.bare_django"}, command=command, health="/__bench__/ping", name="wsgi"
    )


def base_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
    env.update(
        SECRET_KEY="bench-only-secret-key-" + "x" * 40,
        TREMMA_BENCH="true",
        DATABASE_URL=database_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="http://127.0.0.1",
        LOG_LEVEL="WARNING",
        # Payments through the demo gateway, asked for by name (the webhooks scenario switches to Stripe).
        PAYMENTS_DEMO="true",
        # DB_CONN_MAX_AGE keeps the production default. (When Django's ASGI handler served
        # HTTP, each request ran in a thread of its own, so kept connections were never reused
        # and piled up until PostgreSQL answered "too many clients"; the WEB_THREADS pool of
        # tremma/asgi.py bounds them.)
        DJANGO_SETTINGS_MODULE="tremma.settings",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def statistics_refresh() -> str:
    """PostgreSQL: ANALYZE the bench's database, as autovacuum keeps a production server's statistics.
    Called once the data a measured phase reads is in place (after the seeding, before each crowd,
    before throughput pairs), outside any timed part. Without it, a machine whose PostgreSQL runs
    with autovacuum off (this one's CI configuration) plans every query on never-analyzed tables: a
    paid order then cost 75 ms instead of 33, a sold item's page 50 ms instead of 7. Returns
    PostgreSQL's own ``autovacuum`` setting, for the report's header ("" on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SHOW autovacuum")
        return str(cursor.fetchone()[0])


def bench_process(extra_keys: tuple[str, ...] = ()) -> tuple[dict[str, str], str]:
    """The bench's database made afresh (``bench_database_url``), migrated and given the demo data,
    and this process pointed at it as its servers are; (the servers' environment, the database's
    name). ``extra_keys``: more of that environment for this process. Django is not set up yet."""
    database_url, database = bench_database_url()
    redis_url = os.environ.get("REDIS_URL", "")
    env = base_env(database_url, redis_url or None)
    keys = ("SECRET_KEY", "DATABASE_URL", "TREMMA_BENCH", "ALLOWED_HOSTS", "PAYMENTS_DEMO", *extra_keys)
    os.environ.update({key: env[key] for key in keys})
    if not redis_url:
        os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tremma.settings"
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    return env, database


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
