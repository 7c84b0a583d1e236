"""Webhooks: signed Stripe events (checkout.session.completed for gifts)
posted by wrk to /payments/stripe/webhook/ on the server, each sent twice
(Stripe retries): events answered per second and their p99. The webhook
records each event with its application's task; after the load the recorded
events are applied as the worker applies them (timed apart), then the ledger
check: every gift counted exactly once, totals balanced."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from bench.ceilings import Ceilings, ratio_figure
from bench.harness import Figure, Repeated, Report, Server, statistics_refresh
from bench.pairs import alternate
from bench.wrk import wrk_prepared

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


def signed(event: dict[str, object]) -> tuple[str, bytes]:
    """Stripe's signature scheme: HMAC-SHA256 of "<timestamp>.<payload>" with the endpoint's secret
    (Stripe's tolerance is 5 minutes: signed just before they are sent)."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}", payload


def deliveries(events: list[dict[str, object]], chunk: int = 50) -> list[tuple[str, bytes]]:
    """Each event twice, as Stripe's retries do: ``chunk`` first deliveries, then their replays, and so
    on, so that wherever the load stops about half of what was sent were replays."""
    signed_events = [signed(event) for event in events]
    ordered: list[tuple[str, bytes]] = []
    for start in range(0, len(signed_events), chunk):
        part = signed_events[start : start + chunk]
        ordered += part + part
    return ordered


def drain(events: list[dict[str, object]]) -> tuple[int, float]:
    """Apply the recorded events of ``events`` as the worker does (payments.events.provider_event_apply),
    here in the benchmark's process, after the load: how many, and in how many seconds of applying.
    The requests wrk left in flight when its time was up are still being recorded: until a look a
    moment later finds none waiting."""
    from payments.events import provider_event_apply
    from payments.models import ProviderEvent

    ids = [str(event["id"]) for event in events]
    applied, applying, before = 0, 0.0, None
    while True:
        time.sleep(0.2)
        waiting = list(
            ProviderEvent.objects.filter(provider="stripe", event_id__in=ids, processed_at__isnull=True)
            .order_by("id")
            .values_list("event_id", flat=True)
        )
        if not waiting or waiting == before:  # none left, or only events that wait for another
            return applied, applying
        before = waiting
        started = time.perf_counter()
        applied += sum(provider_event_apply(provider="stripe", event_id=event_id) for event_id in waiting)
        applying += time.perf_counter() - started


def ledger_check(events: list[dict[str, object]]) -> dict[str, object]:
    from django.db.models import Sum

    from donations.models import Gift, PaymentStatus
    from ledger.models import LedgerEntry
    from payments.models import ProviderEvent

    ids = [int(e["data"]["object"]["metadata"]["tremma_id"]) for e in events]  # type: ignore[index]
    paid = Gift.objects.filter(pk__in=ids, status=PaymentStatus.PAID)
    entries = LedgerEntry.objects.filter(gift_id__in=ids)
    recorded = ProviderEvent.objects.filter(provider="stripe", event_id__in=[str(e["id"]) for e in events])
    return {
        "events_recorded": recorded.count(),
        "events_unprocessed": recorded.filter(processed_at__isnull=True).count(),
        "gifts_paid": paid.count(),
        "ledger_entries": entries.count(),
        "balanced": (entries.aggregate(total=Sum("amount_cents"))["total"] or 0)
        == (paid.aggregate(total=Sum("amount_cents"))["total"] or 0),
    }


def measure(report: Report, server: Server, ceilings: Ceilings, *, seconds: float, pairs: int) -> None:
    checks: list[dict[str, object]] = []
    p99s: list[float] = []
    applied_rates: list[float] = []
    # More events than the load can send in ``seconds``, so that each is sent twice at most (the
    # list is cycled if not).
    count = max(300, int(1500 * seconds))

    def webhooks() -> dict[str, float]:
        events = gifts(count, len(checks))
        statistics_refresh()
        result = wrk_prepared(
            server.url + "/payments/stripe/webhook/",
            deliveries(events),
            header="Stripe-Signature",
            seconds=seconds,
            connections=ceilings.connections,
        )
        p99s.append(result.p99_ms)
        applied, applying = drain(events)
        if applied:
            applied_rates.append(applied / applying)
        check = ledger_check(events)
        check["requests"] = result.requests
        check["non_2xx"] = result.requests - result.created + result.socket_errors
        check["each_counted_once"] = (
            check["events_recorded"] == check["gifts_paid"] == check["ledger_entries"]
            and check["events_unprocessed"] == 0
            and 0 < int(check["events_recorded"]) <= result.requests  # type: ignore[call-overload]
        )
        checks.append(check)
        return {"webhooks.rps": result.created / result.seconds}

    rounds = alternate(
        [ceilings.wsgi(), ceilings.ping(server), ("webhooks", webhooks)],
        pairs=pairs,
        ratios=[("webhooks.rps", "wsgi.rps"), ("webhooks.rps", "ping.rps")],
    )
    report.pair_sets["webhooks"] = rounds.as_dict()
    report.checks["webhooks"] = checks
    report.add(
        ratio_figure(
            rounds,
            "webhooks",
            "signed events answered (half are replays) vs (b)",
            "events/s",
            "webhooks.rps",
            "wsgi.rps",
            target=0.25,
            notes="wrk POSTs events signed beforehand; each recorded with its application's task, applied by a worker",
        )
    )
    report.add(
        ratio_figure(
            rounds,
            "webhooks",
            "signed events answered vs (c) ping",
            "events/s",
            "webhooks.rps",
            "ping.rps",
            notes="ceiling (c): /__bench__/ping on the same server, under wrk",
        )
    )
    report.add(Figure("webhooks", "webhook p99", "ms", Repeated(p99s), target=100, target_kind="max"))
    report.add(
        Figure(
            "webhooks",
            "recorded events applied, one worker process",
            "events/s",
            Repeated(applied_rates),
            notes="after the load, in the benchmark's process: each a whole payment (ledger, events, progress, tasks)",
        )
    )
    counted = all(check["each_counted_once"] for check in checks)
    balanced = all(check["balanced"] for check in checks)
    errors = sum(int(check["non_2xx"]) for check in checks)  # type: ignore[call-overload]
    report.gate(
        "webhooks: every gift counted once",
        counted,
        f"{len(checks)} batches of up to {count} events, each sent twice; every recorded event applied once",
    )
    report.gate("webhooks: ledger balances", balanced, "ledger total == paid gifts total")
    report.gate("webhooks: 0 errors", errors == 0, f"{errors} answers not 2xx")
