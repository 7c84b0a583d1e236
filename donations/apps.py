from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"

    def ready(self) -> None:
        from donations import receivers  # noqa: F401  (answers accounts.signals)
