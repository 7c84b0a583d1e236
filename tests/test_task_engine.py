"""The task engine itself (docs/tasks.md), on real workers: django-q2 clusters
started as the Procfile's ``worker`` line (tests/support/servers.py), not eager,
on the test database, sending mail to SMTP servers of the test's own
(tests/support/smtp.py).

The tests commit (``transaction=True``) so that the workers, other processes,
see what they record; each polls the database for the outcome with a deadline.
django-q2's scheduler looks at the schedules 30 s after a cluster starts, then
every 30 s: the tests that need a periodic job wait that long."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.db import connection, transaction
from django.utils import timezone
from django_q.admin import resubmit_task
from django_q.models import Failure, OrmQ, Schedule, Success, Task

from accounts.services import user_email_verification_send
from checkout.services import order_start
from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus, Reservation
from kernel.tasks import RUNNER, retry_delay, task_enqueue
from realtime import services as realtime_services
from realtime.events import BENCH_PING, ITEM_RELEASED
from realtime.hub import EVENTS_GROUP
from realtime.models import RealtimeEvent
from realtime.services import event_emit, events_relay_until_sent
from receipts.models import TaxReceipt
from tests.components import free_port, require
from tests.factories import CampaignFactory, ItemFactory, UserFactory
from tests.receipts_support import giver, paid_gift, pay, ready_campaign
from tests.support.redis_server import OwnRedis
from tests.support.servers import start_worker, stop_worker, task_workers
from tests.support.smtp import HangingSmtpServer, SmtpServer

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")

RECEIPT_SUBJECT = "Votre reçu fiscal n°"
THANKS_SUBJECT = "Merci pour votre don"


# --- Helpers ----------------------------------------------------------------------------------


def wait_for(condition: Callable[[], T], *, seconds: float, what: str, log: Path | None = None) -> T:
    """Poll ``condition`` until it returns something true; fail after ``seconds`` with the workers' log."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log is not None and log.exists() else ""
            raise AssertionError(f"timed out after {seconds} s waiting for {what}\n--- workers' log ---\n{tail}")
        time.sleep(0.1)


def worker_env(smtp_port: int, **extra: str) -> dict[str, str]:
    """Short timings: a dead worker's task comes back after 10 s, a failure after 1 s, then 2 s…"""
    return {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "false",
        "EMAIL_TIMEOUT": "2",
        "TASK_RETRY_SECONDS": "10",
        "TASK_BACKOFF_SECONDS": "1",
        **extra,
    }


def periodic_jobs_due() -> None:
    """Every periodic job due now: the first scheduler pass of each cluster fires them."""
    assert Schedule.objects.filter(func=RUNNER).count() == len(django_settings.PERIODIC_JOBS)
    Schedule.objects.filter(func=RUNNER).update(next_run=timezone.now() - timedelta(seconds=1))


def hold_expired(item: Item, email: str) -> Order:
    """A real hold (order_start), its time over."""
    order = order_start(item_id=item.pk, email=email)
    past = timezone.now() - timedelta(seconds=5)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    Reservation.objects.filter(order=order).update(expires_at=past)
    return order


def kill_cluster(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the whole cluster (guard, pusher, monitor, workers), as a machine lost."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # its workers, children of its guard, go a moment later
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@pytest.fixture
def recorded(settings: Any) -> None:
    """Tasks recorded in the queue table as production does, for the workers (not run in this process)."""
    settings.TASKS_EAGER = False


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "workers.log"


class EventListener:
    """A subscriber to the hub group (what every web process listens to): counts each event it receives."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.received: Counter[int] = Counter()
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    def __enter__(self) -> EventListener:
        self._thread.start()
        assert self._ready.wait(10), "the listener did not subscribe"
        time.sleep(0.5)  # the SUBSCRIBE reaches Redis
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    async def _listen(self) -> None:
        from channels_redis.pubsub import RedisPubSubChannelLayer

        layer = RedisPubSubChannelLayer(hosts=[self.redis_url])
        channel = await layer.new_channel()
        await layer.group_add(EVENTS_GROUP, channel)
        self._ready.set()
        try:
            while not self._stopping.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
                except TimeoutError:
                    continue
                self.received[int(message["id"])] += 1
        finally:
            await layer.flush()


# --- 1. Two clusters over one backlog: each effect once ----------------------------------------


def test_two_clusters_over_one_backlog_publish_release_and_receipt_everything_exactly_once(
    recorded: None, own_redis: OwnRedis, smtp: SmtpServer, log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    campaign = ready_campaign()
    env = worker_env(smtp.port, REDIS_URL=own_redis.url, TASK_RETRY_SECONDS="30")
    with EventListener(own_redis.url) as listener:
        # 20 paid gifts: each payment recorded its thanks email and its receipt's issuing.
        gifts = [paid_gift(campaign, user=giver(email=f"giver{n}@example.org")) for n in range(20)]
        assert not TaxReceipt.objects.exists() and not smtp.accepted
        # No periodic job until the backlog is whole; django-q2's scheduler first looks 30 s
        # after a cluster starts: the clusters start now, while the rest of the backlog is made.
        Schedule.objects.filter(func=RUNNER).update(next_run=timezone.now() + timedelta(hours=1))
        with task_workers(2, env=env, log=log):
            # 100 real holds, expired.
            items = ItemFactory.create_batch(100, campaign=campaign)
            orders = [hold_expired(item, f"buyer{n}@example.org") for n, item in enumerate(items)]
            # 300 events committed while the channel layer fails: none published. The failure
            # records a relay task; a second web process, failing too, records another: both
            # relays work through the same backlog at once.
            with monkeypatch.context() as patch:
                patch.setattr(realtime_services, "run_in_server_loop", _layer_down)
                patch.setattr(realtime_services, "_relay_asked_at", -1e9)
                with transaction.atomic():
                    backlog = [
                        event_emit(type=BENCH_PING, public={"bench": True, "sent_ns": str(n)}, campaigns=[campaign.pk])
                        for n in range(300)
                    ]
                assert RealtimeEvent.objects.filter(pk__in=[e.pk for e in backlog], published_at=None).count() == 300
                assert OrmQ.objects.count() >= 1  # the first relay task, recorded by the failed publish
                task_enqueue(events_relay_until_sent)
            periodic_jobs_due()
            due = time.monotonic()

            def all_done() -> bool:
                return (
                    not RealtimeEvent.objects.filter(published_at=None).exists()
                    and not Order.objects.filter(status=PaymentStatus.PENDING).exists()
                    and TaxReceipt.objects.filter(emailed_at__isnull=False).count() >= 20
                    and len([m for m in smtp.accepted if THANKS_SUBJECT in m.subject]) >= 20
                )

            wait_for(all_done, seconds=50, what="the backlog handled", log=log)
            time.sleep(2)  # room for a duplicate to show
        elapsed = time.monotonic() - due

    # Every event (the 300, the releases, the gifts') reached the hub once.
    events = dict(RealtimeEvent.objects.values_list("id", "type"))
    assert not RealtimeEvent.objects.filter(published_at=None).exists()
    duplicates = {pk: n for pk, n in listener.received.items() if n != 1}
    assert duplicates == {}
    assert set(listener.received) == set(events)
    # Each hold released once.
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        PaymentStatus.EXPIRED
    }
    assert set(Reservation.objects.values_list("status", flat=True)) == {Reservation.Status.RELEASED}
    item_statuses = Item.objects.filter(pk__in=[i.pk for i in items]).values_list("status", flat=True)
    assert set(item_statuses) == {ItemStatus.LISTED}
    released = Counter(RealtimeEvent.objects.filter(type=ITEM_RELEASED).values_list("public__item", flat=True))
    assert released == Counter({item.pk: 1 for item in items})
    # Each receipt issued once, numbered without a gap, emailed once; each thanks email once.
    receipts = TaxReceipt.objects.filter(organisation=campaign.organisation)
    assert sorted(receipts.values_list("sequence", flat=True)) == list(range(1, 21))
    assert receipts.count() == 20 and not receipts.filter(emailed_at=None).exists()
    receipt_mails = Counter(m.subject for m in smtp.accepted if RECEIPT_SUBJECT in m.subject)
    assert len(receipt_mails) == 20 and set(receipt_mails.values()) == {1}
    thanks = Counter(m.recipients[0] for m in smtp.accepted if THANKS_SUBJECT in m.subject)
    assert thanks == Counter({gift.email: 1 for gift in gifts})
    assert Gift.objects.filter(pk__in=[g.pk for g in gifts], status=PaymentStatus.PAID).count() == 20
    # Each periodic job fired once per period across both clusters.
    for path, minutes in django_settings.PERIODIC_JOBS:
        runs = Task.objects.filter(name=path).count()
        assert runs >= 1, f"{path} never ran"
        assert runs <= 1 + int(elapsed // (60 * minutes)), f"{path} ran {runs} times in {elapsed:.0f} s"
    assert not Failure.objects.exists(), list(Failure.objects.values_list("name", "result"))


def _layer_down(*args: Any, **kwargs: Any) -> None:
    raise ConnectionError("channel layer down (test)")


# --- 2. A worker killed during an email --------------------------------------------------------


def test_a_cluster_killed_while_the_smtp_server_holds_an_email_sends_it_after_a_restart(
    recorded: None, smtp: SmtpServer, log: Path
) -> None:
    item = ItemFactory(campaign=CampaignFactory())
    order = order_start(item_id=item.pk, email="buyer@example.org")
    smtp.hold_data.set()
    pay(order)  # records the buyer's confirmation email, with the payment
    env = worker_env(smtp.port)

    first = start_worker(redis=False, env=env, log=log)
    try:
        held = lambda: [m for m in smtp.arrived if "buyer@example.org" in m.recipients]  # noqa: E731
        wait_for(held, seconds=40, what="the email's DATA", log=log)
        kill_cluster(first)
    finally:
        stop_worker(first)
    smtp.hold_data.clear()
    smtp.released.set()
    time.sleep(0.5)
    assert smtp.accepted_to("buyer@example.org") == []  # its sender died before our 250
    assert OrmQ.objects.exists()  # the task is still in the queue, locked for TASK_RETRY_SECONDS
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID

    with task_workers(1, redis=False, env=env, log=log):
        sent = wait_for(lambda: smtp.accepted_to("buyer@example.org"), seconds=40, what="the email sent", log=log)
    assert len(sent) == 1 and item.title in sent[0].subject
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID


# --- 3. A hanging SMTP server ------------------------------------------------------------------


def test_a_hanging_smtp_server_times_out_retries_and_leaves_other_tasks_running(recorded: None, log: Path) -> None:
    port = free_port()
    hanging = HangingSmtpServer(port)
    working: SmtpServer | None = None
    try:
        gift = paid_gift(ready_campaign(), user=giver())  # records its thanks email and its receipt's issuing
        thanks = Task.objects.filter(name="checkout.emails.gift_thanks_send")
        # One worker: a task stuck on the SMTP server would stall everything behind it.
        env = worker_env(port, TASK_WORKERS="1", TASK_RETRY_SECONDS="30")
        with task_workers(1, redis=False, env=env, log=log):
            # The receipt is issued (not an email) while the emails time out and come back.
            wait_for(lambda: TaxReceipt.objects.filter(lines__gift=gift).exists(), seconds=40, what="receipt", log=log)
            wait_for(
                lambda: thanks.filter(attempt_count__gte=2, success=False).exists(), seconds=30, what="retry", log=log
            )
            assert hanging.connections >= 2
            assert "timed out" in (thanks.get().result or "")
            assert TaxReceipt.objects.get().emailed_at is None
            hanging.stop()
            working = SmtpServer(port)
            wait_for(
                lambda: (
                    TaxReceipt.objects.filter(emailed_at__isnull=False).exists()
                    and thanks.filter(success=True).exists()
                ),
                seconds=40,
                what="both emails",
                log=log,
            )
            time.sleep(1)
        assert len(working.accepted_to(gift.email)) == 2
        assert {THANKS_SUBJECT in m.subject for m in working.accepted} == {True, False}
    finally:
        hanging.stop()
        if working is not None:
            working.stop()


# --- 4. Redis down while a checkout commits ----------------------------------------------------


def test_a_checkout_committed_while_redis_is_down_gets_its_email(
    recorded: None, own_redis: OwnRedis, smtp: SmtpServer, log: Path
) -> None:
    item = ItemFactory(campaign=CampaignFactory())
    own_redis.stop()
    order = order_start(item_id=item.pk, email="buyer@example.org")
    pay(order)
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID
    assert RealtimeEvent.objects.filter(published_at=None).exists()  # nothing reached the layer

    with task_workers(1, env=worker_env(smtp.port, REDIS_URL=own_redis.url), log=log):
        sent = wait_for(lambda: smtp.accepted_to("buyer@example.org"), seconds=40, what="the email", log=log)
        assert item.title in sent[0].subject
        # Redis back: the relay recorded with the failed publish sends what waited.
        own_redis.start()
        wait_for(
            lambda: not RealtimeEvent.objects.filter(published_at=None).exists(),
            seconds=30,
            what="events relayed",
            log=log,
        )
    assert len(smtp.accepted_to("buyer@example.org")) == 1


# --- 5. The embedded defaults: SQLite, one cluster ---------------------------------------------


def test_on_sqlite_one_cluster_sends_a_recorded_email_and_runs_a_periodic_job(
    recorded: None, smtp: SmtpServer, log: Path
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the embedded defaults' test runs on SQLite")
    user = UserFactory(email="new@example.org", email_verified_at=None)
    with transaction.atomic():
        user_email_verification_send(user=user)
    order = hold_expired(ItemFactory(campaign=CampaignFactory()), "buyer@example.org")
    periodic_jobs_due()

    with task_workers(1, redis=False, env=worker_env(smtp.port), log=log):
        sent = wait_for(lambda: smtp.accepted_to("new@example.org"), seconds=30, what="the email", log=log)
        wait_for(
            lambda: Order.objects.get(pk=order.pk).status == PaymentStatus.EXPIRED,
            seconds=50,
            what="the periodic release",
            log=log,
        )
    assert "confirmez votre adresse" in sent[0].subject
    assert Success.objects.filter(name="checkout.services.reservations_release_expired").exists()
    assert Item.objects.get(pk=order.lines.get().item_id).status == ItemStatus.LISTED
    # In-memory layer: the worker leaves its events to the web process, which relays them.
    assert RealtimeEvent.objects.get(type=ITEM_RELEASED).published_at is None


# --- 6. A failing task: the admin's failed tasks, backoff, resubmit -----------------------------


def test_a_failing_task_backs_off_exponentially_shows_in_failed_tasks_and_runs_again_when_resubmitted(
    recorded: None, smtp: SmtpServer, log: Path
) -> None:
    smtp.refuse = True
    user = UserFactory(email="new@example.org", email_verified_at=None)
    with transaction.atomic():
        user_email_verification_send(user=user)
    path = "accounts.services.verification_email_send"
    attempts = Task.objects.filter(name=path)
    env = worker_env(smtp.port, TASK_BACKOFF_SECONDS="2", TASK_MAX_ATTEMPTS="3")

    with task_workers(1, redis=False, env=env, log=log):
        for attempt in (1, 2):
            task = wait_for(attempts.filter(attempt_count=attempt).first, seconds=20, what="a failure", log=log)
            lock = OrmQ.objects.get().lock
            assert task.stopped is not None
            wanted = retry_delay(attempt, 2)
            assert abs((lock - task.stopped) - wanted) < timedelta(seconds=0.5), (attempt, lock - task.stopped)
        wait_for(lambda: attempts.filter(attempt_count=3).exists() and not OrmQ.objects.exists(), seconds=20, what="3")
        failure = Failure.objects.get(name=path)
        assert "550" in failure.result
        assert smtp.accepted == []

        smtp.refuse = False
        resubmit_task(admin.site._registry[Failure], None, Failure.objects.filter(pk=failure.pk))
        sent = wait_for(lambda: smtp.accepted_to("new@example.org"), seconds=20, what="the resubmitted", log=log)
    assert len(sent) == 1
    assert not Failure.objects.exists()


# --- Stopping ---------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(_children(current))
    return found


@pytest.mark.django_db(transaction=True)
def test_a_sigterm_to_every_process_of_the_cluster_at_once_stops_it(tmp_path: Path) -> None:
    """systemd's default KillMode, a container's stop, a terminal's Ctrl-C: every process gets
    the signal. django-q2's own main process then waits for ever for its dead guard; ours
    (kernel/management/commands/qcluster.py) sees the guard gone and exits."""
    log = tmp_path / "workers.log"
    process = start_worker(redis=False, log=log)
    try:
        # main → guard → pusher, monitor, workers: the whole tree is up.
        wait_for(lambda: len(_tree(process.pid)) >= 5, seconds=30, what="the cluster's processes", log=log)
        tree = _tree(process.pid)

        os.killpg(process.pid, signal.SIGTERM)

        wait_for(lambda: process.poll() is not None, seconds=10, what="the main process to exit", log=log)
        wait_for(
            lambda: not any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in tree),
            seconds=10,
            what="every process of the cluster to be gone",
            log=log,
        )
    finally:
        stop_worker(process, timeout=5)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is gone, waiting for its parent's wait
