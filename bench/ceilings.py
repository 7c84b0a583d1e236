"""The HTTP ceilings every HTTP figure is divided by, measured in the same
run, in alternation with the scenario (bench.pairs):

(a) ``hello``: a raw ASGI hello-world under uvicorn, one worker — the limit
    for Python here;
(b) ``wsgi``: a bare Django JSON view, no middleware, WSGI (gunicorn, one
    sync worker) — the best stock Django does;
(c) ``ping``: the same view behind our production middleware on the
    production server (the Procfile's ``web`` line), ``/__bench__/ping``;
(d) ``reserve``: the essential work of a checkout, ``/__bench__/reserve/<id>/``
    on that same server: only the SQL a reservation cannot do without (the
    conditional UPDATE of the item, the order, fulfilment, line and hold rows,
    the outbox event and its streams) in one transaction, as plain SQL, on the
    same database (tremma/bench.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from bench.harness import Figure, Repeated, Report, Server, bare_django_server, hello_server, statistics_refresh
from bench.pairs import Rounds, Step, spread
from bench.wrk import wrk

CEILING_NAMES = {
    "hello": "(a) raw ASGI hello, uvicorn",
    "wsgi": "(b) bare Django view, WSGI gunicorn",
    "ping": "(c) ping, prod middleware + server",
    "reserve": "(d) essential work of a checkout",
}


@dataclass
class Ceilings:
    env: dict[str, str]
    seconds: float
    connections: int = 8
    servers: dict[str, Server] = field(default_factory=dict)
    _stack: ExitStack = field(default_factory=ExitStack)

    def __enter__(self) -> Ceilings:
        self.servers["hello"] = self._stack.enter_context(hello_server(self.env))
        self.servers["wsgi"] = self._stack.enter_context(bare_django_server(self.env))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _step(self, key: str, url: str, path: str) -> Step:
        def measure() -> dict[str, float]:
            result = wrk(url, [path], seconds=self.seconds, connections=self.connections)
            return {f"{key}.rps": result.throughput, f"{key}.p50": result.p50_ms, f"{key}.p99": result.p99_ms}

        return key, measure

    def hello(self) -> Step:
        return self._step("hello", self.servers["hello"].url, "/")

    def wsgi(self) -> Step:
        return self._step("wsgi", self.servers["wsgi"].url, "/__bench__/ping")

    def ping(self, server: Server) -> Step:
        """Ceiling (c), on the very server process the scenario runs against."""
        return self._step("ping", server.url, "/__bench__/ping")

    def reserve(self, server: Server, fresh_items: Callable[[int], list[int]], per_round: int) -> Step:
        """Ceiling (d), on the very server process the scenario runs against, each round on fresh items."""

        def measure() -> dict[str, float]:
            ids = fresh_items(per_round)
            statistics_refresh()  # as before the checkout's rounds (bench/scenarios/flash.py says why)
            result = wrk(
                server.url,
                [f"/__bench__/reserve/{pk}/" for pk in ids],
                seconds=self.seconds,
                connections=self.connections,
                method="POST",
            )
            return {"reserve.rps": result.created / result.seconds, "reserve.p99": result.p99_ms}

        return "reserve", measure


def ceiling_figures(report: Report, rounds: Rounds, scenario: str, keys: tuple[str, ...]) -> None:
    """The ceilings themselves as figures, with (c) / (b): what our middleware and server cost."""
    for key in keys:
        report.add(
            Figure(
                scenario,
                f"ceiling {CEILING_NAMES[key]}",
                "req/s",
                Repeated(rounds.values(f"{key}.rps")),
                loads=rounds.loads(),
                cpu_ms=rounds.cpu_ms(),
            )
        )
    if "wsgi" in keys and "ping" in keys:
        report.add(
            ratio_figure(
                rounds,
                scenario,
                "ceiling (c) vs (b): our stack vs bare Django",
                "req/s",
                "ping.rps",
                "wsgi.rps",
                target=0.6,
                notes="our middleware and server cost at most 40 % of a bare Django view's throughput",
            )
        )


def ratio_figure(
    rounds: Rounds,
    scenario: str,
    name: str,
    unit: str,
    value: str,
    ceiling: str,
    *,
    target: float | None = None,
    target_kind: str = "min",
    notes: str = "",
    make: Callable[..., Figure] = Figure,
) -> Figure:
    """A figure whose ratio is the median of the per-pair ratios ``value / ceiling``."""
    pair_ratios = rounds.ratios(value, ceiling)
    return make(
        scenario,
        name,
        unit,
        Repeated(rounds.values(value)),
        Repeated(rounds.values(ceiling)),
        CEILING_NAMES.get(ceiling.split(".")[0], ceiling),
        target=target,
        target_kind=target_kind,
        notes=notes,
        pair_ratios=pair_ratios,
        loads=rounds.loads(),
        cpu_ms=rounds.cpu_ms(),
        noisy=spread(pair_ratios) > rounds.max_spread,
    )
