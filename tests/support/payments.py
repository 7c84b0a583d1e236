"""Helpers for payment tests: signed Stripe webhook posts and localstripe calls."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from django.conf import settings
from django.test import Client

WEBHOOK_URL = "/payments/stripe/webhook/"
CONNECT_WEBHOOK_URL = "/payments/stripe/connect/webhook/"


def sign(payload: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """A Stripe-Signature header, computed as Stripe documents it."""
    stamp = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def post_event(client: Client, event: dict[str, Any], **sign_options: Any) -> Any:
    """Stripe delivers ``event``; then a worker runs the application the webhook enqueued."""
    payload = json.dumps(event).encode()
    response = client.post(
        WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload, **sign_options)
    )
    worker_applies(event)
    return response


def worker_applies(event: dict[str, Any]) -> None:
    """What a worker does with the task the webhook enqueued for ``event`` (payments.events.provider_event_apply).
    In a test's transaction the eager task, which runs after commit, would not run; a test that commits runs it
    after the request, and this finds the event processed."""
    from payments.events import provider_event_apply
    from payments.models import ProviderEvent

    if ProviderEvent.objects.filter(provider="stripe", event_id=event["id"], processed_at__isnull=True).exists():
        provider_event_apply(provider="stripe", event_id=event["id"])


def event(type: str, obj: dict[str, Any], *, id: str | None = None) -> dict[str, Any]:
    return {
        "id": id or f"evt_{type.replace('.', '_')}_{obj.get('id', '')}",
        "object": "event",
        "type": type,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2025-01-27",
        "data": {"object": obj},
    }


def stripe_call(method: str, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A raw call to the local Stripe-compatible server (test-only routes included)."""
    response = httpx.request(
        method,
        settings.STRIPE_API_BASE + path,
        data=data,
        headers={"Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}"},
        timeout=10,
    )
    response.raise_for_status()
    return dict(response.json())


def charge_of(payment_intent: str) -> dict[str, Any]:
    """The charge of a PaymentIntent on the local Stripe-compatible server, as a charge.* event carries it."""
    intent = stripe_call("GET", f"/v1/payment_intents/{payment_intent}")
    charge_id = intent["latest_charge"]["id"] if isinstance(intent["latest_charge"], dict) else intent["latest_charge"]
    return stripe_call("GET", f"/v1/charges/{charge_id}")


def complete_session(session_id: str) -> dict[str, Any]:
    """The buyer pays on the hosted page; returns the checkout.session.completed event."""
    return stripe_call("POST", f"/v1/checkout/sessions/{session_id}/_complete")


def post_connect_event(client: Client, event: dict[str, Any], *, secret: str | None = None, **sign_options: Any) -> Any:
    """Post an event to the Connect endpoint, signed with its own secret unless told otherwise."""
    payload = json.dumps(event).encode()
    signature = sign(payload, secret=secret or settings.STRIPE_CONNECT_WEBHOOK_SECRET, **sign_options)
    return client.post(
        CONNECT_WEBHOOK_URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def onboard_account(account_id: str) -> dict[str, Any]:
    """The account's representative completes Stripe's onboarding; returns the account.updated event."""
    return stripe_call("POST", f"/v1/accounts/{account_id}/_onboard")
