"""The machine's own speed, taken beside every measured phase.

The machines the benchmarks run on are shared: the same fixed work can take half as long again
from one minute to the next, with nothing of ours running (a neighbour on the host, a slower
clock). A ratio to a ceiling taken in the same pair cancels most of it; a latency (the flash
crowd's p99) does not. So each phase is framed by ``cpu_work_ms``: the CPU time one fixed piece of
pure-Python work takes in this process. It is the thread's CPU time, not the wall clock: waiting
for a core (our own servers still busy) does not count, a slower core does. The report shows it
beside each figure and flags a figure measured while the machine was much slower than at its
best in the same run (``SLOWED``), so that a figure missed because the machine slowed is told
apart from one missed because our code did."""

from __future__ import annotations

import time
from collections.abc import Sequence

# A figure measured while the fixed work took more than this times its best of the run is flagged.
SLOWED_AT = 1.25
# The fixed work: integer arithmetic, a dict and a list, as a request's Python does; about 15 ms
# on this project's 2-core machines at their best.
_ROUNDS = 150_000


def _fixed_work() -> int:
    table: dict[int, int] = {}
    out: list[int] = []
    total = 0
    for n in range(_ROUNDS):
        total += n * n % 7
        table[n % 512] = total
        if n % 3 == 0:
            out.append(table.get(n % 256, 0))
    return total + len(out)


def cpu_work_ms(repeats: int = 3) -> float:
    """The least CPU time (ms) of ``repeats`` runs of the fixed work in this thread."""
    best = float("inf")
    for _ in range(repeats):
        started = time.thread_time()
        _fixed_work()
        best = min(best, (time.thread_time() - started) * 1000)
    return round(best, 2)


def slowed(phase_ms: Sequence[float], best_ms: float) -> bool:
    """Was the machine slowed during these phases (the middle of their fixed-work times more
    than ``SLOWED_AT`` times the run's best)?"""
    if not phase_ms or best_ms <= 0:
        return False
    ordered = sorted(phase_ms)
    middle = ordered[len(ordered) // 2]
    return middle > SLOWED_AT * best_ms
