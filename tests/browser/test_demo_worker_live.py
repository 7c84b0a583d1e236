"""`make demo`'s embedded defaults in a real Chromium: SQLite (or the run's database), the
in-memory channel layer, one web process and one task cluster. What the worker does reaches
the live pages: it leaves its events in the database (nobody listens to its in-memory layer)
and the web process relays them to its sockets (realtime/hub.py ``_relay``).

Waits use ``wait_for_function``, hence ``bypass_csp`` (see test_live_updates.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from checkout.services import order_start
from donations.models import Reservation
from kernel.tasks import RUNNER, schedules_sync
from realtime.events import ITEM_RELEASED
from realtime.models import RealtimeEvent
from tests.browser.conftest import PHONE
from tests.browser.test_live_updates import in_thread, placed
from tests.browser.test_windows_screen_live import in_chromium
from tests.components import free_port
from tests.factories import WindowFactory
from tests.support.servers import start_server, start_worker, stop_server, stop_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RELEASE = "checkout.services.reservations_release_expired"


def test_a_hold_the_worker_releases_shows_on_the_window_screen_on_the_embedded_defaults(
    settings: Any, tmp_path: Path
) -> None:
    from django_q.models import Schedule, Task

    window = WindowFactory()
    first, second = placed(window, 2)
    held: dict[str, Any] = {}
    in_thread(lambda: held.update(order=order_start(item_id=first.item_id, email="passant@example.org")))
    order = held["order"]
    # The release's schedule, as `migrate` writes it, due now (the others stay out of the way).
    settings.PERIODIC_JOBS = [(RELEASE, 1)]
    schedules_sync()

    port = free_port()
    server = start_server(port, debug=True, redis=False, env={"TASKS_EAGER": "false"})
    worker = None
    log = tmp_path / "worker.log"
    try:

        def script(browser: Any) -> tuple[str | None, str | None, str | None, bool]:
            nonlocal worker
            page = browser.new_page(**PHONE, bypass_csp=True)
            page.goto(f"http://127.0.0.1:{port}/windows/{window.pk}/screen/")
            page.evaluate("window.notReloaded = true")
            row = page.locator(f'[data-item="{first.item_id}"]')
            before = row.get_attribute("data-status")
            page.wait_for_timeout(500)  # the screen is connected to its stream

            def expire() -> None:
                Reservation.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))
                Schedule.objects.filter(name=RELEASE).update(next_run=timezone.now())

            in_thread(expire)
            # django-q2's scheduler first looks 30 s after the cluster starts.
            worker = start_worker(redis=False, log=log)
            page.wait_for_function(
                f"document.querySelector('[data-item=\"{first.item_id}\"]').dataset.status === 'listed'",
                timeout=75_000,
            )
            return (
                before,
                row.locator(".state").inner_text(),
                page.locator(f'[data-item="{second.item_id}"]').get_attribute("data-status"),
                page.evaluate("window.notReloaded === true"),
            )

        before, state, untouched, not_reloaded = in_chromium(script)
    finally:
        if worker is not None:
            stop_worker(worker)
        stop_server(server)

    assert before == "reserved"
    assert state == "" and not_reloaded  # available again, on the same page
    assert untouched == "listed"
    # Released by the worker's run of the schedule…
    assert Reservation.objects.get(order=order).status == Reservation.Status.RELEASED
    assert Task.objects.filter(func=RUNNER, name=RELEASE, success=True).exists(), log.read_text()
    # …whose event the web process relayed (the worker's in-memory layer reaches nobody).
    assert RealtimeEvent.objects.get(type=ITEM_RELEASED).published_at is not None
