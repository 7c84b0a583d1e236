from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from ledger.selectors import reconcile_provider_register
        from payments import checks  # noqa: F401  (registers the deployment checks)
        from payments.gateways import GatewayError, gateway

        # The ledger's reconciliation asks the configured provider (manage.py reconcile --provider).
        reconcile_provider_register(gateway, errors=(GatewayError,))
