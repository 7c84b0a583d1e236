"""Worker footprint: the Procfile's ``worker`` process alone, idle, and its
resident memory (children included) against the 80 MiB target. Also lists
the heavy libraries it has imported by then, which is what usually makes an
idle worker big."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from bench.harness import ROOT, Figure, Repeated, Report, tree_rss_kib
from bench.procfile import command_for

TARGET_MIB = 80
# Libraries whose import alone costs megabytes; an idle worker should need none of them.
HEAVY = ("weasyprint", "boto3", "botocore", "stripe", "PIL.Image", "qrcode", "rest_framework", "drf_spectacular")


def heavy_imports(env: dict[str, str]) -> list[str]:
    """The heavy modules loaded once the worker has imported its jobs (the state it idles in)."""
    probe = (
        "import sys, django; django.setup(); "
        "from django.conf import settings; from django.utils.module_loading import import_string; "
        "[import_string(path) for path, _every in settings.PERIODIC_JOBS]; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [command_for("worker", port=0, env=env)[0], "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in done.stdout.strip().split(",") if name]


def measure(report: Report, env: dict[str, str], *, idle_seconds: float = 5, samples: int = 3) -> None:
    command = command_for("worker", port=0, env=env)
    rss: list[float] = []
    for _ in range(samples):
        process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        try:
            time.sleep(idle_seconds)
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited with {process.returncode}: {command}")
            rss.append(tree_rss_kib(process.pid) / 1024)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    heavy = heavy_imports(env)
    report.checks["worker.command"] = " ".join(command)
    report.checks["worker.heavy_imports_idle"] = heavy
    report.add(
        Figure(
            "worker",
            f"idle RSS after {idle_seconds:g} s (with children)",
            "MiB",
            Repeated(rss),
            target=TARGET_MIB,
            target_kind="max",
            notes="heavy modules loaded when idle: " + (", ".join(heavy) or "none"),
        )
    )
