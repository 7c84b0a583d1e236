"""Loaded only by the bench's worker runs (bench/footprint.py puts this folder on
PYTHONPATH and sets TREMMA_BENCH_PROBE_DIR): on SIGUSR1, a process of the worker's
tree writes its role and the names of the modules it has imported to
``$TREMMA_BENCH_PROBE_DIR/<pid>.txt``, so that the report names each process and
what it loaded. It imports nothing Python has not already loaded at start-up, and
does nothing until the bench asks."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

# (file, function) of django-q2's process loops, as found in the interrupted stack. A
# forked child's stack still holds its parent's frames below its own: the innermost match wins.
ROLES = (
    ("django_q/worker.py", "worker", "worker"),
    ("django_q/pusher.py", "pusher", "pusher"),
    ("django_q/monitor.py", "monitor", "monitor"),
    ("django_q/cluster.py", "guard", "guard"),
    ("django_q/cluster.py", "start", "main"),
    ("django_q/management/commands/qcluster.py", "handle", "main"),
)


def role_of(frame: FrameType | None) -> str:
    while frame is not None:
        code = frame.f_code
        for filename, function, role in ROLES:
            if code.co_name == function and code.co_filename.replace(os.sep, "/").endswith(filename):
                return role
        frame = frame.f_back
    return "unknown"


def _dump(signum: int, frame: FrameType | None) -> None:
    folder = os.environ.get("TREMMA_BENCH_PROBE_DIR", "")
    if not folder:
        return
    path = os.path.join(folder, f"{os.getpid()}.txt")
    with open(path + ".part", "w") as out:
        out.write(role_of(frame) + "\n" + "\n".join(sorted(sys.modules)) + "\n")
    os.replace(path + ".part", path)


if os.environ.get("TREMMA_BENCH_PROBE_DIR"):
    signal.signal(signal.SIGUSR1, _dump)
