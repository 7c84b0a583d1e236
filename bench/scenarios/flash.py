"""Flash window: 500 passers-by arrive within 10 seconds at a 50-item window,
scan a card, read the item page and try to buy; the most wanted items are
contested by many. Each winner pays on the demo gateway's page (the same
event processing as a Stripe webhook). The unique-item rule is then checked
in the database: sales equal items bought, never more."""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from bench.harness import Figure, Repeated, Report, Server, hammer, percentile

TEST_CARD = "4242 4242 4242 4242"


def window_of_fifty() -> tuple[int, list[tuple[str, int]]]:
    """A fresh window of 50 listed items; (window id, [(placement code, item id)])."""
    from django.utils import timezone

    from campaigns.models import Campaign
    from donations.models import Item, ItemStatus
    from qr.services import placement_add, short_code_for, window_create

    campaign = Campaign.objects.order_by("id").first()
    assert campaign is not None
    _listed_items(campaign, 50)
    window = window_create(
        organisation=campaign.organisation,
        name=f"Vitrine flash {time.time_ns()}",
        place="Banc d'essai",
        starts_at=timezone.now() - timedelta(hours=1),
    )
    items = Item.objects.filter(campaign__organisation=campaign.organisation, status=ItemStatus.LISTED)
    cards = []
    for item in items.order_by("id")[:50]:
        placement = placement_add(window=window, item=item)
        cards.append((short_code_for(target=placement).code, item.pk))
    return window.pk, cards


def _listed_items(campaign: Any, count: int) -> None:
    """Top the organisation up to ``count`` listed items, each walked through review."""
    from donations.models import Item, ItemStatus
    from donations.services import item_transition

    listed = Item.objects.filter(campaign__organisation=campaign.organisation, status=ItemStatus.LISTED)
    for n in range(max(0, count - listed.count())):
        item = Item.objects.create(
            campaign=campaign,
            title=f"Objet de vitrine {n}",
            description="Banc d'essai",
            condition="good",
            price_cents=1_000 + n,
        )
        item_transition(item=item, to=ItemStatus.IN_REVIEW, note="bench")
        item_transition(item=item, to=ItemStatus.LISTED, note="bench")


@dataclass
class Outcome:
    page_ms: list[float] = field(default_factory=list)
    checkout_ms: list[float] = field(default_factory=list)
    reserved: int = 0
    refused: int = 0
    paid: int = 0
    server_errors: int = 0
    other: dict[int, int] = field(default_factory=dict)


async def passer_by(n: int, server: Server, code: str, outcome: Outcome, delay: float) -> None:
    await asyncio.sleep(delay)
    # A phone behind the shop's network: its own address, as the trusted proxy reports it
    # (198.51.100.0/24 and 203.0.113.0/24 are documentation ranges: only a header value here).
    forwarded = {"X-Forwarded-For": f"{'198.51.100' if n % 2 else '203.0.113'}.{n % 250 + 1}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=forwarded) as phone:
        started = time.perf_counter()
        page = await phone.get(f"/q/{code}", follow_redirects=True)
        outcome.page_ms.append((time.perf_counter() - started) * 1000)
        if page.status_code >= 500:
            outcome.server_errors += 1
            return
        item_id = int(re.search(r"/objets/(\d+)/", str(page.url)).group(1))  # type: ignore[union-attr]
        # The API call of the phone's "buy" button: JSON, no cookies (token-less client).
        async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=forwarded) as api:
            started = time.perf_counter()
            response = await api.post(f"/api/items/{item_id}/checkout/", json={"email": f"passant{n}@example.org"})
            outcome.checkout_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code == 201:
            outcome.reserved += 1
            pay_url = response.json()["checkout_url"]
            form = await phone.get(pay_url)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            paid = await phone.post(
                pay_url, data={"card_number": TEST_CARD, "csrfmiddlewaretoken": token.group(1) if token else ""}
            )
            if paid.status_code in (302, 303):
                outcome.paid += 1
            elif paid.status_code >= 500:
                outcome.server_errors += 1
        elif response.status_code == 409:
            outcome.refused += 1
        elif response.status_code >= 500:
            outcome.server_errors += 1
        else:
            outcome.other[response.status_code] = outcome.other.get(response.status_code, 0) + 1


async def crowd(server: Server, cards: list[tuple[str, int]], visitors: int, seconds: float) -> Outcome:
    rng = random.Random(11)
    outcome = Outcome()
    # The five most wanted cards draw half of the crowd.
    wanted = [code for code, _item in cards[:5]]
    tasks = []
    for n in range(visitors):
        code = rng.choice(wanted) if rng.random() < 0.5 else rng.choice(cards)[0]
        tasks.append(passer_by(n, server, code, outcome, delay=rng.uniform(0, seconds)))
    await asyncio.gather(*tasks)
    return outcome


def database_check(item_ids: list[int]) -> dict[str, int]:
    from django.db.models import Count

    from campaigns.models import LedgerEntry
    from donations.models import Item, ItemStatus, Order, PaymentStatus

    paid = Order.objects.filter(item_id__in=item_ids, status=PaymentStatus.PAID)
    twice = paid.values("item_id").annotate(n=Count("id")).filter(n__gt=1).count()
    return {
        "items_sold": Item.objects.filter(pk__in=item_ids, status=ItemStatus.SOLD).count(),
        "orders_paid": paid.count(),
        "items_sold_twice": twice,
        "ledger_credits": LedgerEntry.objects.filter(order__item_id__in=item_ids, kind="credit").count(),
    }


def measure(report: Report, server: Server, *, visitors: int, seconds: float, repeats: int) -> None:
    outcomes, checks, ceilings = [], [], []
    for _ in range(repeats):
        _window, cards = window_of_fifty()
        started = time.perf_counter()
        outcome = asyncio.run(crowd(server, cards, visitors, seconds))
        elapsed = time.perf_counter() - started
        outcomes.append((outcome, elapsed))
        checks.append(database_check([item for _code, item in cards]))
        ceilings.append(asyncio.run(hammer(server.url, ["/__bench__/ping"] * len(outcome.checkout_ms), concurrency=8)))
    last_check = checks[-1]
    report.checks["flash.sales"] = [o.paid for o, _e in outcomes]
    report.checks["flash.items_sold"] = [c["items_sold"] for c in checks]
    report.checks["flash.orders_paid"] = [c["orders_paid"] for c in checks]
    report.checks["flash.items_sold_twice"] = sum(c["items_sold_twice"] for c in checks)
    report.checks["flash.refusals_409"] = [o.refused for o, _e in outcomes]
    report.checks["flash.server_errors"] = sum(o.server_errors for o, _e in outcomes)
    report.checks["flash.other_statuses"] = [o.other for o, _e in outcomes]
    report.checks["flash.sales_equal_items_bought"] = all(
        c["items_sold"] == c["orders_paid"] == c["ledger_credits"] == o.paid
        for c, (o, _e) in zip(checks, outcomes, strict=True)
    )
    assert last_check["items_sold_twice"] == 0, "a unique item was sold twice"
    report.add(
        Figure(
            "flash",
            "item page (scan + redirect) p50",
            "ms",
            Repeated([percentile(o.page_ms, 50) for o, _e in outcomes]),
        )
    )
    report.add(
        Figure(
            "flash",
            "item page (scan + redirect) p99",
            "ms",
            Repeated([percentile(o.page_ms, 99) for o, _e in outcomes]),
        )
    )
    report.add(Figure("flash", "checkout p50", "ms", Repeated([percentile(o.checkout_ms, 50) for o, _e in outcomes])))
    report.add(
        Figure(
            "flash",
            "checkout p99",
            "ms",
            Repeated([percentile(o.checkout_ms, 99) for o, _e in outcomes]),
            target=500,
            target_kind="max",
        )
    )
    report.add(
        Figure("flash", f"{visitors} passers-by handled", "visitors/s", Repeated([visitors / e for _o, e in outcomes]))
    )
    # Checkout throughput while the crowd was there, next to the bare JSON view under the same concurrency.
    report.add(
        Figure(
            "flash",
            "checkout throughput vs bare JSON view",
            "req/s",
            Repeated([len(o.checkout_ms) / e for o, e in outcomes]),
            Repeated([c.throughput for c in ceilings]),
            "bare JSON view req/s",
            target=0.5,
            notes="ceiling: the bare view under ASGI on the same server (the WSGI ceiling is not measured yet)",
        )
    )
