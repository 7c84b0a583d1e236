"""What a checkout does beyond ceiling (d), step by step: ``python -m bench.steps``.

At saturation on one worker the web process is the bottleneck of both the checkout and (d) (one
core, its GIL held), so checkout / (d) is near the ratio of their CPU times in that process. This
measures them in one process, without a server (Django's test client, the production middleware),
as CPU time of the request's thread (``time.thread_time``: waits for PostgreSQL or Redis do not
count, the client's and the driver's work do): one request of each — a one-item checkout on the
demo gateway, (d) ``/__bench__/reserve/<id>/``, the ping — then the CPU spent inside each named
step of the checkout. Steps nest (``order_start`` holds the items' read): each row is the time
inside that step, its inner steps included. Without a server there is no event loop to send live
events through: ``_publish`` here is its check for an earlier unpublished event, not the send to
the channel layer and the mark that follow it in a server. Same database as ``make bench`` (DATABASE_URL, a
name with "bench"); it is migrated and given the demo data first, as the benchmark does."""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# (module, name): a module's function (replaced wherever it was imported by name) or Class.method.
CHECKOUT_STEPS: tuple[tuple[str, str], ...] = (
    ("rest_framework.views", "APIView.dispatch"),
    ("rest_framework.views", "APIView.initial"),
    ("checkout.api", "ItemCheckoutView.post"),
    ("checkout.throttles", "payment_attempt_check"),
    ("checkout.services.orders", "order_start"),
    ("kernel.sql", "rows_select"),
    ("checkout.services.orders", "_items_hold"),
    ("kernel.sql", "rows_update"),
    ("kernel.sql", "_rows_write_together"),
    ("realtime.services", "event_emit"),
    ("checkout.services.orders", "_return_urls"),
    ("payments.demo_gateway", "DemoGateway.checkout_create"),
    ("realtime.services", "_publish"),
)


@contextmanager
def timed(steps: Sequence[tuple[str, str]]) -> Iterator[dict[str, float]]:
    """Count the thread CPU time (seconds) spent inside each step while the block runs; every
    step is put back as it was at the end."""
    spent: dict[str, float] = {}
    undo: list[Callable[[], None]] = []
    try:
        for module_name, name in steps:
            undo.extend(_wrap(module_name, name, spent))
        yield spent
    finally:
        for restore in reversed(undo):
            restore()


def _wrap(module_name: str, name: str, spent: dict[str, float]) -> list[Callable[[], None]]:
    module = importlib.import_module(module_name)
    owner: Any = module
    attribute = name
    if "." in name:
        class_name, attribute = name.split(".", 1)
        owner = getattr(module, class_name)
    original = owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)
    label = f"{module_name}.{name}"

    def step(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.thread_time() - started

    holders = [owner]
    if owner is module:  # the modules that imported it by name call their own reference
        holders += [
            other for other in list(sys.modules.values()) if other is not module and _holds(other, attribute, original)
        ]
    for holder in holders:
        setattr(holder, attribute, step)
    return [functools.partial(setattr, holder, attribute, original) for holder in holders]


def _holds(module: Any, attribute: str, value: Any) -> bool:
    try:
        return module.__dict__.get(attribute) is value
    except Exception:  # a module without a plain __dict__
        return False


def measure(*, checkouts: Sequence[int], reserves: Sequence[int], pings: int, warm: int = 20) -> dict[str, Any]:
    """CPU ms per request of checkouts of ``checkouts`` (listed items), of (d) on ``reserves`` and of
    ``pings`` pings, and per checkout in each step; the first ``warm`` of each are not counted."""
    from django.test import Client

    client = Client()

    def checkout(pk: int) -> None:
        # An address per buyer, so the holds cap and the attempt counters never refuse one.
        address = f"10.{pk // 65536 % 256}.{pk // 256 % 256}.{pk % 256}"
        body = json.dumps({"email": f"steps{pk}@example.org"})
        answer = client.post(
            f"/api/items/{pk}/checkout/", data=body, content_type="application/json", REMOTE_ADDR=address
        )
        if answer.status_code != 201:
            raise RuntimeError(f"checkout of item {pk}: {answer.status_code} {answer.content[:200]!r}")

    def reserve(pk: int) -> None:
        answer = client.post(f"/__bench__/reserve/{pk}/")
        if answer.status_code != 201:
            raise RuntimeError(f"(d) on item {pk}: {answer.status_code}")

    def ping(_n: int) -> None:
        if client.get("/__bench__/ping").status_code != 200:
            raise RuntimeError("ping")

    def cpu_ms(run: Callable[[int], None], keys: Sequence[int], warm: int = warm) -> float:
        for key in keys[:warm]:
            run(key)
        counted = keys[warm:]
        started = time.thread_time()
        for key in counted:
            run(key)
        return (time.thread_time() - started) * 1000 / max(len(counted), 1)

    figures: dict[str, Any] = {"reserve_ms": cpu_ms(reserve, list(reserves)), "ping_ms": cpu_ms(ping, range(pings))}
    for key in checkouts[:warm]:
        checkout(key)
    counted = list(checkouts[warm:])
    with timed(CHECKOUT_STEPS) as spent:
        figures["checkout_ms"] = cpu_ms(checkout, counted, warm=0)  # warmed before its steps are timed
    figures["steps_ms"] = {label: seconds * 1000 / max(len(counted), 1) for label, seconds in spent.items()}
    return figures


def table(figures: dict[str, Any]) -> str:
    lines = [
        f"checkout   {figures['checkout_ms']:6.2f} ms of CPU a request (one item, demo gateway)",
        f"(d)        {figures['reserve_ms']:6.2f} ms   checkout / (d) by CPU: "
        f"{figures['reserve_ms'] / figures['checkout_ms']:.2f}",
        f"ping (c)   {figures['ping_ms']:6.2f} ms",
        "inside the checkout (each step with its inner steps):",
    ]
    for label, ms in sorted(figures["steps_ms"].items(), key=lambda pair: -pair[1]):
        lines.append(f"  {ms:6.2f} ms  {label}")
    return "\n".join(lines)


def main() -> int:
    from bench.harness import bench_process, statistics_refresh

    count = int(os.environ.get("STEPS_REQUESTS", "600"))
    bench_process(extra_keys=("LOG_LEVEL",))
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] += ",testserver"  # Django's test client
    import django

    django.setup()
    from bench.scenarios.flash import checkout_items

    checkouts, reserves = checkout_items(count), checkout_items(count)
    statistics_refresh()
    print(table(measure(checkouts=checkouts, reserves=reserves, pings=count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
