"""Real ASGI servers (uvicorn, as the Procfile runs them) on the test database,
for tests that need websockets across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
from django.db import connection

from bench.procfile import command_for
from tests.components import free_port, redis_url

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _env(debug: bool, redis: bool = True) -> dict[str, str]:
    skip = {"DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL", "DB_CONN_MAX_AGE"}  # servers keep connections, as in production
    env = {key: value for key, value in os.environ.items() if key not in skip}
    if redis:
        env["REDIS_URL"] = redis_url()
    env.update(
        DATABASE_URL=database_url(),
        TREMMA_BENCH="true",
        DEBUG="true" if debug else "false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    return env


def start_server(
    port: int, *, debug: bool = False, redis: bool = True, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """One web process (the Procfile's ``web`` line) on ``port``, answering /healthz
    before this returns; ``env`` adds variables.

    Without ``redis`` it runs on the in-memory channel layer (one process only)."""
    # SITE_URL: the links it makes point at itself.
    server_env = {**_env(debug, redis), "SITE_URL": f"http://127.0.0.1:{port}", **(env or {})}
    process = subprocess.Popen(
        # The Procfile's own web line (one worker, this port): the tests' servers run as production's do.
        command_for("web", port=port, env=server_env),
        cwd=ROOT,
        env=server_env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            stop_server(process)
            raise RuntimeError(f"the server on port {port} did not start")
        time.sleep(0.2)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


@contextmanager
def asgi_servers(
    count: int, *, debug: bool = False, redis: bool = True, env: dict[str, str] | None = None
) -> Iterator[list[str]]:
    """``count`` uvicorn processes sharing the test database and Redis; yields their base URLs.

    ``debug`` serves static files from the apps' folders (no collectstatic in tests)."""
    ports = [free_port() for _ in range(count)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:
            processes.append(start_server(port, debug=debug, redis=redis, env=env))
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            stop_server(process)


def start_worker(
    *, redis: bool = True, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """One cluster of the task engine (the Procfile's ``worker`` line: django-q2's guard,
    pusher, monitor and its workers) on the test database, not eager. ``log`` gets its output."""
    worker_env = {**_env(False, redis), "TASKS_EAGER": "false", "LOG_LEVEL": "INFO", **(env or {})}
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    return subprocess.Popen(
        command_for("worker", port=0, env=worker_env),
        cwd=ROOT,
        env=worker_env,
        start_new_session=True,
        stdout=output,
        stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
    )


def stop_worker(process: subprocess.Popen[bytes], *, timeout: float = 30) -> None:
    """SIGTERM to the cluster's main process, as a deploy stops it: django-q2 lets running tasks
    finish, then exits. Never to its whole group: its sentinel dies of SIGTERM and the main
    process then waits for it for ever (the group gets SIGKILL after ``timeout``)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def task_workers(
    count: int = 1, *, redis: bool = True, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` clusters at once, as on ``count`` machines; stopped on exit."""
    processes = [start_worker(redis=redis, env=env, log=log) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            stop_worker(process)
