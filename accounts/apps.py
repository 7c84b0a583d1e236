from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Comptes")

    def ready(self) -> None:
        # Registers the OpenAPI extension describing our session authentication.
        from accounts import schema  # noqa: F401
