from django.apps import AppConfig


class ReceiptsConfig(AppConfig):
    name = "receipts"
    label = "receipts"

    def ready(self) -> None:
        # Django's place for wiring: receipts answer the person's data export (accounts.signals).
        from receipts import receivers  # noqa: F401
