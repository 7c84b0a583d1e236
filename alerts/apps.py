from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alertes de recherche")

    def ready(self) -> None:
        from alerts import receivers  # noqa: F401  (answers accounts.signals)
