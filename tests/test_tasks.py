"""kernel/tasks.py in the web process, as production runs it (not eager): what a change
records, the retry policy, one-off runs, and the password-reset email leaving the request.
The engine's own workers are exercised in tests/test_task_engine.py."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.signing import SignedPackage

from kernel import tasks
from kernel.tasks import RUNNER, retry_delay, task, task_at, task_enqueue, task_run, task_started, task_timeout
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CALLS: list[dict[str, Any]] = []


@task(timeout=20)
def noted(**kwargs: Any) -> None:
    CALLS.append(kwargs)


@task(timeout=20, backoff=7)
def failing() -> None:
    raise RuntimeError("the provider is down")


def undeclared() -> None:  # not a task
    pass


@pytest.fixture
def engine(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TASKS_EAGER = False
    CALLS.clear()
    # task_started marks this process a worker: undone after each test (the web publishes events).
    monkeypatch.setattr(tasks, "_in_worker", False)
    monkeypatch.setattr(tasks, "_current", {})


def queued() -> list[dict[str, Any]]:
    return [SignedPackage.loads(row.payload) for row in OrmQ.objects.order_by("id")]


def test_a_task_is_recorded_in_the_callers_transaction_and_gone_with_its_rollback(engine: None) -> None:
    def change_that_fails() -> None:
        with transaction.atomic():
            task_enqueue(noted, order_id=1)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        change_that_fails()
    assert OrmQ.objects.count() == 0

    with transaction.atomic():
        task_enqueue(noted, order_id=2)
    [package] = queued()
    assert package["func"] == RUNNER
    assert package["args"] == ("tests.test_tasks.noted", {"order_id": 2})
    assert package["timeout"] == 20
    assert CALLS == []  # nothing ran in the request

    task_run(*package["args"])
    assert CALLS == [{"order_id": 2}]


def test_only_declared_functions_are_tasks(engine: None, settings: Any) -> None:
    with pytest.raises(ImproperlyConfigured):
        task_enqueue(undeclared)
    with pytest.raises(ImproperlyConfigured):
        task_run("os.system", {"command": "true"})  # a forged queue row runs nothing undeclared
    settings.TASKS_EAGER = True
    with pytest.raises(ImproperlyConfigured):
        task_enqueue(undeclared)


def test_a_time_limit_always_ends_before_the_lock_given_to_the_worker(settings: Any) -> None:
    assert task_timeout("tests.test_tasks.noted") == 20
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "retry": 12}
    assert task_timeout("tests.test_tasks.noted") == 7  # never handed to a second worker while still running


def test_the_delay_between_attempts_doubles_up_to_its_ceiling(settings: Any) -> None:
    settings.TASK_BACKOFF_MAX_SECONDS = 600
    assert [retry_delay(n, 30).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]
    assert retry_delay(10_000, 30).total_seconds() == 600


def test_a_failed_attempt_pushes_its_next_delivery_back(engine: None) -> None:
    task_enqueue(failing)
    row = OrmQ.objects.get()
    task_started(sender="django_q", func=None, task={"id": "t-1", "ack_id": row.pk})
    before = timezone.now()

    with pytest.raises(RuntimeError):
        task_run("tests.test_tasks.failing", {})

    row.refresh_from_db()
    assert before + timedelta(seconds=6) < row.lock <= timezone.now() + timedelta(seconds=7)
    assert tasks.in_worker()


def test_a_failed_periodic_run_is_not_retried_its_next_run_comes_anyway(engine: None) -> None:
    task_enqueue(failing)
    row = OrmQ.objects.get()
    lock = row.lock
    task_started(sender="django_q", func=None, task={"id": "t-2", "ack_id": row.pk})

    with pytest.raises(RuntimeError):
        task_run("tests.test_tasks.failing", {}, True)

    row.refresh_from_db()
    assert row.lock == lock


def test_a_one_off_run_keeps_the_earliest_time_asked_for(engine: None) -> None:
    soon = timezone.now() + timedelta(seconds=40)
    task_at(noted, at=soon + timedelta(seconds=30))
    task_at(noted, at=soon)
    task_at(noted, at=soon + timedelta(seconds=50))

    [planned] = Schedule.objects.filter(name="tests.test_tasks.noted@next")
    assert planned.next_run == soon and planned.schedule_type == Schedule.ONCE and planned.func == RUNNER


def test_the_password_reset_email_leaves_the_request_and_its_link_works(engine: None) -> None:
    UserFactory(email="zoe@example.org")

    response = Client().post("/comptes/mot-de-passe/", {"email": "zoe@example.org"})

    assert response.status_code == 302
    assert mail.outbox == []  # the request only recorded it
    [package] = queued()
    path, kwargs = package["args"]
    assert path == "accounts.services.password_reset_email_send"
    assert "token" not in kwargs and "uid" not in kwargs  # the link's secret is made by the task, never stored
    task_run(path, kwargs)
    [message] = mail.outbox
    assert message.to == ["zoe@example.org"]
    link = re.search(r"https?://\S+/comptes/mot-de-passe/\S+/", message.body)
    assert link is not None
    follow = Client().get(link.group(0).split("testserver", 1)[-1])
    assert follow.status_code == 302  # Django hides the token behind its set-password page
    assert Client().get(follow["Location"]).status_code == 200


def test_a_hold_expiring_before_the_next_minute_gets_a_release_run_at_its_expiry(engine: None) -> None:
    from rest_framework.test import APIClient

    from checkout.services import reservations_release_expired
    from donations.models import Reservation
    from tests.factories import ItemFactory

    api = APIClient()
    soon, later = ItemFactory(), ItemFactory()
    for item, email in ((soon, "a@example.org"), (later, "b@example.org")):
        response = api.post(f"/api/items/{item.pk}/checkout/", {"email": email}, format="json")
        assert response.status_code == 201
    expiry = timezone.now() + timedelta(seconds=50)
    Reservation.objects.filter(item=soon).update(expires_at=expiry)
    Reservation.objects.filter(item=later).update(expires_at=timezone.now() + timedelta(minutes=20))

    assert reservations_release_expired() == 0

    [planned] = Schedule.objects.filter(name="checkout.services.orders.reservations_release_expired@next")
    assert planned.next_run == expiry  # django-q2's scheduler runs it at most 30 s later

    Schedule.objects.all().delete()
    Reservation.objects.filter(item=soon).update(expires_at=timezone.now() + timedelta(minutes=10))
    reservations_release_expired()
    assert not Schedule.objects.exists()  # the minute schedule will come before that one expires


def test_a_package_built_for_a_callers_own_statement_is_the_one_django_q2_builds(engine: None) -> None:
    """kernel.tasks.task_package builds the queue row's payload itself (django-q2's async_task
    humanizes each id, a tenth of a webhook's time): the same package, but for its id and time."""
    from django_q.tasks import async_task

    class Kept:
        list_key = "tremma"
        package = ""

        def enqueue(self, package: str) -> str:
            self.package = package
            return "kept"

    kept = Kept()
    path = "tests.test_tasks.noted"
    async_task(
        RUNNER, path, {"order_id": 3}, q_options={"timeout": 20, "task_name": path, "group": path, "broker": kept}
    )
    theirs = SignedPackage.loads(kept.package)
    key, payload = tasks.task_package(noted, order_id=3)
    ours = SignedPackage.loads(payload)

    assert key == "tremma"
    assert set(ours) == set(theirs)
    assert {k: v for k, v in ours.items() if k not in {"id", "started"}} == {
        k: v for k, v in theirs.items() if k not in {"id", "started"}
    }
    assert len(ours["id"]) == len(theirs["id"]) == 32 and ours["id"] != theirs["id"]
    task_run(*ours["args"])
    assert CALLS == [{"order_id": 3}]


def test_a_task_is_one_insert_of_the_row_django_q2s_broker_hands_to_a_worker(
    engine: None, django_assert_num_queries: Any
) -> None:
    """task_enqueue writes the queue row itself (kernel.sql): one INSERT, the key, lock and signed
    package django-q2's ORM broker writes, dequeued by its broker as its own."""
    from django_q.brokers import get_broker

    with django_assert_num_queries(1) as captured:
        task_id = task_enqueue(noted, order_id=7)
    assert captured.captured_queries[0]["sql"].startswith('INSERT INTO "django_q_ormq"')
    row = OrmQ.objects.get()
    assert row.key == "tremma" and row.lock <= timezone.now()
    [(ack, payload)] = get_broker().dequeue()
    assert ack == row.pk
    package = SignedPackage.loads(payload)
    assert package["id"] == task_id and len(task_id) == 32
    assert package["args"] == ("tests.test_tasks.noted", {"order_id": 7})
    assert (package["name"], package["group"], package["timeout"]) == ("tests.test_tasks.noted",) * 2 + (20,)
    task_run(*package["args"])
    assert CALLS == [{"order_id": 7}]


def test_django_q2s_own_sync_mode_still_runs_a_task_at_once(engine: None) -> None:
    from django_q.conf import Conf

    original = Conf.SYNC
    Conf.SYNC = True
    try:
        task_enqueue(noted, order_id=8)
    finally:
        Conf.SYNC = original
    assert CALLS == [{"order_id": 8}]
    assert not OrmQ.objects.exists()
