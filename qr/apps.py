from django.apps import AppConfig


class QrConfig(AppConfig):
    name = "qr"

    def ready(self) -> None:
        from qr import receivers  # noqa: F401  (answers donations.signals)
