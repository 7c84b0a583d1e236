"""``manage.py qcluster`` (the Procfile's ``worker``): django-q2's own command, with one
change to how its main process stops.

django-q2's main process stops from its SIGTERM handler: it sets the stop event, then
joins its guard process inside the handler. Two things go wrong when a SIGTERM reaches
every process of the cluster at once (systemd's default ``KillMode=control-group``,
platforms that signal a whole container, a terminal's process group):

- the guard dies of the signal too, possibly while it holds the lock of the stop event,
  and the main process then waits for ever on that lock;
- the signal often lands while the main process is itself waiting for its guard (at
  exit, ``multiprocessing`` joins its children): the ``waitpid`` that collects the
  dead guard returns, the handler runs before that result is recorded, and every later
  look at the guard finds no exit status, so the handler's join never ends.

Here the handler only asks: it sets the stop event from a daemon thread (a lock left
held by a dead process blocks only that thread) and returns. The command's main flow
then waits for the guard with one plain blocking join, which sees it gone whether it
stopped as asked (a SIGTERM to the main process alone: running tasks finish first, as
in django-q2) or died of the group's signal. (This command is found before django-q2's
own because ``kernel`` comes first in INSTALLED_APPS.)"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django_q import cluster
from django_q.conf import setproctitle
from django_q.management.commands import qcluster

logger = logging.getLogger("django-q")


class Cluster(cluster.Cluster):
    def start(self) -> int:
        """django-q2's start, except that a stop asked while the guard starts ends the wait
        quietly, even when the guard died of the same signal."""
        if setproctitle:
            setproctitle.setproctitle(f"qcluster {cluster.current_process().name} {self.name}")
        self.stop_event = cluster.Event()
        self.start_event = cluster.Event()
        self.sentinel = cluster.get_mp_context().Process(
            target=cluster.Sentinel,
            name=f"Process-{cluster.uuid.uuid4().hex}",
            args=(self.stop_event, self.start_event, self.cluster_id, self.broker, self.timeout),
        )
        self.sentinel.start()
        logger.info("Q Cluster %s starting.", self.name)
        # Polled rather than waited on: the signal handler sets start_event to None.
        while (start_event := self.start_event) is not None and not start_event.is_set():
            if not self.sentinel.is_alive():
                if self.start_event is None or self.sentinel.exitcode == 0:
                    break  # stopped while starting
                code = self.sentinel.exitcode
                raise RuntimeError(f"Q Cluster {self.name} failed to start: its guard exited with code {code}")
            time.sleep(0.1)
        return self.pid

    def stop(self) -> bool:
        """Ask the guard to stop, without waiting (``wait`` does): safe in a signal handler."""
        stop_event: Any = self.stop_event
        if stop_event is None:
            return False  # not started, or already asked
        logger.info("Q Cluster %s stopping.", self.name)
        self.start_event = None
        self.stop_event = None
        threading.Thread(target=stop_event.set, name="qcluster-stop", daemon=True).start()
        return True

    def wait(self) -> None:
        """Until the guard has exited (after a stop, or its death)."""
        if self.sentinel is not None:
            self.sentinel.join()
            logger.info("Q Cluster %s has stopped.", self.name)


class Command(qcluster.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        # django-q2's handle with our Cluster, then the wait that django-q2 leaves to
        # multiprocessing's exit handler.
        settings.SECRET_KEY  # noqa: B018 - the cluster signs its tasks: refuse to start without one
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        q = Cluster()
        q.start()
        if options.get("run_once", False):
            q.stop()
        q.wait()
