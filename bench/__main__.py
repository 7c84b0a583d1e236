"""``make bench``: the benchmark suite against a real server (see README).

PostgreSQL and Redis are used when DATABASE_URL / REDIS_URL are set, else the
embedded defaults (SQLite, in-memory channel layer); the report names which.
The server is the Procfile's ``web`` line with one worker; every figure stands
next to a ceiling measured in alternating pairs in the same run (bench.pairs).
Exits non-zero when a hard gate (counts only) fails."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import wrk
from bench.harness import RESULTS, Report, Server, bench_process, manage, statistics_refresh

SCENARIOS = "flash,basket,catalogue,fanout,webhooks,qr,worker"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default=SCENARIOS, help=f"comma-separated scenarios ({SCENARIOS})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 3 pairs, for a smoke run")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the flash and catalogue servers under py-spy (their times are then slower than without);"
        " profiles and their summaries go to bench/results/",
    )
    parser.add_argument(
        "--items",
        type=int,
        default=None,
        help="catalogue size (default 100,000; 5,000 with --quick on SQLite); 2000000 is issue 19's scale"
        " (PostgreSQL: COPY-loaded in a few minutes)",
    )
    parser.add_argument(
        "--levers",
        action="store_true",
        help="catalogue: also measure with its levers switched off one by one (cache, values rows, capped counts)",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    quick = args.quick
    pairs = 3 if quick else 5
    load_seconds = 2.0 if quick else 3.0
    wrk.require()

    # 1,000 sockets need more than the default 1,024 file descriptors.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    env, database = bench_process()
    redis_url = os.environ.get("REDIS_URL", "")
    manage(env, "collectstatic", "--noinput")  # as the Procfile's release step does

    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from django_q.models import OrmQ

    # The tasks the demo data queued (its gifts' emails, receipts, transfers): the worker scenario's work.
    # Those the other scenarios queue (a flash sale's, the webhooks' gifts) are theirs, not the idle worker's.
    demo_queue_end = OrmQ.objects.order_by("-id").values_list("id", flat=True).first() or 0
    autovacuum = statistics_refresh()
    from bench.ceilings import Ceilings

    stamp = time.strftime("%Y-%m-%dT%H%M%S")
    profiles: list[Path] = []

    def profile(name: str) -> Path | None:
        if not args.profile:
            return None
        path = RESULTS / f"profile-{stamp}-{name}.txt"
        profiles.append(path)
        return path

    server_command = " ".join(Server(env).command).replace(str(Path(sys.executable).parent) + "/", "")
    report = Report(
        environment={
            "database": database,
            "channel_layer": "redis" if redis_url else "in-memory",
            "server": server_command,
            "load_generator": f"wrk -t1 -c8 -d{load_seconds:g}s (HTTP ceilings, checkout, basket, catalogue)",
            "pairs": pairs,
            "python": sys.version.split()[0],
            "machine": platform.platform(),
            "cores": os.cpu_count(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "quick": quick,
            "profiled": args.profile,
            "autovacuum": autovacuum,
        }
    )

    def guarded(name: str, run: Callable[[], None]) -> None:
        """A scenario that crashes fails its gate; the others still run and the report is still written."""
        if name not in only:
            return
        print(f"\n== {name}", flush=True)
        try:
            run()
        except Exception as error:
            traceback.print_exc()
            report.gate(f"{name}: ran to the end", False, f"{type(error).__name__}: {error}")

    print(f"Benchmarks on {database} + {report.environment['channel_layer']} layer; server: {server_command}")
    with Ceilings(env, seconds=load_seconds) as ceilings:

        def flash_scenario() -> None:
            from bench.scenarios import flash

            # The crowd meets the Procfile as a deployment runs it (its default number of web processes);
            # throughput is measured on one worker, in pairs with the ceilings served the same way.
            flash_env = {**env, "TRUSTED_PROXY_HOPS": "1"}
            with (
                Server(flash_env, workers=None, profile=profile("flash-crowd"), name="flash-crowd") as crowd_server,
                Server(flash_env, profile=profile("flash"), name="flash") as server,
            ):
                flash.measure(
                    report,
                    server,
                    ceilings,
                    crowd_server=crowd_server,
                    visitors=100 if quick else 500,
                    seconds=10,
                    crowds=2 if quick else 3,
                    pairs=pairs,
                    load_seconds=load_seconds,
                )

        def basket_scenario() -> None:
            from bench.scenarios import basket

            with Server({**env, "TRUSTED_PROXY_HOPS": "1"}, name="basket") as server:
                basket.measure(
                    report,
                    server,
                    ceilings,
                    buyers=60 if quick else 200,
                    seconds=5,
                    pairs=pairs,
                    load_seconds=load_seconds,
                )

        # Each scenario gets a fresh server, so one's memory and caches do not colour another's.
        def catalogue_scenario() -> None:
            from bench.scenarios import catalogue

            def server_for(label: str, lever_env: dict[str, str]) -> Server:
                name = "catalogue" + ("" if not lever_env else "-" + "-".join(label.split()[:2]).strip(","))
                return Server({**env, **lever_env}, profile=profile(name) if not lever_env else None, name=name)

            catalogue.measure(
                report,
                ceilings,
                # The plan check needs the real size: PostgreSQL always gets 100,000 items or more.
                items=args.items or (5_000 if quick and database == "sqlite" else 100_000),
                pairs=pairs,
                load_seconds=load_seconds,
                server_for=server_for,
                levers=args.levers,
            )

        def webhooks_scenario() -> None:
            from bench.scenarios import webhooks

            stripe_env = {
                **env,
                "PAYMENTS_DEMO": "false",
                "STRIPE_SECRET_KEY": "sk_test_bench_only",
                "STRIPE_WEBHOOK_SECRET": webhooks.SECRET,
                "STRIPE_CONNECT_WEBHOOK_SECRET": webhooks.SECRET + "_connect",
                # no provider call leaves this machine: the API base is a closed local port
                "STRIPE_API_BASE": "http://127.0.0.1:9",
            }
            with Server(stripe_env, profile=profile("webhooks"), name="webhooks") as server:
                webhooks.measure(report, server, ceilings, seconds=load_seconds, pairs=pairs)

        guarded("flash", flash_scenario)
        guarded("basket", basket_scenario)
        guarded("catalogue", catalogue_scenario)
        guarded("webhooks", webhooks_scenario)

    def fanout_scenario() -> None:
        from bench.scenarios import fanout

        ids = fanout.windows(50)
        with Server(env, name="fanout") as server:
            fanout.measure(
                report,
                server,
                layer=report.environment["channel_layer"],
                stream_ids=ids,
                kind="window",
                sockets=200 if quick else 1000,
                pairs=pairs,
            )

    def worker_scenario() -> None:
        from bench import footprint

        dropped, _ = OrmQ.objects.filter(id__gt=demo_queue_end).delete()
        if dropped:
            print(f"  worker: {dropped} tasks queued by the other scenarios dropped (the demo data's kept)")
        footprint.measure(report, env, samples=1 if quick else 3)

    def qr_scenario() -> None:
        from bench import qr as qr_bench

        qr_bench.measure(report, quick=quick, pairs=pairs)

    guarded("fanout", fanout_scenario)
    guarded("worker", worker_scenario)
    guarded("qr", qr_scenario)
    path = report.write()
    print()
    print(report.table())
    if profiles:
        from bench.profiles import summarise

        print()
        for profile_path in profiles:
            summary = summarise(profile_path)
            profile_path.with_suffix(".summary.txt").write_text(summary + "\n")
            print(summary)
    print(f"\nwritten: {path} (and bench/results/latest.json)")
    failed = report.failed_gates
    if failed:
        print(f"FAILED gates: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
