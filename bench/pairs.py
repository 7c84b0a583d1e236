"""Ceiling and scenario measured in alternating pairs (A B A B …).

On a shared 2-core machine the load changes from one second to the next: a
figure taken now and a ceiling taken a minute later say little about each
other. So each round measures the ceilings and then the scenario back to
back, the ratio is taken per round, and the report gives the median of those
ratios with their min and max, the 1-minute load average of each round and the
machine's speed after it (bench.machine: the CPU time of a fixed piece of work).
A set whose ratios spread over 15 % of their median is measured again (twice
at most) and, if still spread, reported flagged "noisy" rather than hidden."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.machine import cpu_work_ms

MAX_SPREAD = 0.15
RERUNS = 2

Step = tuple[str, Callable[[], dict[str, float]]]


def spread(ratios: Sequence[float]) -> float:
    """(max - min) / median of the per-pair ratios; 0 for fewer than two."""
    if len(ratios) < 2:
        return 0.0
    median = statistics.median(ratios)
    if median == 0:
        return float("inf")
    return (max(ratios) - min(ratios)) / abs(median)


@dataclass
class Round:
    values: dict[str, float]
    load1: float
    # bench.machine.cpu_work_ms after the round: the machine's speed then (higher is slower).
    cpu_ms: float = 0.0


@dataclass
class Rounds:
    """Every attempt at a pair set; the last one is what the report uses."""

    ratios_spec: list[tuple[str, str]]
    attempts: list[list[Round]] = field(default_factory=list)
    max_spread: float = MAX_SPREAD

    @property
    def rounds(self) -> list[Round]:
        return self.attempts[-1]

    def values(self, key: str) -> list[float]:
        return [r.values[key] for r in self.rounds]

    def loads(self) -> list[float]:
        return [r.load1 for r in self.rounds]

    def cpu_ms(self) -> list[float]:
        return [r.cpu_ms for r in self.rounds]

    def ratios(self, value: str, ceiling: str, rounds: list[Round] | None = None) -> list[float]:
        return [
            r.values[value] / r.values[ceiling] if r.values[ceiling] else float("inf")
            for r in (self.rounds if rounds is None else rounds)
        ]

    def spreads(self, rounds: list[Round] | None = None) -> dict[str, float]:
        return {f"{v}/{c}": spread(self.ratios(v, c, rounds)) for v, c in self.ratios_spec}

    @property
    def noisy(self) -> bool:
        return any(s > self.max_spread for s in self.spreads().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": [
                {
                    "rounds": [{"values": r.values, "load1": r.load1, "cpu_ms": r.cpu_ms} for r in rounds],
                    "spreads": self.spreads(rounds),
                }
                for rounds in self.attempts
            ],
            "noisy": self.noisy,
        }


def alternate(
    steps: Sequence[Step],
    *,
    pairs: int,
    ratios: Sequence[tuple[str, str]],
    max_spread: float = MAX_SPREAD,
    reruns: int = RERUNS,
    loadavg: Callable[[], float] = lambda: os.getloadavg()[0],
    machine: Callable[[], float] = cpu_work_ms,
    say: Callable[[str], None] = lambda line: print(line, flush=True),
) -> Rounds:
    """Run ``steps`` (ceilings first, scenario last) ``pairs`` times in a row;
    measure the whole set again while a ratio's spread is over ``max_spread``."""
    result = Rounds(ratios_spec=list(ratios), max_spread=max_spread)
    for attempt in range(1 + reruns):
        rounds = []
        for _ in range(pairs):
            values: dict[str, float] = {}
            for _name, step in steps:
                values.update(step())
            rounds.append(Round(values, loadavg(), machine()))
        result.attempts.append(rounds)
        spreads = result.spreads()
        if not result.noisy:
            break
        worst = max(spreads, key=lambda key: spreads[key])
        if attempt < reruns:
            say(f"    spread of {worst} is {spreads[worst]:.0%} (> {max_spread:.0%}): measuring the pairs again")
        else:
            say(f"    spread of {worst} still {spreads[worst]:.0%} after {reruns} reruns: reported as noisy")
    return result
