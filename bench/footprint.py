"""Worker footprint: the Procfile's ``worker`` (django-q2's ``qcluster``) idle,
each process of its tree against the 80 MiB target, and the tree in total.

``qcluster`` forks: the main process, the guard (django-q2's sentinel, which
also runs the scheduler), and under the guard TASK_WORKERS workers, a monitor
and a pusher. The target is per process, so every process is a figure of its
own (the largest resident set is the one that counts); the total is the sum of
proportional set sizes (PSS: a page the forks share is counted once, split
between them), the sum of resident sets beside it counts shared pages once per
process.

Idle means *after work*: a worker that has never run a task has imported less
than one that has. Each run makes every periodic job due, starts the cluster,
waits until every job has run once (django-q2's scheduler first looks 30 s
after start-up) and the queue is empty, then lets it sit ``quiet`` seconds and
measures. The first run also works through the tasks the demo data queued
(emails, transfers, receipts); later runs get the same tasks again, resubmitted
as an operator would, so that every run measures the same work.

Each process reports its role and the modules it has loaded (a SIGUSR1 handler
that only the bench installs, bench/worker_probe/sitecustomize.py), so the
heavy-imports check reads the real processes, not a stand-in."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import RESULTS, ROOT, Figure, Repeated, Report
from bench.procfile import command_for

TARGET_MIB = 80
# Libraries whose import alone costs megabytes; an idle worker should need none of them.
HEAVY = (
    "twisted",
    "drf_spectacular.plumbing",
    "weasyprint",
    "boto3",
    "botocore",
    "stripe",
    "PIL.Image",
    "qrcode",
    "rest_framework",
    "drf_spectacular",
)
PROBE_SITE = Path(__file__).resolve().parent / "worker_probe"
ROLE_ORDER = {"main": 0, "guard": 1, "worker": 2, "monitor": 3, "pusher": 4}


@dataclass
class Member:
    """One process of the worker's tree, measured."""

    pid: int
    ppid: int
    rss_kib: int
    pss_kib: int
    uss_kib: int
    role: str = "unknown"
    modules: frozenset[str] = field(default_factory=frozenset)

    @property
    def heavy(self) -> list[str]:
        return [name for name in HEAVY if name in self.modules]


def parent_of(pid: int, proc: Path = Path("/proc")) -> int | None:
    try:
        # The command name in field 2 may hold spaces: the parent pid follows its closing ")".
        return int((proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def tree_pids(root: int, proc: Path = Path("/proc")) -> list[int]:
    """``root`` and all its descendants, parents before children."""
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            ppid = parent_of(int(entry.name), proc)
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    order, todo = [], [root]
    while todo:
        current = todo.pop(0)
        order.append(current)
        todo += sorted(children.get(current, []))
    return order


def memory_kib(pid: int, proc: Path = Path("/proc")) -> tuple[int, int, int]:
    """(RSS, PSS, USS) of one process in KiB, from /proc/<pid>/smaps_rollup."""
    fields: dict[str, int] = {}
    for line in (proc / str(pid) / "smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields.get("Rss", 0), fields.get("Pss", 0), uss


def roles_by_position(members: list[Member], workers: int) -> None:
    """Roles of processes that did not answer the probe, from django-q2's layout: the root is
    the main process, its child the guard, which forks its workers first, then the monitor,
    then the pusher (so this holds until a process is replaced)."""
    if not members:
        return
    root = members[0]
    if root.role == "unknown":
        root.role = "main"
    for member in members:
        if member.ppid == root.pid and member.role == "unknown":
            member.role = "guard"
    guards = {member.pid for member in members if member.role == "guard"}
    spawned = [member for member in members if member.ppid in guards]
    if len(spawned) == workers + 2:
        for member, role in zip(spawned, ["worker"] * workers + ["monitor", "pusher"], strict=True):
            if member.role == "unknown":
                member.role = role


def labels(members: list[Member]) -> list[str]:
    """``guard``, ``worker 1``, ``worker 2``…: a role, numbered when several processes share it."""
    counts: dict[str, int] = {}
    for member in members:
        counts[member.role] = counts.get(member.role, 0) + 1
    seen: dict[str, int] = {}
    names = []
    for member in members:
        seen[member.role] = seen.get(member.role, 0) + 1
        names.append(member.role if counts[member.role] == 1 else f"{member.role} {seen[member.role]}")
    return names


def ordered(members: Iterable[Member]) -> list[Member]:
    """By role (main, guard, workers, monitor, pusher), then by RSS, largest first."""
    return sorted(members, key=lambda member: (ROLE_ORDER.get(member.role, 9), -member.rss_kib))


def snapshot(root: int, probe_dir: Path, workers: int, *, wait: float = 5.0) -> list[Member]:
    """Every process of the tree: memory first, then (so that the probe's own writing is not
    counted) its role and modules, asked for with SIGUSR1."""
    members = []
    for pid in tree_pids(root):
        try:
            rss, pss, uss = memory_kib(pid)
        except OSError:
            continue
        members.append(Member(pid, parent_of(pid) or 0, rss, pss, uss))
    for member in members:
        os.kill(member.pid, signal.SIGUSR1)
    deadline = time.monotonic() + wait
    pending = {member.pid: member for member in members}
    while pending and time.monotonic() < deadline:
        for pid, member in list(pending.items()):
            answer = probe_dir / f"{pid}.txt"
            if answer.exists():
                role, *modules = answer.read_text().split()
                member.role, member.modules = role, frozenset(modules)
                del pending[pid]
        time.sleep(0.1)
    roles_by_position(members, workers)
    return ordered(members)


def wait_for_work(
    since: Any, jobs: list[str], process: subprocess.Popen[bytes], *, timeout: float, poll: float = 1.0
) -> float:
    """Wait until every periodic job has run once since ``since`` and the queue is empty;
    return how long it took."""
    from django_q.models import OrmQ, Task

    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}")
        ran = set(Task.objects.filter(stopped__gte=since, name__in=jobs).values_list("name", flat=True))
        if ran == set(jobs) and not OrmQ.objects.exists():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"periodic jobs still not run after {timeout:g} s: {sorted(set(jobs) - ran)}")
        time.sleep(poll)


def make_jobs_due(jobs: list[str]) -> None:
    from django.utils import timezone
    from django_q.models import Schedule

    Schedule.objects.filter(name__in=jobs).update(next_run=timezone.now())


def resubmit(tasks: list[tuple[str, dict[str, Any]]]) -> None:
    """Queue the same tasks again (kernel.tasks.task_enqueue, as the application does)."""
    from django.utils.module_loading import import_string

    from kernel.tasks import task_enqueue

    for path, kwargs in tasks:
        task_enqueue(import_string(path), **kwargs)


def one_run(
    env: dict[str, str],
    command: list[str],
    jobs: list[str],
    workers: int,
    *,
    quiet: float,
    timeout: float,
    log: Path,
) -> tuple[list[Member], float, list[tuple[str, dict[str, Any]]]]:
    """Start the cluster, wait for its work, let it idle, measure; the members, how long the
    work took, and the non-periodic tasks it ran (to give the next run the same)."""
    from django.utils import timezone
    from django_q.models import Task

    from kernel.tasks import RUNNER

    with tempfile.TemporaryDirectory(prefix="tremma-worker-probe-") as folder:
        probe_env = {
            **env,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PROBE_SITE), env.get("PYTHONPATH", "")])),
            "TREMMA_BENCH_PROBE_DIR": folder,
        }
        since = timezone.now()
        make_jobs_due(jobs)
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=probe_env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            took = wait_for_work(since, jobs, process, timeout=timeout)
            time.sleep(quiet)
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited with {process.returncode}: {command}")
            members = snapshot(process.pid, Path(folder), workers)
        finally:
            stop(process)
    ran = Task.objects.filter(stopped__gte=since, func=RUNNER).exclude(name__in=jobs).order_by("stopped")
    tasks = [(str(task.args[0]), dict(task.args[1])) for task in ran if task.args and len(task.args) >= 2]
    return members, took, tasks


def stop(process: subprocess.Popen[bytes], *, grace: float = 30) -> None:
    """SIGTERM to the main process only, as django-q2 expects (it stops its guard, which stops
    the others; a SIGTERM to the whole group kills the guard outright and leaves the main
    process waiting for it); what is left of the group after ``grace`` seconds is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def heavy_imports(env: dict[str, str]) -> list[str]:
    """The heavy modules a worker process has loaded before its first task: django-q2's
    cluster and the periodic jobs' modules, imported as ``qcluster`` does."""
    probe = (
        "import sys, django; django.setup(); "
        "from django_q.management.commands.qcluster import Command; from django_q.cluster import Cluster; "
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


def measure(
    report: Report,
    env: dict[str, str],
    *,
    quiet: float = 10,
    samples: int = 3,
    timeout: float = 150,
    say: Callable[[str], None] = print,
) -> None:
    from django.conf import settings

    command = command_for("worker", port=0, env=env)
    jobs = [path for path, _every in settings.PERIODIC_JOBS]
    workers = int(settings.Q_CLUSTER["workers"])
    log = RESULTS / "server-worker.log"
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs: list[list[Member]] = []
    waits: list[float] = []
    replay: list[tuple[str, dict[str, Any]]] = []
    for run in range(samples):
        if run:
            resubmit(replay)
        members, took, tasks = one_run(env, command, jobs, workers, quiet=quiet, timeout=timeout, log=log)
        if not run:
            replay = tasks
        runs.append(members)
        waits.append(took)
        say(
            f"  run {run + 1}: work done {took:.0f} s after start ({len(tasks)} queued tasks, {len(jobs)} jobs); "
            + ", ".join(f"{name} {m.rss_kib / 1024:.1f}" for name, m in zip(labels(members), members, strict=True))
            + " MiB RSS"
        )
    figures(report, runs, waits=waits, quiet=quiet, replayed=len(replay), jobs=len(jobs))
    report.checks["worker.command"] = " ".join(command)
    report.checks["worker.processes"] = [
        [
            {
                "pid": m.pid,
                "role": name,
                "rss_mib": round(m.rss_kib / 1024, 1),
                "pss_mib": round(m.pss_kib / 1024, 1),
                "uss_mib": round(m.uss_kib / 1024, 1),
                "heavy_imports": m.heavy,
                "modules": len(m.modules),
            }
            for name, m in zip(labels(members), members, strict=True)
        ]
        for members in runs
    ]
    report.checks["worker.heavy_imports_at_start"] = heavy_imports(env)
    report.checks["worker.heavy_imports_idle"] = sorted({name for members in runs for m in members for name in m.heavy})


def figures(
    report: Report, runs: list[list[Member]], *, waits: list[float], quiet: float, replayed: int, jobs: int
) -> None:
    """One figure per process (same label across runs), the largest, and the totals."""
    state = (
        f"idle {quiet:g} s after its work: {jobs} periodic jobs made due at start (run {min(waits):.0f}–"
        f"{max(waits):.0f} s after start) and the {replayed} tasks the demo data queued"
    )
    by_label: dict[str, list[Member]] = {}
    for members in runs:
        for name, member in zip(labels(members), members, strict=True):
            by_label.setdefault(name, []).append(member)
    for name, members in by_label.items():
        heavy = sorted({module for member in members for module in member.heavy})
        report.add(
            Figure(
                "worker",
                f"idle RSS, {name}",
                "MiB",
                Repeated([member.rss_kib / 1024 for member in members]),
                target=TARGET_MIB,
                target_kind="max",
                notes=f"{state}; PSS {statistics_text([m.pss_kib for m in members])}, "
                f"USS {statistics_text([m.uss_kib for m in members])}; heavy modules loaded: "
                + (", ".join(heavy) or "none"),
            )
        )
    largest = [max(members, key=lambda member: member.rss_kib) for members in runs]
    report.add(
        Figure(
            "worker",
            "idle RSS, largest process",
            "MiB",
            Repeated([member.rss_kib / 1024 for member in largest]),
            target=TARGET_MIB,
            target_kind="max",
            notes=f"{state}; the largest was: " + ", ".join(sorted({member.role for member in largest})),
        )
    )
    count = max(len(members) for members in runs)
    report.add(
        Figure(
            "worker",
            f"idle total, {count} processes (sum of PSS)",
            "MiB",
            Repeated([sum(member.pss_kib for member in members) / 1024 for members in runs]),
            notes=f"{state}; memory the tree really holds: a page its forks share is counted once",
        )
    )
    report.add(
        Figure(
            "worker",
            f"idle total, {count} processes (sum of RSS)",
            "MiB",
            Repeated([sum(member.rss_kib for member in members) / 1024 for members in runs]),
            notes=f"{state}; counts the pages the forks share once per process (an upper bound)",
        )
    )


def statistics_text(values_kib: list[int]) -> str:
    values = sorted(value / 1024 for value in values_kib)
    return f"{values[len(values) // 2]:.1f} MiB" if len(values) == 1 else f"{values[0]:.1f}–{values[-1]:.1f} MiB"
