from __future__ import annotations

import pytest
from django.test import Client

from bench.harness import Figure, Repeated, percentile

pytestmark = pytest.mark.django_db


def test_bench_routes_are_absent_unless_switched_on(client: Client) -> None:
    assert client.get("/__bench__/ping").status_code == 404
    assert client.post("/__bench__/emit?ids=1").status_code == 404


def test_a_figure_is_judged_by_its_ratio_to_the_ceiling_of_the_same_run() -> None:
    latency = Figure(
        "x", "p99", "ms", Repeated([30.0, 10.0, 20.0]), Repeated([5.0, 4.0, 6.0]), target=3, target_kind="max"
    )
    assert latency.value.median == 20.0
    assert latency.ratio == 4.0
    assert latency.met is False
    throughput = Figure("x", "rps", "req/s", Repeated([50.0]), Repeated([100.0]), target=0.4)
    assert throughput.met is True


def test_percentile_picks_the_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) in (50, 51)
    assert percentile(values, 99) == 99
