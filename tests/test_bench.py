"""The pure parts of ``python -m bench``: pairs and their spread, the Procfile
command line, the report, the plan checker. No server, no load: quick."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.harness import Figure, Repeated, Report
from bench.machine import cpu_work_ms, slowed
from bench.pairs import alternate, spread
from bench.plans import seq_scans
from bench.procfile import command_for, expand, procfile_lines
from bench.profiles import summarise
from bench.wrk import parse

PROCFILE = """\
release: python manage.py migrate --noinput
# the web process
web: uvicorn tremma.asgi:application --host 0.0.0.0 --port ${PORT:-8000} --workers ${WEB_CONCURRENCY:-4} \
--forwarded-allow-ips ${FORWARDED_ALLOW_IPS:-127.0.0.1}
worker: python manage.py qcluster --skip-checks
"""


def sequence(*values: float) -> Callable[[], float]:
    """A step that returns the next value each time it is called."""
    remaining = list(values)

    def step() -> float:
        return remaining.pop(0)

    return step


def test_ceiling_and_scenario_alternate_and_the_ratio_is_taken_per_pair() -> None:
    calls: list[str] = []
    ceiling, scenario = sequence(100, 200, 100), sequence(50, 100, 50)

    def a() -> dict[str, float]:
        calls.append("A")
        return {"c": ceiling()}

    def b() -> dict[str, float]:
        calls.append("B")
        return {"s": scenario()}

    loads = sequence(1.5, 2.5, 3.5)
    rounds = alternate([("A", a), ("B", b)], pairs=3, ratios=[("s", "c")], loadavg=loads, say=lambda _: None)
    assert calls == ["A", "B", "A", "B", "A", "B"]
    assert rounds.ratios("s", "c") == [0.5, 0.5, 0.5]
    assert rounds.loads() == [1.5, 2.5, 3.5]
    assert len(rounds.attempts) == 1
    assert rounds.noisy is False


def test_a_pair_set_spread_over_15_percent_is_measured_again_then_flagged_noisy() -> None:
    # ratios 0.5, 1.0, 0.5 every time: spread (1.0 - 0.5) / 0.5 = 100 %
    values = iter([100.0, 50.0, 100.0, 100.0, 100.0, 50.0] * 3)
    said: list[str] = []
    rounds = alternate(
        [("A", lambda: {"c": next(values)}), ("B", lambda: {"s": next(values)})],
        pairs=3,
        ratios=[("s", "c")],
        loadavg=lambda: 1.0,
        say=said.append,
    )
    assert len(rounds.attempts) == 3  # the first set and two reruns
    assert rounds.noisy is True
    assert "reported as noisy" in said[-1]
    assert rounds.as_dict()["noisy"] is True
    assert rounds.as_dict()["attempts"][0]["spreads"]["s/c"] == pytest.approx(1.0)


def test_a_rerun_that_comes_out_steady_is_the_one_reported() -> None:
    noisy_set = [100.0, 50.0, 100.0, 100.0, 100.0, 50.0]
    steady_set = [100.0, 50.0, 100.0, 52.0, 100.0, 51.0]
    values = iter([*noisy_set, *steady_set])
    rounds = alternate(
        [("A", lambda: {"c": next(values)}), ("B", lambda: {"s": next(values)})],
        pairs=3,
        ratios=[("s", "c")],
        loadavg=lambda: 0.5,
        say=lambda _: None,
    )
    assert len(rounds.attempts) == 2
    assert rounds.noisy is False
    assert rounds.ratios("s", "c") == [0.5, 0.52, 0.51]


def test_spread_is_the_range_over_the_median() -> None:
    assert spread([1.0, 1.1, 0.9]) == pytest.approx(0.2)
    assert spread([2.0]) == 0.0


def test_the_procfile_web_line_becomes_one_worker_on_the_given_loopback_port(tmp_path: Path) -> None:
    (tmp_path / "uvicorn").write_text("")
    argv = command_for("web", port=4321, env={}, text=PROCFILE, bin_dir=tmp_path)
    assert argv[0] == str(tmp_path / "uvicorn")
    assert argv[1:] == [
        "tremma.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        "4321",
        "--workers",
        "1",
        "--forwarded-allow-ips",
        "127.0.0.1",
    ]


def test_the_procfile_web_line_keeps_its_own_default_workers_when_asked(tmp_path: Path) -> None:
    """The flash crowd meets the Procfile as a deployment runs it: its default number of processes,
    whatever WEB_CONCURRENCY the bench's own environment has."""
    (tmp_path / "uvicorn").write_text("")
    argv = command_for("web", port=4321, env={"WEB_CONCURRENCY": "1"}, text=PROCFILE, bin_dir=tmp_path, workers=None)
    assert argv[argv.index("--workers") + 1] == PROCFILE.split("WEB_CONCURRENCY:-", 1)[1].split("}", 1)[0]
    assert argv[argv.index("--port") + 1] == "4321" and "0.0.0.0" not in argv


def test_procfile_parsing_skips_comments_and_keeps_every_process() -> None:
    lines = procfile_lines(PROCFILE)
    assert set(lines) == {"release", "web", "worker"}
    assert lines["worker"] == "python manage.py qcluster --skip-checks"
    with pytest.raises(KeyError):
        command_for("clock", port=1, env={}, text=PROCFILE)


def test_variables_expand_as_a_shell_would() -> None:
    env = {"A": "x", "EMPTY": ""}
    assert expand("$A ${A} ${A:-d} ${B:-d} ${EMPTY:-d} $B.", env) == "x x x d d ."
    assert expand("gunicorn --bind 0.0.0.0:$PORT", {"PORT": "9"}) == "gunicorn --bind 0.0.0.0:9"


def test_the_number_of_cores_is_the_one_command_substitution_understood() -> None:
    """The Procfile's web line starts one process per core unless WEB_CONCURRENCY says otherwise
    (``${WEB_CONCURRENCY:-$(nproc)}``, as the shell of a Procfile runner expands it)."""
    cores = str(len(os.sched_getaffinity(0)))
    assert cores == subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    assert expand("--workers ${WEB_CONCURRENCY:-$(nproc)}", {}) == f"--workers {cores}"
    # As a Procfile runner's shell expands the real line's default:
    line = procfile_lines((Path(__file__).resolve().parent.parent / "Procfile").read_text())["web"]
    default = line.split("--workers ", 1)[1].split(" ", 1)[0]
    shell = subprocess.run(["sh", "-c", f"echo {default}"], capture_output=True, text=True, check=True, env={})
    assert shell.stdout.strip() == expand(default, {}) == cores
    assert expand("--workers ${WEB_CONCURRENCY:-$(nproc)}", {"WEB_CONCURRENCY": "3"}) == "--workers 3"
    for hostile in ("--workers $(rm -rf /)", "--workers `nproc`", "--workers $(nproc) $(id)"):
        with pytest.raises(ValueError, match="command substitution"):
            expand(hostile, {})


def test_the_real_procfile_starts_one_web_process_per_core(tmp_path: Path) -> None:
    (tmp_path / "uvicorn").write_text("")
    argv = command_for("web", port=4321, env={"WEB_CONCURRENCY": "9"}, bin_dir=tmp_path, workers=None)
    assert argv[argv.index("--workers") + 1] == str(len(os.sched_getaffinity(0)))


def test_the_report_writes_dated_and_latest_json_and_prints_ratios_targets_and_gates(tmp_path: Path) -> None:
    report = Report(environment={"database": "sqlite", "channel_layer": "in-memory", "server": "uvicorn x"})
    report.results = tmp_path
    report.add(
        Figure(
            "flash",
            "checkout throughput",
            "req/s",
            Repeated([40.0, 60.0, 50.0]),
            Repeated([100.0, 100.0, 100.0]),
            "bare",
            target=0.5,
            pair_ratios=[0.4, 0.6, 0.5],
            loads=[1.0, 1.2, 0.8],
        )
    )
    report.add(Figure("catalogue", "p99", "ms", Repeated([70.0]), target=50, target_kind="max"))
    report.gate("flash: 0 oversells", True, "0 items sold twice")
    report.gate("catalogue: ≤ 3 queries per request", False, "max 7")
    written = report.write()
    body = json.loads(written.read_text())
    assert (tmp_path / "latest.json").read_text() == written.read_text()
    checkout = body["figures"][0]
    assert checkout["ratio"] == 0.5
    assert checkout["ratio_min_max"] == [0.4, 0.6]
    assert checkout["load1_per_pair"] == [1.0, 1.2, 0.8]
    assert checkout["met"] is True
    assert body["figures"][1]["met"] is False
    assert body["gates"]["catalogue: ≤ 3 queries per request"] == {"passed": False, "detail": "max 7"}
    assert report.failed_gates == ["catalogue: ≤ 3 queries per request"]
    table = report.table()
    assert "0.40–0.60" in table
    assert "MISSED" in table
    assert "1.0,1.2,0.8" in table
    assert "server (Procfile web, 1 worker): uvicorn x" in table


def test_the_machines_speed_is_taken_after_each_round_of_pairs() -> None:
    values = iter([100.0, 50.0] * 3)
    rounds = alternate(
        [("A", lambda: {"c": next(values)}), ("B", lambda: {"s": next(values)})],
        pairs=3,
        ratios=[("s", "c")],
        loadavg=lambda: 1.0,
        machine=sequence(15.0, 16.0, 30.0),
        say=lambda _: None,
    )
    assert rounds.cpu_ms() == [15.0, 16.0, 30.0]
    assert [r["cpu_ms"] for r in rounds.as_dict()["attempts"][0]["rounds"]] == [15.0, 16.0, 30.0]


def test_the_fixed_work_is_timed_in_cpu_time_and_a_busy_machine_does_not_count() -> None:
    """Another thread holding the CPU makes the fixed work wait, not cost more CPU time: the figure
    measures a slower core, not our own load."""
    import threading
    import time

    alone = cpu_work_ms()
    assert 0 < alone < 2_000
    stop = time.monotonic() + 0.6

    def busy() -> None:
        while time.monotonic() < stop:
            sum(range(1_000))

    other = threading.Thread(target=busy)
    other.start()
    shared = cpu_work_ms()
    other.join()
    # The GIL made the fixed work wait for the other thread: its CPU time stays that of the work.
    assert shared < 2.5 * alone


def test_a_figure_measured_while_the_machine_was_slowed_is_flagged(tmp_path: Path) -> None:
    report = Report(environment={"database": "postgresql", "server": "uvicorn x"})
    report.results = tmp_path
    report.add(Figure("flash", "ceiling (b)", "req/s", Repeated([3000.0, 3100.0]), cpu_ms=[16.0, 17.0]))
    # Two crowds of three with the fixed work over 1.25 × the run's best (16 ms): slowed.
    crowd = Figure(
        "flash",
        "item page p99",
        "ms",
        Repeated([120.0, 800.0, 900.0]),
        target=500,
        target_kind="max",
        cpu_ms=[17.0, 24.0, 26.0],
    )
    steady = Figure("flash", "checkout p99", "ms", Repeated([300.0, 400.0, 350.0]), cpu_ms=[16.5, 18.0, 19.0])
    report.add(crowd)
    report.add(steady)
    assert report.machine_best_ms == 16.0
    assert report.slowed(crowd) is True
    assert report.slowed(steady) is False
    table = report.table().splitlines()
    assert "fixed CPU work 16 ms at its fastest" in "\n".join(table)
    crowd_line = next(line for line in table if "item page p99" in line)
    assert crowd_line.endswith("SLOWED") and "MISSED" in crowd_line and "/ 17,24,26" in crowd_line
    assert not next(line for line in table if "checkout p99" in line).endswith("SLOWED")
    body = json.loads(report.write().read_text())
    assert body["environment"]["machine_best_cpu_ms"] == 16.0
    assert [figure["slowed"] for figure in body["figures"]] == [False, True, False]
    assert body["figures"][1]["machine_cpu_ms"] == [17.0, 24.0, 26.0]


def test_slowed_reads_the_middle_phase_and_needs_a_best() -> None:
    assert slowed([20.0, 21.0, 40.0], 16.0) is True  # middle 21 > 20
    assert slowed([16.0, 19.0, 40.0], 16.0) is False  # one slow phase is not the figure's
    assert slowed([], 16.0) is False
    assert slowed([40.0], 0.0) is False


SEQ_PLAN = [
    {
        "Plan": {
            "Node Type": "Limit",
            "Plans": [
                {
                    "Node Type": "Hash Join",
                    "Plans": [
                        {"Node Type": "Seq Scan", "Relation Name": "donations_item"},
                        {
                            "Node Type": "Hash",
                            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "campaigns_campaign"}],
                        },
                    ],
                }
            ],
        }
    }
]
INDEX_PLAN = [
    {
        "Plan": {
            "Node Type": "Aggregate",
            "Plans": [
                {
                    "Node Type": "Bitmap Heap Scan",
                    "Relation Name": "donations_item",
                    "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "item_title_upper_trgm"}],
                },
                {"Node Type": "Seq Scan", "Relation Name": "campaigns_campaign"},
            ],
        }
    }
]


def test_the_plan_checker_finds_a_seq_scan_on_a_big_table_at_any_depth() -> None:
    assert seq_scans(SEQ_PLAN, {"donations_item"}) == ["donations_item"]
    assert seq_scans(json.dumps(SEQ_PLAN), {"donations_item"}) == ["donations_item"]


def test_the_plan_checker_accepts_index_scans_and_seq_scans_of_small_tables() -> None:
    assert seq_scans(INDEX_PLAN, {"donations_item"}) == []
    assert seq_scans(SEQ_PLAN, set()) == []


def test_wrk_figures_are_read_from_the_scripts_json_line() -> None:
    output = (
        "Running 2s test\n"
        'WRK_JSON {"requests": 500, "duration_us": 2000000, "non_2xx_3xx": 3, "connect_errors": 0, '
        '"read_errors": 1, "timeouts": 0, "p50_us": 1500, "p99_us": 9000, "max_us": 12000, '
        '"server_errors": 0, "created": 497}\n'
    )
    result = parse(output)
    assert result.throughput == 250
    assert (result.p50_ms, result.p99_ms, result.socket_errors, result.created) == (1.5, 9.0, 1, 497)


def test_a_profile_summary_sets_waits_apart_and_gives_each_sample_to_its_innermost_layer(tmp_path: Path) -> None:
    profile = tmp_path / "p.txt"
    profile.write_text(
        "process 1;thread (0x1);run (uvicorn/main.py:1);__call__ (django/middleware/csrf.py:1);"
        "get (rest_framework/views.py:1);execute (django/db/backends/utils.py:1) 3\n"
        "process 1;thread (0x2);thread_handler (asgiref/sync.py:1);__call__ (django/middleware/csrf.py:1) 1\n"
        "process 1;thread (0x3);_worker (concurrent/futures/thread.py:81) 4\n"
    )
    summary = summarise(profile)
    assert "8 samples over all threads, 4 of them running Python" in summary
    assert "50.0 % of all  threads parked" in summary
    assert "75.0 %  database driver" in summary
    assert "25.0 %  Django middleware" in summary


def test_a_worker_at_start_loads_neither_twisted_nor_the_openapi_machinery_nor_weasyprint() -> None:
    # What kept the idle worker over 80 MiB (bench/footprint.py): daphne's Twisted as an installed
    # app, the OpenAPI extension imported at start-up, and the system checks importing every view.
    # (After its first email a worker has reversed a URL, hence imported the URLconf: the bench
    # reports what the real processes loaded then.)
    import os
    import subprocess
    import sys

    probe = (
        "import sys, django; django.setup(); "
        "from django_q.management.commands.qcluster import Command; from django_q.cluster import Cluster; "
        "from django.conf import settings; from django.utils.module_loading import import_string; "
        "[import_string(path) for path, _every in settings.PERIODIC_JOBS]; "
        "print(sorted(m for m in ('twisted', 'drf_spectacular.plumbing', 'weasyprint') "
        "if m in sys.modules))"
    )
    env = {key: value for key, value in os.environ.items() if key != "DEBUG"}
    env.update(DJANGO_SETTINGS_MODULE="tremma.settings", SECRET_KEY="test-only-" + "x" * 50)
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]"]
    # The system checks import every URLconf and view: the Procfile's worker skips them
    # (they run on each deploy, in the release step).
    assert "--skip-checks" in procfile_lines((Path(__file__).parent.parent / "Procfile").read_text())["worker"]


def fake_proc(tmp_path: Path, processes: dict[int, tuple[int, int, int, int]]) -> Path:
    """A /proc with ``pid: (ppid, rss, pss, private)`` entries (KiB), as Linux writes them."""
    for pid, (ppid, rss, pss, private) in processes.items():
        folder = tmp_path / str(pid)
        folder.mkdir()
        (folder / "stat").write_text(f"{pid} (python3 x) S {ppid} {pid} {pid} 0 -1\n")
        (folder / "smaps_rollup").write_text(
            f"55d0-7ffd ---p 00000000 00:00 0    [rollup]\nRss:    {rss} kB\nPss:    {pss} kB\n"
            f"Shared_Clean:    {rss - private} kB\nPrivate_Clean:    {private // 2} kB\n"
            f"Private_Dirty:    {private - private // 2} kB\n"
        )
    (tmp_path / "self").mkdir()
    return tmp_path


def test_the_worker_tree_is_read_from_proc_parents_first_with_rss_pss_and_uss(tmp_path: Path) -> None:
    from bench.footprint import memory_kib, tree_pids

    proc = fake_proc(
        tmp_path,
        {
            10: (1, 60000, 20000, 9000),  # main
            11: (10, 62000, 15000, 9000),  # guard
            14: (11, 80000, 30000, 21000),  # worker
            12: (11, 81000, 31000, 22000),  # worker
            15: (11, 58000, 9000, 4000),  # monitor
            99: (1, 1000, 1000, 1000),  # not ours
        },
    )
    assert tree_pids(10, proc) == [10, 11, 12, 14, 15]
    assert memory_kib(12, proc) == (81000, 31000, 22000)


def test_processes_that_did_not_answer_get_their_role_from_django_q2s_layout() -> None:
    from bench.footprint import Member, labels, ordered, roles_by_position

    members = [Member(10, 1, 1, 1, 1), Member(11, 10, 1, 1, 1)]
    members += [Member(pid, 11, pid, 1, 1) for pid in (12, 13, 14, 15)]
    roles_by_position(members, workers=2)
    assert [m.role for m in members] == ["main", "guard", "worker", "worker", "monitor", "pusher"]
    assert labels(members) == ["main", "guard", "worker 1", "worker 2", "monitor", "pusher"]
    # A process was replaced (one more or one fewer than the layout): no guessing.
    odd = [Member(10, 1, 1, 1, 1), Member(11, 10, 1, 1, 1), Member(12, 11, 1, 1, 1)]
    roles_by_position(odd, workers=2)
    assert [m.role for m in odd] == ["main", "guard", "unknown"]
    # An answer from the process itself wins over the layout; workers come largest first.
    answered = [Member(10, 1, 5, 1, 1, role="main"), Member(11, 10, 5, 1, 1, role="guard")]
    answered += [Member(12, 11, 5, 1, 1, role="pusher"), Member(13, 11, 7, 1, 1, role="worker")]
    answered += [Member(14, 11, 9, 1, 1, role="worker"), Member(15, 11, 5, 1, 1, role="monitor")]
    roles_by_position(answered, workers=2)
    assert [(m.role, m.pid) for m in ordered(answered)] == [
        ("main", 10),
        ("guard", 11),
        ("worker", 14),
        ("worker", 13),
        ("monitor", 15),
        ("pusher", 12),
    ]


def test_the_probe_names_the_innermost_django_q_loop_of_the_stack() -> None:
    import sys

    from bench.worker_probe.sitecustomize import role_of

    def loop_in(filename: str, name: str, inner: str = "") -> object:
        """A function called ``name`` compiled as if it lived in ``filename``; it returns its frame
        (or that of ``inner``, called from it)."""
        scope: dict[str, object] = {"sys": sys, "inner": inner}
        body = f"def {name}(inner=None):\n    return inner() if inner else sys._getframe()\n"
        exec(compile(body, filename, "exec"), scope)
        return scope[name]

    site = "/venv/lib/python3.11/site-packages/"
    guard = loop_in(site + "django_q/cluster.py", "guard")
    worker = loop_in(site + "django_q/worker.py", "worker")
    assert role_of(guard()) == "guard"  # type: ignore[operator]
    # A forked worker's stack still holds the guard's frames beneath its own.
    assert role_of(guard(worker)) == "worker"  # type: ignore[operator]
    assert role_of(sys._getframe()) == "unknown"


def test_a_process_started_with_the_probe_answers_sigusr1_with_its_role_and_modules(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from bench.footprint import PROBE_SITE

    env = {**os.environ, "PYTHONPATH": str(PROBE_SITE), "TREMMA_BENCH_PROBE_DIR": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, json; print('up', flush=True); time.sleep(30)"],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
        os.kill(child.pid, signal.SIGUSR1)
        answer = tmp_path / f"{child.pid}.txt"
        deadline = time.monotonic() + 10
        while not answer.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        role, *modules = answer.read_text().split()
        assert role == "unknown"  # not one of django-q2's loops
        assert "json" in modules and "sitecustomize" in modules
        assert child.poll() is None  # the signal did not stop it
    finally:
        child.kill()
        child.wait()


def test_each_worker_process_is_a_figure_against_80_mib_and_the_totals_sum_pss_and_rss(tmp_path: Path) -> None:
    from bench.footprint import Member, figures

    mib = 1024

    def run(worker_rss: int) -> list[Member]:
        return [
            Member(10, 1, 60 * mib, 20 * mib, 5 * mib, role="main"),
            Member(11, 10, 62 * mib, 15 * mib, 5 * mib, role="guard"),
            Member(12, 11, worker_rss * mib, 30 * mib, 20 * mib, "worker", frozenset({"qrcode", "json"})),
            Member(13, 11, 70 * mib, 25 * mib, 10 * mib, role="worker"),
        ]

    report = Report(environment={})
    report.results = tmp_path
    figures(report, [run(86), run(84), run(75)], waits=[31, 32, 31], quiet=10, replayed=28, jobs=8)
    by_name = {f.name: f for f in report.figures}
    assert list(by_name) == [
        "idle RSS, main",
        "idle RSS, guard",
        "idle RSS, worker 1",
        "idle RSS, worker 2",
        "idle RSS, largest process",
        "idle total, 4 processes (sum of PSS)",
        "idle total, 4 processes (sum of RSS)",
    ]
    assert by_name["idle RSS, worker 1"].value.runs == [86, 84, 75]
    assert by_name["idle RSS, worker 1"].met is False  # median 84 > 80
    assert "heavy modules loaded: qrcode" in by_name["idle RSS, worker 1"].notes
    assert by_name["idle RSS, main"].met is True
    assert by_name["idle RSS, largest process"].value.runs == [86, 84, 75]
    assert by_name["idle total, 4 processes (sum of PSS)"].value.runs == [90, 90, 90]
    assert by_name["idle total, 4 processes (sum of RSS)"].value.runs == [278, 276, 267]
    assert by_name["idle total, 4 processes (sum of PSS)"].target is None
    assert "8 periodic jobs made due at start" in by_name["idle RSS, guard"].notes


@pytest.mark.django_db
def test_the_bench_gives_the_planner_the_statistics_autovacuum_keeps() -> None:
    """Before each measured phase the bench ANALYZEs its database (PostgreSQL), so queries are planned
    as on a production server even where autovacuum is off; on SQLite there is nothing to do."""
    from django.db import connection

    from bench.harness import statistics_refresh
    from tests.components import require
    from tests.factories import ItemFactory

    if connection.vendor != "postgresql":
        assert statistics_refresh() == ""
        require("postgres", False, f"database is {connection.vendor}")
    ItemFactory.create_batch(3)

    def rows_believed() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'donations_item'")
            return float(cursor.fetchone()[0])

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        setting = cursor.fetchone()[0]
    assert statistics_refresh() == setting
    assert rows_believed() == 3.0
