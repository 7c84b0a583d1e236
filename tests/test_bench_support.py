from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client

from bench.harness import Figure, Repeated, percentile

pytestmark = pytest.mark.django_db


@contextmanager
def recording_server(status_for: Callable[[bytes], int]) -> Iterator[tuple[str, list[tuple[str, Any, bytes]]]]:
    """A local HTTP server for wrk's tests: its address and each POST it received (path, headers, body),
    answered with ``status_for(body)``."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posts: list[tuple[str, Any, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((self.path, self.headers, body))
            self.send_response(status_for(body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posts
    finally:
        server.shutdown()
        server.server_close()


def test_bench_routes_are_absent_unless_switched_on(client: Client) -> None:
    assert client.get("/__bench__/ping").status_code == 404
    assert client.post("/__bench__/emit?ids=1").status_code == 404
    assert client.post("/__bench__/reserve/1/").status_code == 404


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


def test_baskets_of_the_bench_are_disjoint_three_items_of_two_organisations() -> None:
    from bench.scenarios.basket import baskets_of

    first, second = list(range(100, 120)), list(range(200, 210))
    baskets = baskets_of(first, second, 10)
    assert len(baskets) == 10 and all(len(items) == 3 for items in baskets)
    assert all(len(set(items) & set(first)) == 2 and len(set(items) & set(second)) == 1 for items in baskets)
    every = [pk for items in baskets for pk in items]
    assert len(every) == len(set(every))


def test_wrk_adds_the_members_after_a_tab_to_each_post_body_with_its_own_email() -> None:
    """The basket load's bodies, as the server receives them from wrk's script."""
    from bench import wrk

    if not wrk.available():
        pytest.skip("wrk is not installed")
    with recording_server(lambda _body: 201) as (url, posts):
        lines = ['/api/orders/\t"items": [1, 2, 3]', '/api/orders/\t"items": [4, 5, 6]', "/api/items/7/checkout/"]
        result = wrk.wrk(url, lines, seconds=1, connections=1, method="POST", seed=3)
    received = [(path, json.loads(body), headers["X-Forwarded-For"]) for path, headers, body in posts]

    # wrk may leave the last request unanswered when its time is up.
    assert len(received) - 1 <= result.created <= len(received) and result.server_errors == 0
    bodies = {path: [body for p, body, _address in received if p == path] for path, _body, _address in received}
    assert {tuple(body["items"]) for body in bodies["/api/orders/"]} == {(1, 2, 3), (4, 5, 6)}  # type: ignore[arg-type]
    assert all(set(body) == {"email"} for body in bodies["/api/items/7/checkout/"])
    emails = [body["email"] for _path, body, _address in received]
    addresses = [address for _path, _body, address in received]
    assert len(set(emails)) == len(emails) and len(set(addresses)) == len(addresses)


def test_ceiling_d_holds_an_item_once_with_the_rows_a_checkout_writes() -> None:
    """The essential work of a checkout (tremma/bench.py ``reserve``) writes what a reservation needs and
    refuses an item already held: the ceiling does the same work as the checkout it is compared with."""
    from django.test import RequestFactory

    from donations.models import Fulfilment, Item, ItemStatus, Order, OrderLine, Reservation
    from realtime.models import EventStream, RealtimeEvent
    from tests.factories import ItemFactory
    from tremma.bench import reserve

    item = ItemFactory(status=ItemStatus.LISTED, price_cents=1_250)
    answer = reserve(RequestFactory().post(f"/__bench__/reserve/{item.pk}/"), pk=item.pk)
    assert answer.status_code == 201
    assert Item.objects.get(pk=item.pk).status == ItemStatus.RESERVED
    order = Order.objects.get()
    assert order.amount_cents == 1_250 and order.status == "pending"
    fulfilment = Fulfilment.objects.get(order=order)
    assert fulfilment.organisation_id == item.campaign.organisation_id and len(fulfilment.claim_token) > 20
    line = OrderLine.objects.get(order=order)
    assert (line.item_id, line.campaign_id, line.fulfilment_id) == (item.pk, item.campaign_id, fulfilment.pk)
    assert Reservation.objects.get(order=order).item_id == item.pk
    event = RealtimeEvent.objects.get()
    assert event.type == "item.reserved" and event.public["item"] == item.pk
    assert set(EventStream.objects.filter(event=event).values_list("stream", flat=True)) == {
        f"item.{item.pk}",
        f"campaign.{item.campaign_id}",
        f"org.{item.campaign.organisation_id}",
    }
    again = reserve(RequestFactory().post(f"/__bench__/reserve/{item.pk}/"), pk=item.pk)
    assert again.status_code == 409
    assert Order.objects.count() == 1 and Reservation.objects.count() == 1


def test_wrk_posts_prepared_requests_in_order_with_their_header_and_counts_the_2xx() -> None:
    """The webhooks' load: each line's header value and body reach the server as prepared."""
    from bench import wrk

    if not wrk.available():
        pytest.skip("wrk is not installed")
    prepared = [(f"t=1,v1=sig{n}", f'{{"n": {n}}}'.encode()) for n in range(3)]
    with recording_server(lambda body: 503 if body == b'{"n": 2}' else 200) as (base, posts):
        url = f"{base}/payments/stripe/webhook/"
        result = wrk.wrk_prepared(url, prepared, header="Stripe-Signature", seconds=1, connections=1)
    received = [(path, headers["Stripe-Signature"], body) for path, headers, body in posts]

    assert len(received) >= 3 and {path for path, _value, _body in received} == {"/payments/stripe/webhook/"}
    # In order, cycling (wrk asks the script for one request it does not send before the first it sends).
    order = [prepared.index((value, body)) for _path, value, body in received]
    assert all(later == (earlier + 1) % 3 for earlier, later in itertools.pairwise(order))
    answered_2xx = sum(1 for _path, _value, body in received if body != b'{"n": 2}')
    assert answered_2xx - 1 <= result.created <= answered_2xx and result.server_errors >= 1
    with pytest.raises(ValueError, match="one line"):
        wrk.wrk_prepared(url, [("a\tb", b"{}")], header="X", seconds=1)
    with pytest.raises(ValueError, match="one line"):
        wrk.wrk_prepared(url, [("a", b"{\n}")], header="X", seconds=1)


def test_the_webhooks_load_sends_each_event_twice_signed_as_stripe_signs() -> None:
    """bench/scenarios/webhooks.py: each event twice (its replays after each chunk of first
    deliveries), each signature one the webhook accepts."""
    from django.test import override_settings

    from bench.scenarios import webhooks
    from payments import stripe_gateway

    events = [
        {"id": f"evt_{n}", "object": "event", "type": "customer.created", "data": {"object": {}}} for n in range(7)
    ]
    sent = webhooks.deliveries(events, chunk=3)
    ids = [json.loads(body)["id"] for _signature, body in sent]
    assert ids == ["evt_0", "evt_1", "evt_2"] * 2 + ["evt_3", "evt_4", "evt_5"] * 2 + ["evt_6"] * 2
    with override_settings(STRIPE_WEBHOOK_SECRET=webhooks.SECRET):
        for signature, body in sent:
            assert stripe_gateway.webhook_event(payload=body, signature=signature).id in ids


@pytest.mark.django_db(transaction=True)
def test_a_flash_crowds_phone_scans_reads_buys_and_pays_the_next_is_refused(live_server: Any, settings: Any) -> None:
    """The crowd's phones (aiohttp) against a real server: the scan's redirect followed to the item's page,
    the checkout's JSON, the demo payment page's form with the phone's own CSRF cookie."""
    import asyncio
    from types import SimpleNamespace

    from bench.scenarios.flash import Outcome, passer_by, window_of_fifty
    from donations.models import Item, ItemStatus
    from tests.factories import CampaignFactory

    # By address, as the bench's servers are (a cookie jar refuses an address's cookies unless told).
    url = live_server.url.replace("localhost", "127.0.0.1")
    settings.SITE_URL = url  # where the checkout sends the phone to pay
    CampaignFactory()
    _window, cards = window_of_fifty()
    code, item_id = cards[0]
    server, outcome = SimpleNamespace(url=url), Outcome()
    for n in (1, 2):
        asyncio.run(passer_by(n, server, code, outcome, delay=0))  # type: ignore[arg-type]
    assert (outcome.reserved, outcome.paid, outcome.refused) == (1, 1, 1)
    assert outcome.server_errors == outcome.dropped == 0 and not outcome.other
    assert len(outcome.page_ms) == len(outcome.checkout_ms) == 2
    assert Item.objects.get(pk=item_id).status == ItemStatus.SOLD


@pytest.mark.django_db(transaction=True)
def test_a_basket_crowds_phone_buys_three_objects_and_pays_the_next_basket_is_refused(
    live_server: Any, settings: Any
) -> None:
    """The basket crowd's phones (aiohttp, as the flash crowd's) against a real server: the order's
    JSON, the demo payment page's form with the phone's own CSRF cookie; a basket overlapping it
    is refused whole."""
    import asyncio
    from types import SimpleNamespace

    from bench.scenarios.basket import Outcome, buyer, listed_items
    from donations.models import Item, ItemStatus
    from tests.factories import CampaignFactory, OrganisationFactory

    url = live_server.url.replace("localhost", "127.0.0.1")
    settings.SITE_URL = url
    CampaignFactory(status="live")
    CampaignFactory(status="live", organisation=OrganisationFactory())
    first, second = listed_items(2, 1)
    basket = [*first, *second]
    server, outcome = SimpleNamespace(url=url), Outcome()
    for n in (1, 2):
        asyncio.run(buyer(n, server, basket, outcome, delay=0))  # type: ignore[arg-type]
    assert (outcome.baskets, outcome.paid_baskets, outcome.paid_items, outcome.refused) == (1, 1, 3, 1)
    assert outcome.server_errors == outcome.dropped == 0 and not outcome.other
    assert set(Item.objects.filter(pk__in=basket).values_list("status", flat=True)) == {ItemStatus.SOLD}


def test_a_step_is_timed_while_the_block_runs_and_put_back_after() -> None:
    import types

    from bench import steps

    module = types.ModuleType("steps_probe")

    def work(n: int) -> int:
        return sum(range(n))

    module.work = work  # type: ignore[attr-defined]
    sys.modules["steps_probe"] = module
    holder = types.ModuleType("steps_holder")  # a module that imported it by name
    holder.work = work  # type: ignore[attr-defined]
    sys.modules["steps_holder"] = holder
    try:
        with steps.timed([("steps_probe", "work")]) as spent:
            assert module.work(200_000) == holder.work(10) + sum(range(10, 200_000))  # type: ignore[attr-defined]
        assert spent["steps_probe.work"] > 0
        assert module.work is work and holder.work is work  # type: ignore[attr-defined]
    finally:
        del sys.modules["steps_probe"], sys.modules["steps_holder"]


@pytest.mark.django_db
def test_the_steps_of_a_checkout_and_d_are_measured_in_one_process(settings: Any) -> None:
    from rest_framework.views import APIView

    from bench import steps
    from bench.scenarios.flash import checkout_items
    from donations.models import Item, ItemStatus, Order
    from tests.factories import CampaignFactory

    settings.ROOT_URLCONF = "tests.bench_urls"
    CampaignFactory(status="live")
    checkouts, reserves = checkout_items(8), checkout_items(8)
    dispatch = APIView.__dict__["dispatch"]
    figures = steps.measure(checkouts=checkouts, reserves=reserves, pings=8, warm=2)
    assert APIView.__dict__["dispatch"] is dispatch  # every step put back
    assert figures["checkout_ms"] > figures["steps_ms"]["checkout.services.orders.order_start"] > 0
    assert figures["reserve_ms"] > 0 and figures["ping_ms"] > 0
    assert {"kernel.sql.rows_select", "payments.demo_gateway.DemoGateway.checkout_create"} <= set(figures["steps_ms"])
    assert Item.objects.filter(pk__in=[*checkouts, *reserves], status=ItemStatus.RESERVED).count() == 16
    assert Order.objects.count() == 16
    assert "checkout / (d) by CPU" in steps.table(figures)
