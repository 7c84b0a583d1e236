"""``python manage.py worker``: runs the periodic jobs of settings.PERIODIC_JOBS
(relay of unpublished events, pruning, release of expired holds…) in a loop.
One job failing is logged and does not stop the others."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic jobs (settings.PERIODIC_JOBS) until stopped."
    # The checks import every URLconf and view (WeasyPrint, DRF…: ~28 MiB the idle worker never
    # uses); they run on each deploy already, in the Procfile's release step.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once, then exit")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        jobs = [(path, import_string(path), every) for path, every in settings.PERIODIC_JOBS]
        due = dict.fromkeys((path for path, _job, _every in jobs), 0.0)
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            now = time.monotonic()
            for path, job, every in jobs:
                if once or now >= due[path]:
                    close_old_connections()
                    try:
                        result = job()
                        if result:
                            logger.info("worker: %s → %s", path, result)
                    except Exception:
                        logger.exception("worker: job %s failed", path)
                    due[path] = now + every
            if once:
                return
            time.sleep(1)
