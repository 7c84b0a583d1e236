"""tremma/postgresql: Django's health check of a kept connection (a SELECT 1 round trip before
its first query of a request) is skipped for a connection vouched for a moment ago, and asked
of one idle longer, which is replaced when PostgreSQL dropped it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, connections

from tests.components import require

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings: Any) -> Any:
    """A connection of its own (the test's is inside its transaction), kept between requests."""
    require("postgres", connection.vendor == "postgresql", "the backend is PostgreSQL's")
    settings.DB_HEALTH_CHECK_AFTER_SECONDS = 2
    own = connections.create_connection("default")
    own.settings_dict = {**own.settings_dict, "CONN_MAX_AGE": 600}  # kept, as in production
    own.health_check_enabled = True
    yield own
    own.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(own: Any) -> int:
    """What a request does with the connection (Django's signals around it, then a query); returns
    the backend's process id."""
    own.close_if_unusable_or_obsolete()  # request_started
    with own.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    own.close_if_unusable_or_obsolete()  # request_finished
    return pid


def test_a_connection_that_answered_a_moment_ago_is_not_asked_again(kept: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tremma.postgresql import base

    clock = Clock()
    monkeypatch.setattr(base, "monotonic", clock)
    checks: list[bool] = []
    real = type(kept).is_usable
    monkeypatch.setattr(type(kept), "is_usable", lambda self: checks.append(True) or real(self))

    first = request(kept)  # a new connection: nothing to check
    clock.now += 0.5
    assert request(kept) == first and checks == []  # used half a second ago: no round trip
    clock.now += 1.9
    assert request(kept) == first and checks == []  # each request vouches for it again
    clock.now += 2.5
    assert request(kept) == first and checks == [True]  # idle longer: asked, as Django does


def test_a_connection_postgresql_dropped_while_idle_is_replaced_before_the_request_uses_it(
    kept: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tremma.postgresql import base

    clock = Clock()
    monkeypatch.setattr(base, "monotonic", clock)
    first = request(kept)
    with connection.cursor() as cursor:  # the test's own connection ends the kept one, as a restart would
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    clock.now += 3
    second = request(kept)  # no error: checked, closed, opened again
    assert second != first


def test_with_zero_seconds_every_request_is_checked(kept: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DB_HEALTH_CHECK_AFTER_SECONDS = 0
    checks: list[bool] = []
    real = type(kept).is_usable
    monkeypatch.setattr(type(kept), "is_usable", lambda self: checks.append(True) or real(self))
    request(kept)
    request(kept)
    request(kept)
    assert len(checks) == 2


def test_a_request_whose_connection_failed_closes_it_and_the_next_opens_a_new_one(
    kept: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The price of the skipped check: a connection dropped right after it answered fails the one
    request that uses it next; Django closes it at that request's end."""
    from django.db import OperationalError

    first = request(kept)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    kept.close_if_unusable_or_obsolete()
    with pytest.raises(OperationalError), kept.cursor() as cursor:
        cursor.execute("SELECT 1")
    kept.close_if_unusable_or_obsolete()  # request_finished: the error seen, the connection closed
    assert kept.connection is None and kept.vouched_at is None
    assert request(kept) != first
