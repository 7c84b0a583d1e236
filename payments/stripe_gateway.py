"""The only module that imports the Stripe SDK. Everything else sees our own
small dataclasses and functions (payments issue builds the checkout on this)."""

from __future__ import annotations

import stripe
from django.conf import settings


def stripe_client() -> stripe.StripeClient:
    """A client for the configured account and API base (a local
    Stripe-compatible server in tests, api.stripe.com in production)."""
    if not settings.STRIPE_SECRET_KEY:
        raise RuntimeError("Stripe is not configured (STRIPE_SECRET_KEY is empty): the demo gateway is in use")
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base, "files": base, "connect": base},
        max_network_retries=2,
    )
