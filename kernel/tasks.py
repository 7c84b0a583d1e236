"""Background work on django-q2 (decision: docs/tasks.md).

The queue is a table of our own database (django-q2's ORM broker): a task
enqueued inside a transaction exists exactly when that transaction commits,
so an email, a receipt or a transfer is never lost to a crash or to Redis
being down, and never sent for a change that was rolled back.

- ``@task(timeout=…)`` declares a function runnable in the background, with
  its time limit (django-q2 stops it with SIGALRM, then replaces the worker).
- ``task_enqueue(function, **kwargs)`` records one run, in the caller's
  transaction. Keyword arguments must be plain values (ids, strings).
- ``task_run`` is what the workers execute: a failure records the attempt
  (django-q2's "Failed tasks" in the admin, where an operator resubmits) and
  pushes the next attempt back exponentially (``TASK_BACKOFF_*``) until
  ``Q_CLUSTER["max_attempts"]``. A worker killed mid-task leaves the task
  locked until ``Q_CLUSTER["retry"]`` seconds, then another worker runs it:
  delivery is at least once, so every task is written to be safe to run twice.
- ``PERIODIC_JOBS`` become django-q2 schedules on ``migrate``
  (``schedules_sync``); the scheduler claims each due schedule with
  ``SELECT … FOR UPDATE``, so a job fires once across every worker and machine.
- ``task_at(function, at=…)`` asks for one run at a given time (at most one
  pending per function: the earliest wins); django-q2's scheduler looks every
  30 seconds.

With ``TASKS_EAGER`` (the test suite's default, never production's) a task
runs in the same process right after the caller's transaction commits, as a
worker would a moment later; tests of the engine itself start real workers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.module_loading import import_string

from kernel.sql import row_insert

logger = logging.getLogger(__name__)

F_ = TypeVar("F_", bound=Callable[..., Any])

RUNNER = "kernel.tasks.task_run"

# path → time limit in seconds, for every function declared with @task; and first retry delays.
_timeouts: dict[str, int] = {}
_backoffs: dict[str, int] = {}
# The task this worker process is running (django-q2's pre_execute signal): its id and queue row.
_current: dict[str, Any] = {}
_in_worker = False


def task_path(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def task(*, timeout: int, backoff: int | None = None) -> Callable[[F_], F_]:
    """Declare ``function`` a background task stopped after ``timeout`` seconds,
    whose failures wait ``backoff`` seconds (default TASK_BACKOFF_SECONDS), doubling."""
    if timeout <= 0:
        raise ImproperlyConfigured(f"task timeout {timeout} s must be positive")

    def declare(function: F_) -> F_:
        _timeouts[task_path(function)] = timeout
        if backoff is not None:
            _backoffs[task_path(function)] = backoff
        return function

    return declare


def task_timeout(path: str) -> int:
    """The time limit of the task at ``path`` (its defining module's path or any re-export),
    always shorter than Q_CLUSTER["retry"]: a task still running when its lock expires would
    be handed to a second worker."""
    if path not in _timeouts:
        function = import_string(path)  # importing declares it, if it is a task at all
        key = task_path(function)
        if key not in _timeouts:
            raise ImproperlyConfigured(f"{path} is not declared with @task")
        _timeouts[path] = _timeouts[key]
        if key in _backoffs:
            _backoffs[path] = _backoffs[key]
    return max(1, min(_timeouts[path], settings.Q_CLUSTER["retry"] - 5))


def task_enqueue(function: Callable[..., Any], /, **kwargs: Any) -> str | None:
    """Record ``function(**kwargs)`` to run in the background once the caller's transaction commits.

    Returns django-q2's task id (None in eager mode)."""
    if settings.TASKS_EAGER:
        if hasattr(function, "__qualname__"):  # a test's mock stands in for it otherwise
            task_timeout(task_path(function))
        transaction.on_commit(lambda: function(**kwargs), robust=True)
        return None
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if Conf.SYNC:  # django-q2 runs it at once (its own test mode): its async_task knows how
        from django_q.tasks import async_task

        path = task_path(function)
        options = {"timeout": task_timeout(path), "task_name": path, "group": path}
        return str(async_task(RUNNER, path, kwargs, q_options=options))
    # The queue row async_task writes (its package, its key, its lock), as one plain INSERT
    # (kernel.sql): a paid order queues three tasks in its transaction, and async_task's id
    # humanizing and the ORM's insert cost more than the write.
    task_id, key, payload = _package(function, kwargs)
    row_insert(OrmQ(key=key, payload=payload, lock=timezone.now()))
    return task_id


def task_package(function: Callable[..., Any], /, **kwargs: Any) -> tuple[str, str]:
    """The queue row (django-q2's ``OrmQ``: its ``key`` and signed ``payload``) that
    ``task_enqueue(function, **kwargs)`` would write, for a caller that writes it in one statement
    with its own row (payments.events.event_record). The package is the one django-q2's
    ``async_task`` builds (tests/test_tasks.py holds them equal), without the humanized name of its
    id, which ours never use (they are named by their path) and which cost a tenth of a webhook's
    time. Not in eager mode: there is no queue."""
    _task_id, key, payload = _package(function, kwargs)
    return key, payload


def _package(function: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[str, str, str]:
    """(task id, queue key, signed package) of one run of ``function(**kwargs)``."""
    if settings.TASKS_EAGER:
        raise ImproperlyConfigured("no queue rows in eager mode: use task_enqueue")
    path = task_path(function)
    from django_q.conf import Conf
    from django_q.signals import pre_enqueue
    from django_q.signing import SignedPackage

    package: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "name": path,
        "func": RUNNER,
        "args": (path, kwargs),
        "group": path,
        "timeout": task_timeout(path),
    }
    for key, value in (("cached", Conf.CACHED), ("sync", Conf.SYNC), ("ack_failure", Conf.ACK_FAILURES)):
        if value:
            package[key] = value
    package["kwargs"] = {}
    package["started"] = timezone.now()
    pre_enqueue.send(sender="django_q", task=package)
    return package["id"], settings.Q_CLUSTER["name"], SignedPackage.dumps(package)


def task_at(function: Callable[..., Any], /, *, at: datetime) -> None:
    """Run ``function()`` (no arguments) at ``at`` or up to 30 s after; one pending run per
    function, the earliest asked for. Eager mode: nothing (tests call the function)."""
    path = task_path(function)
    timeout = task_timeout(path)
    if settings.TASKS_EAGER:
        return
    from django_q.models import Schedule

    name = f"{path}@next"
    with transaction.atomic():
        if Schedule.objects.filter(name=name).update(next_run=Least(F("next_run"), at)):
            return
        Schedule.objects.create(
            name=name,
            func=RUNNER,
            args=repr((path, {}, True)),
            kwargs=repr({"q_options": {"timeout": timeout, "task_name": path, "ack_failure": True}}),
            schedule_type=Schedule.ONCE,
            repeats=-1,
            next_run=at,
        )


def task_run(path: str, kwargs: dict[str, Any], periodic: bool = False) -> Any:
    """Executed by a worker: run the declared task ``path`` with ``kwargs``.

    On failure the next attempt waits TASK_BACKOFF_SECONDS × 2^(attempts − 1),
    at most TASK_BACKOFF_MAX_SECONDS; a periodic job is not retried (its next
    run comes anyway)."""
    task_timeout(path)  # refuses anything not declared with @task
    function = import_string(path)
    try:
        return function(**kwargs)
    except BaseException:
        if not periodic:
            _retry_later(_backoffs.get(path, settings.TASK_BACKOFF_SECONDS))
        raise


def retry_delay(attempt: int, base: int) -> timedelta:
    """How long after failed attempt ``attempt`` (1 for the first) the next one comes."""
    seconds = base * 2 ** max(0, min(attempt - 1, 20))
    return timedelta(seconds=min(seconds, settings.TASK_BACKOFF_MAX_SECONDS))


def _retry_later(base: int) -> None:
    if not _current.get("ack_id"):
        return
    from django_q.models import OrmQ, Task

    try:
        done = Task.objects.filter(id=_current["id"]).values_list("attempt_count", flat=True).first() or 0
        OrmQ.objects.filter(pk=_current["ack_id"]).update(lock=timezone.now() + retry_delay(done + 1, base))
    except Exception:
        # The database is down too: the lock taken at delivery (Q_CLUSTER["retry"]) stands.
        logger.warning("tasks: could not push back the retry of %s", _current.get("id"), exc_info=True)


def task_started(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    """django-q2's pre_execute, in the worker process: remember which task runs."""
    global _in_worker
    _in_worker = True
    _current.clear()
    _current.update(id=task.get("id"), ack_id=task.get("ack_id"))


def in_worker() -> bool:
    """Is this process one of django-q2's workers (it has run a task)?"""
    return _in_worker


def schedules_sync(**kwargs: Any) -> None:
    """Make django-q2's schedules what settings.PERIODIC_JOBS says (post_migrate).

    Schedules an operator made in the admin are left alone; ours are the
    ones whose function is the runner and whose name is a job's path."""
    from django_q.models import Schedule

    wanted = dict(settings.PERIODIC_JOBS)
    ours = Schedule.objects.filter(func=RUNNER, schedule_type=Schedule.MINUTES)
    ours.exclude(name__in=list(wanted)).delete()
    for path, minutes in wanted.items():
        fields = {
            "func": RUNNER,
            "args": repr((path, {}, True)),
            "kwargs": repr({"q_options": {"timeout": task_timeout(path), "task_name": path, "ack_failure": True}}),
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        }
        updated = Schedule.objects.filter(name=path).update(**fields)
        if not updated:
            Schedule.objects.create(name=path, next_run=timezone.now(), **fields)
