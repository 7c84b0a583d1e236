"""Webhooks: signed Stripe events (checkout.session.completed for gifts)
posted to /payments/stripe/webhook/ on the server, each sent twice (Stripe
retries): events per second, then the ledger check — every gift counted
exactly once, totals balanced."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import httpx

from bench.ceilings import Ceilings, ratio_figure
from bench.harness import Figure, Repeated, Report, Server, hammer, percentile, statistics_refresh
from bench.pairs import alternate

SECRET = "whsec_bench_only"


def gifts(count: int, batch: int) -> list[dict[str, object]]:
    """Pending Stripe gifts as a checkout would have left them (benchmark data, inserted in bulk)."""
    from django.utils import timezone

    from campaigns.models import Campaign
    from donations.models import Gift

    campaign = Campaign.objects.filter(status="live").order_by("id").first()
    assert campaign is not None
    rows = Gift.objects.bulk_create(
        [
            Gift(
                campaign=campaign,
                email=f"bench{batch}-{n}@example.org",
                amount_cents=500 + n,
                provider="stripe",
                provider_session_id=f"cs_bench_{batch}_{n}_{time.time_ns()}",
                created_at=timezone.now(),
            )
            for n in range(count)
        ]
    )
    return [
        {
            "id": f"evt_bench_{gift.provider_session_id}",
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": gift.provider_session_id,
                    "object": "checkout.session",
                    "amount_total": gift.amount_cents,
                    "currency": "eur",
                    "payment_status": "paid",
                    "payment_intent": f"pi_{gift.provider_session_id}",
                    "metadata": {"tremma_kind": "gift", "tremma_id": str(gift.pk)},
                }
            },
        }
        for gift in rows
    ]


def signed(event: dict[str, object]) -> tuple[bytes, str]:
    """Stripe's signature scheme: HMAC-SHA256 of "<timestamp>.<payload>" with the endpoint's secret."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={digest}"


async def deliver(
    server: Server, events: list[dict[str, object]], concurrency: int
) -> tuple[list[float], dict[int, int], float]:
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    for event in events + events:  # every event delivered twice, as Stripe's retries do
        queue.put_nowait(event)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                payload, signature = signed(queue.get_nowait())
                started = time.perf_counter()
                response = await client.post(
                    "/payments/stripe/webhook/",
                    content=payload,
                    headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
                )
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, statuses, time.perf_counter() - started


def ledger_check(events: list[dict[str, object]]) -> dict[str, object]:
    from django.db.models import Sum

    from donations.models import Gift, PaymentStatus
    from ledger.models import LedgerEntry

    ids = [int(e["data"]["object"]["metadata"]["tremma_id"]) for e in events]  # type: ignore[index]
    paid = Gift.objects.filter(pk__in=ids, status=PaymentStatus.PAID)
    entries = LedgerEntry.objects.filter(gift_id__in=ids)
    return {
        "gifts_paid": paid.count(),
        "ledger_entries": entries.count(),
        "balanced": (entries.aggregate(total=Sum("amount_cents"))["total"] or 0)
        == (paid.aggregate(total=Sum("amount_cents"))["total"] or 0),
    }


def measure(report: Report, server: Server, ceilings: Ceilings, *, count: int, pairs: int) -> None:
    checks: list[dict[str, object]] = []
    p99s: list[float] = []

    def ping() -> dict[str, float]:
        # The same Python client as the webhooks', so the ratio compares server work only.
        load = asyncio.run(hammer(server.url, ["/__bench__/ping"] * (2 * count), concurrency=8))
        return {"ping.rps": load.throughput}

    def webhooks() -> dict[str, float]:
        events = gifts(count, len(checks))
        statistics_refresh()
        latencies, statuses, seconds = asyncio.run(deliver(server, events, concurrency=8))
        p99s.append(percentile(latencies, 99))
        check = ledger_check(events)
        check["non_2xx"] = sum(n for status, n in statuses.items() if status >= 300)
        check["each_counted_once"] = check["gifts_paid"] == check["ledger_entries"] == count
        checks.append(check)
        return {"webhooks.rps": len(latencies) / seconds}

    rounds = alternate(
        [ceilings.wsgi(), ("ping", ping), ("webhooks", webhooks)],
        pairs=pairs,
        ratios=[("webhooks.rps", "wsgi.rps"), ("webhooks.rps", "ping.rps")],
    )
    report.pair_sets["webhooks"] = rounds.as_dict()
    report.checks["webhooks"] = checks
    report.add(
        ratio_figure(
            rounds,
            "webhooks",
            "signed events processed (half are replays) vs (b)",
            "events/s",
            "webhooks.rps",
            "wsgi.rps",
            target=0.25,
            notes="ceiling (b) under wrk; the events come from a Python client, far faster than the events/s measured",
        )
    )
    report.add(
        ratio_figure(
            rounds,
            "webhooks",
            "signed events processed vs ping, same client",
            "events/s",
            "webhooks.rps",
            "ping.rps",
            notes="ceiling: /__bench__/ping through the same Python client",
        )
    )
    report.add(Figure("webhooks", "webhook p99", "ms", Repeated(p99s), target=100, target_kind="max"))
    counted = all(check["each_counted_once"] for check in checks)
    balanced = all(check["balanced"] for check in checks)
    errors = sum(int(check["non_2xx"]) for check in checks)  # type: ignore[call-overload]
    report.gate(
        "webhooks: every gift counted once", counted, f"{len(checks)} batches of {count} events, each sent twice"
    )
    report.gate("webhooks: ledger balances", balanced, "ledger total == paid gifts total")
    report.gate("webhooks: 0 errors", errors == 0, f"{errors} non-2xx answers")
