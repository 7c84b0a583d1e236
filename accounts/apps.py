from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Comptes")
    # The OpenAPI extension (accounts.schema) is registered by tremma.urls, next to the
    # schema views: processes that never serve the schema (the worker) skip drf-spectacular.
