"""Django's PostgreSQL backend, whose health check of a kept connection is asked
only of one that has not answered for a moment.

Django's ``CONN_HEALTH_CHECKS`` sends ``SELECT 1`` before a kept connection's
first query of every request, so that a connection PostgreSQL dropped (a
restart, an idle timeout) is replaced instead of failing that request. It is one
more round trip for each request that reads anything: under a burst of Stripe's
webhooks a third of the web process's time. A connection that was vouched for
less than ``DB_HEALTH_CHECK_AFTER_SECONDS`` ago (checked, or used by a request
that ended without a database error) is not asked again; one idle longer is, as
Django does. What it gives up: a connection dropped within that moment fails
the one request that uses it next, after which Django closes it (its error is
seen at the request's end) and the next request opens a new one."""

from __future__ import annotations

from time import monotonic

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    vouched_at: float | None = None
    # Django's own (django-stubs does not declare them).
    health_check_enabled: bool
    health_check_done: bool

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and self.vouched_at is not None
            and monotonic() - self.vouched_at < settings.DB_HEALTH_CHECK_AFTER_SECONDS
        ):
            self.health_check_done = True
            self.vouched_at = monotonic()
            return
        super().close_if_health_check_failed()
        if self.connection is not None:
            self.vouched_at = monotonic()

    def close(self) -> None:
        self.vouched_at = None
        super().close()
