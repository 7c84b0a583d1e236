"""What every page needs to know about payments."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def demo_gateway(request: HttpRequest) -> dict[str, bool]:
    """``payments_demo``: the demo gateway is on, so base.html tells every visitor no payment is real."""
    return {"payments_demo": settings.PAYMENT_GATEWAY == "demo"}
