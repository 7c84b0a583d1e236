"""``make bench``: the benchmark suite against a real server (see README).

PostgreSQL and Redis are used when DATABASE_URL / REDIS_URL are set, else the
embedded defaults (SQLite, in-memory channel layer); the report names which."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

from bench.harness import Report, Server, base_env, bench_database_url, manage


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default="flash,fanout,qr,catalogue,webhooks", help="comma-separated scenarios")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    only = set(args.only.split(","))
    quick = args.quick

    # 1,000 sockets need more than the default 1,024 file descriptors.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    database_url, database = bench_database_url()
    redis_url = os.environ.get("REDIS_URL", "")
    env = base_env(database_url, redis_url or None)
    os.environ.update({key: env[key] for key in ("SECRET_KEY", "DATABASE_URL", "TREMMA_BENCH", "ALLOWED_HOSTS")})
    if not redis_url:
        os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tremma.settings"
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo")
    manage(env, "collectstatic", "--noinput")  # as the Procfile's release step does

    import logging

    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    report = Report(
        environment={
            "database": database,
            "channel_layer": "redis" if redis_url else "in-memory",
            "server": "uvicorn (Procfile web), 1 worker",
            "python": sys.version.split()[0],
            "machine": platform.platform(),
            "cores": os.cpu_count(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "quick": quick,
        }
    )
    print(f"Benchmarks on {database} + {report.environment['channel_layer']} layer", flush=True)
    repeats = 3
    if "flash" in only:
        from bench.scenarios import flash

        with Server({**env, "TRUSTED_PROXY_HOPS": "1"}) as server:
            flash.measure(report, server, visitors=100 if quick else 500, seconds=10, repeats=repeats)
    # Each scenario gets a fresh server, so one's memory and caches do not colour another's.
    if "catalogue" in only:
        from bench.scenarios import catalogue

        with Server(env) as server:
            catalogue.measure(
                report,
                server,
                items=5_000 if quick else 100_000,
                requests=100 if quick else 400,
                repeats=repeats,
                concurrency=8,
            )
    if "fanout" in only:
        from bench.scenarios import fanout

        ids = fanout.windows(50)
        with Server(env) as server:
            fanout.measure(
                report,
                server,
                layer=report.environment["channel_layer"],
                stream_ids=ids,
                kind="window",
                sockets=200 if quick else 1000,
                repeats=repeats,
            )
    if "webhooks" in only:
        from bench.scenarios import webhooks

        stripe_env = {
            **env,
            "STRIPE_SECRET_KEY": "sk_test_bench_only",
            "STRIPE_WEBHOOK_SECRET": webhooks.SECRET,
            # no provider call leaves this machine: the API base is a closed local port
            "STRIPE_API_BASE": "http://127.0.0.1:9",
        }
        with Server(stripe_env) as server:
            webhooks.measure(report, server, count=50 if quick else 300, repeats=repeats)
    if "qr" in only:
        from bench import qr as qr_bench

        qr_bench.measure(report, quick=quick)
    path = report.write()
    print()
    print(report.table())
    print(f"\nwritten: {path} (and bench/results/latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
