from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class KernelConfig(AppConfig):
    name = "kernel"
    verbose_name = "Trëmma"

    def ready(self) -> None:
        from django_q.signals import pre_execute

        from kernel import tasks

        _psycopg_statement_cache_widen()

        pre_execute.connect(tasks.task_started, dispatch_uid="kernel.tasks.task_started")
        # After every migrate (the Procfile's release step): schedules as PERIODIC_JOBS says.
        post_migrate.connect(
            tasks.schedules_sync, sender=apps.get_app_config("django_q"), dispatch_uid="kernel.tasks.schedules_sync"
        )


# psycopg converts a statement's %s placeholders into PostgreSQL's $n once per text (an LRU of 128
# texts of at most 4 KiB) only when it has at most 50 parameters; past that, at every run. The
# checkout's rows are one statement of about 65 (kernel.sql.rows_together), and converting it
# again at each checkout took 7 % of the web process. Its texts are few and stable; the LRU's
# size and text limit still bound the memory.
PSYCOPG_CACHED_STATEMENT_PARAMS = 400


def _psycopg_statement_cache_widen() -> None:
    from psycopg import _queries

    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, PSYCOPG_CACHED_STATEMENT_PARAMS)
