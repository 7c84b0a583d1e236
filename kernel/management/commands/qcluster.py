"""``manage.py qcluster`` (the Procfile's ``worker``): django-q2's own command, with one
change to how its main process stops.

A SIGTERM sent to every process of the cluster at once (systemd's default
``KillMode=control-group``, platforms that signal a whole container, a terminal's
process group) kills django-q2's guard process too, possibly while it holds the lock of
the stop event the main process then sets: django-q2's main process waits for ever
(until the final SIGKILL). Here the main process first gives the guard half a second:
if it is gone, there is nothing left to stop and the main process exits. A SIGTERM to
the main process alone stops the cluster as django-q2 does: running tasks finish first.
(This command is found before django-q2's own because ``kernel`` comes first in
INSTALLED_APPS.)"""

from __future__ import annotations

from typing import Any

from django_q import cluster
from django_q.management.commands import qcluster


class Cluster(cluster.Cluster):
    def stop(self) -> bool:
        self.sentinel.join(timeout=0.5)
        if not self.sentinel.is_alive():
            return False
        return bool(super().stop())


class Command(qcluster.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        # django-q2's handle, with our Cluster (its module's name is looked up at call time).
        original = qcluster.Cluster
        qcluster.Cluster = Cluster  # type: ignore[misc]
        try:
            super().handle(*args, **options)
        finally:
            qcluster.Cluster = original  # type: ignore[misc]
