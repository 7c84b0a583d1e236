"""Deployment checks of the payment settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

DEMO_GATEWAY_ON = "payments.E001"


@register(Tags.security, deploy=True)
def demo_gateway_check(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """An error, not a warning: a deployment on the demo gateway takes orders and gifts without any money."""
    if settings.PAYMENT_GATEWAY != "demo":
        return []
    return [
        Error(
            "The demo payment gateway is on: no payment is real.",
            hint="Set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, and remove PAYMENTS_DEMO.",
            id=DEMO_GATEWAY_ON,
        )
    ]
