from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class KernelConfig(AppConfig):
    name = "kernel"
    verbose_name = "Trëmma"

    def ready(self) -> None:
        from django_q.signals import pre_execute

        from kernel import tasks

        pre_execute.connect(tasks.task_started, dispatch_uid="kernel.tasks.task_started")
        # After every migrate (the Procfile's release step): schedules as PERIODIC_JOBS says.
        post_migrate.connect(
            tasks.schedules_sync, sender=apps.get_app_config("django_q"), dispatch_uid="kernel.tasks.schedules_sync"
        )
