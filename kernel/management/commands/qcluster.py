"""``manage.py qcluster`` (the Procfile's ``worker``): django-q2's own command, with one
change to how its main process stops.

A SIGTERM sent to every process of the cluster at once (systemd's default
``KillMode=control-group``, platforms that signal a whole container, a terminal's
process group) kills django-q2's guard process too, possibly while it holds the lock of
the stop event the main process then sets, and possibly a moment after the main process
looked (a guard busy writing its status dies when that write returns): django-q2's main
process then waits for ever on that lock (until the final SIGKILL). Here the main
process sets the stop event from a daemon thread and watches the guard itself: whether
the guard stops as asked (a SIGTERM to the main process alone: running tasks finish
first, as in django-q2) or dies of the group's signal, the main process exits as soon
as it is gone, and a lock left held by a dead process blocks only that thread.
(This command is found before django-q2's own because ``kernel`` comes first in
INSTALLED_APPS.)"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django_q import cluster
from django_q.management.commands import qcluster

logger = logging.getLogger("django-q")


class Cluster(cluster.Cluster):
    def stop(self) -> bool:
        if not self.sentinel.is_alive():
            return False
        logger.info("Q Cluster %s stopping.", self.name)
        # django-q2 sets stop_event in start() without a declared type.
        stop_event: Any = getattr(self, "stop_event", None)
        if stop_event is not None:
            threading.Thread(target=stop_event.set, name="qcluster-stop", daemon=True).start()
        while self.sentinel.is_alive():
            self.sentinel.join(timeout=0.1)
        logger.info("Q Cluster %s has stopped.", self.name)
        self.start_event = None
        self.stop_event = None
        return True


class Command(qcluster.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        # django-q2's handle, with our Cluster (its module's name is looked up at call time).
        original = qcluster.Cluster
        qcluster.Cluster = Cluster  # type: ignore[misc]
        try:
            super().handle(*args, **options)
        finally:
            qcluster.Cluster = original  # type: ignore[misc]
