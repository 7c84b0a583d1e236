"""The only module that imports the Stripe SDK. Everything else sees our own
small dataclasses (payments.gateways)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings

from payments import gateways as gw
from payments.gateways import (
    CheckoutLine,
    CheckoutRequest,
    CheckoutSession,
    ConnectAccountRequest,
    ConnectAccountState,
    ConnectEvent,
    GatewayError,
    PaymentEvent,
    PaymentFeeCharged,
    TransferReversalDone,
)

PROVIDER = "stripe"
# Our languages that Stripe Checkout speaks; any other opens in the browser's ("auto").
STRIPE_LOCALES = frozenset({"fr", "en"})


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


class StripeGateway:
    """Stripe Checkout Sessions, and Connect "separate charges and transfers":
    the charge is the platform's, a Transfer pays the organisation later."""

    name = PROVIDER

    def checkout_create(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = {"tremma_kind": request.kind, "tremma_id": str(request.object_id)}
        lines = request.lines or (CheckoutLine(description=request.description, amount_cents=request.amount_cents),)
        if sum(line.amount_cents for line in lines) != request.amount_cents:
            raise ValueError(f"checkout lines of {request.reference} do not add up to its amount")
        params: dict[str, Any] = {
            "mode": "payment",
            "locale": request.locale if request.locale in STRIPE_LOCALES else "auto",
            # Apple Pay and Google Pay are offered through "card" on the hosted page.
            "payment_method_types": ["card"],
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": line.amount_cents,
                        "product_data": {"name": line.description[:250]},
                    },
                }
                for line in lines
            ],
            "customer_email": request.email,
            # No Stripe Customer per attempt (card-testing hygiene).
            "customer_creation": "if_required",
            "client_reference_id": request.reference,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "transfer_group": request.reference},
            "expires_at": int(request.expires_at.timestamp()),
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        if request.interval:
            _subscription_mode(params, request)
        try:
            session = stripe_client().v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayError(f"checkout session not created: {error.__class__.__name__}") from error
        return CheckoutSession(
            id=session.id, url=session.url or "", expires_at=datetime.fromtimestamp(session.expires_at, tz=UTC)
        )

    def checkout_expire(self, session_id: str) -> None:
        try:
            stripe_client().v1.checkout.sessions.expire(session_id)
        except stripe.StripeError as error:
            raise GatewayError(f"checkout session {session_id} not expired: {error.__class__.__name__}") from error

    def checkout_paid_event(self, session_id: str) -> PaymentEvent | None:
        try:
            session = stripe_client().v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as error:
            raise GatewayError(f"checkout session {session_id} not read: {error.__class__.__name__}") from error
        if session.payment_status != "paid":
            return None
        # Not a provider event: its own id, so the webhook's event is still recorded when it comes;
        # the order's lock and the ledger's unique key make the two count once.
        synthetic = {"id": f"refetch_{session.id}", "type": "checkout.session.completed"}
        return event_from_dict({**synthetic, "data": {"object": session.to_dict()}})

    def payment_amounts(self, payment_id: str) -> tuple[int, int]:
        try:
            intent = stripe_client().v1.payment_intents.retrieve(payment_id)
            latest = intent.latest_charge
            charge_id = latest if isinstance(latest, str) else getattr(latest, "id", "")
            charge = stripe_client().v1.charges.retrieve(str(charge_id))
        except (stripe.StripeError, AttributeError) as error:
            raise GatewayError(f"payment {payment_id} not read: {error.__class__.__name__}") from error
        # amount_captured is what was received (localstripe omits it; the amount is then the same).
        data = charge.to_dict()
        return int(data.get("amount_captured") or data["amount"]), int(data["amount_refunded"])

    def refund_create(self, *, payment_id: str, amount_cents: int | None, idempotency_key: str) -> str:
        params: dict[str, Any] = {"payment_intent": payment_id}
        if amount_cents is not None:
            params["amount"] = amount_cents
        try:
            refund = stripe_client().v1.refunds.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayError(f"refund of {payment_id} failed: {error.__class__.__name__}") from error
        return str(refund.id)

    def transfer_create(
        self, *, amount_cents: int, currency: str, destination: str, transfer_group: str, idempotency_key: str
    ) -> str:
        try:
            transfer = stripe_client().v1.transfers.create(
                {
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "destination": destination,
                    "transfer_group": transfer_group,
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayError(f"transfer {transfer_group} failed: {error.__class__.__name__}") from error
        return str(transfer.id)

    # --- Connect onboarding (Express accounts, Account Links) ---

    def connect_account_create(self, request: ConnectAccountRequest) -> ConnectAccountState:
        params: dict[str, Any] = {
            "type": "express",
            "country": request.country,
            "email": request.email,
            # Separate charges and transfers: the account only receives transfers.
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"tremma_organisation": str(request.organisation_id)},
        }
        if request.business_type:
            params["business_type"] = request.business_type
        try:
            account = stripe_client().v1.accounts.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            raise GatewayError(f"connected account not created: {error.__class__.__name__}") from error
        data = account.to_dict()
        return account_state(data, as_of=datetime.fromtimestamp(int(data.get("created") or 0), tz=UTC))

    def connect_onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        try:
            link = stripe_client().v1.account_links.create(
                {
                    "account": account_id,
                    "type": "account_onboarding",
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                }
            )
        except stripe.StripeError as error:
            raise GatewayError(f"onboarding link of {account_id} not created: {error.__class__.__name__}") from error
        return str(link.url)

    def connect_account_state(self, account_id: str) -> ConnectAccountState | None:
        read_at = datetime.now(tz=UTC)
        try:
            account = stripe_client().v1.accounts.retrieve(account_id)
        except stripe.StripeError as error:
            raise GatewayError(f"connected account {account_id} not read: {error.__class__.__name__}") from error
        return account_state(account.to_dict(), as_of=read_at)

    def transfer_reverse(self, *, transfer_id: str, amount_cents: int, idempotency_key: str) -> TransferReversalDone:
        try:
            reversal = stripe_client().v1.transfers.reversals.create(
                transfer_id, {"amount": amount_cents}, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise GatewayError(f"reversal of {transfer_id} failed: {error.__class__.__name__}") from error
        return TransferReversalDone(id=str(reversal.id), transfer_id=transfer_id, amount_cents=int(reversal.amount))

    def payment_fee(self, payment_id: str) -> PaymentFeeCharged | None:
        # The fee is on the charge's balance transaction, which exists once the charge has settled.
        try:
            intent = stripe_client().v1.payment_intents.retrieve(payment_id)
            latest = intent.latest_charge
            charge_id = latest if isinstance(latest, str) else getattr(latest, "id", "")
            if not charge_id:
                return None
            charge = stripe_client().v1.charges.retrieve(str(charge_id), {"expand": ["balance_transaction"]})
        except (stripe.StripeError, AttributeError) as error:
            raise GatewayError(f"fee of {payment_id} not read: {error.__class__.__name__}") from error
        balance = charge.to_dict().get("balance_transaction")
        if not isinstance(balance, dict):
            return None
        return PaymentFeeCharged(
            balance_id=str(balance["id"]), amount_cents=int(balance["fee"]), currency=str(balance["currency"]).upper()
        )

    # --- Subscriptions (monthly gifts): Checkout in mode "subscription", then one invoice a month ---

    def subscription_update(self, *, subscription_id: str, amount_cents: int, idempotency_key: str) -> None:
        client = stripe_client()
        try:
            subscription = client.v1.subscriptions.retrieve(subscription_id).to_dict()
            item = subscription["items"]["data"][0]
            price = item["price"]
            product = price["product"] if isinstance(price["product"], str) else price["product"]["id"]
            client.v1.subscriptions.update(
                subscription_id,
                {
                    "items": [
                        {
                            "id": item["id"],
                            # A subscription item's inline price names its product (Checkout made it).
                            "price_data": {
                                "currency": str(price["currency"]),
                                "product": str(product),
                                "unit_amount": amount_cents,
                                "recurring": {"interval": str(price["recurring"]["interval"])},
                            },
                        }
                    ],
                    # The month already paid stays as paid: the new amount applies from the next invoice.
                    "proration_behavior": "none",
                },  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except (stripe.StripeError, KeyError, IndexError, TypeError) as error:
            raise GatewayError(f"subscription {subscription_id} not updated: {error.__class__.__name__}") from error

    def subscription_cancel(self, *, subscription_id: str) -> None:
        client = stripe_client()
        try:
            client.v1.subscriptions.cancel(subscription_id)
        except stripe.InvalidRequestError as error:
            # Already cancelled (by Stripe after its last retry, or twice): what we wanted.
            try:
                if client.v1.subscriptions.retrieve(subscription_id).status == "canceled":
                    return
            except stripe.StripeError:
                pass
            raise GatewayError(f"subscription {subscription_id} not cancelled: {error.__class__.__name__}") from error
        except stripe.StripeError as error:
            raise GatewayError(f"subscription {subscription_id} not cancelled: {error.__class__.__name__}") from error


def _subscription_mode(params: dict[str, Any], request: CheckoutRequest) -> None:
    """A monthly gift's checkout: Stripe's mode "subscription", a recurring inline price; the
    subscription carries our reference, so each of its invoices names our monthly gift."""
    params["mode"] = "subscription"
    for line in params["line_items"]:
        line["price_data"]["recurring"] = {"interval": request.interval}
    # Stripe makes the customer a subscription needs; these belong to one-off payments only.
    del params["customer_creation"], params["payment_intent_data"]
    if request.subscription_ref is not None:
        kind, object_id = request.subscription_ref
        params["metadata"] = {**params["metadata"], "tremma_subscription": f"{kind}-{object_id}"}
        params["subscription_data"] = {
            "metadata": {"tremma_kind": kind, "tremma_id": str(object_id)},
            "description": request.description[:500],
        }


def account_state(account: dict[str, Any], *, as_of: datetime) -> ConnectAccountState:
    """Our view of a Stripe Account object."""
    capabilities = account.get("capabilities") or {}
    requirements = account.get("requirements") or {}
    due = [*(requirements.get("past_due") or []), *(requirements.get("currently_due") or [])]
    return ConnectAccountState(
        account_id=str(account.get("id") or ""),
        transfers_active=capabilities.get("transfers") == "active",
        payouts_enabled=bool(account.get("payouts_enabled")),
        details_submitted=bool(account.get("details_submitted")),
        requirements_due=tuple(dict.fromkeys(str(name) for name in due))[:50],
        disabled_reason=str(requirements.get("disabled_reason") or "")[:80],
        as_of=as_of,
    )


class InvalidWebhook(Exception):
    """Unsigned, forged, altered or stale payload."""


def _verified(*, payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """Verify the signature (raw body, default tolerance of 300 s) with one endpoint's secret, with
    the SDK's own check (``construct_event`` does the same, then builds a StripeObject we only read
    as a dict: a third of a delivery's time)."""
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        data = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as error:  # UnicodeDecodeError and JSON's are ValueErrors
        raise InvalidWebhook(str(error.__class__.__name__)) from error
    if not isinstance(data, dict):
        raise InvalidWebhook("not an event")
    if b"\\u0000" in payload and _holds_nul(data):
        # Signed, but no Stripe event carries a NUL, which PostgreSQL's text and JSON cannot hold.
        raise InvalidWebhook("NUL character")
    return data


# What reading a signed event of a shape we do not know raises: refused as InvalidWebhook (400).
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def webhook_event(*, payload: bytes, signature: str) -> PaymentEvent:
    """The platform endpoint's event, verified and normalised. A paid invoice names its
    PaymentIntent only in its payments (Stripe's API since 2025-03-31): when the event does
    not carry them, they are read (``GatewayError`` if Stripe cannot say: the webhook answers
    503 and Stripe delivers it again), so that the charge can be refunded like any payment."""
    data = _verified(payload=payload, signature=signature, secret=settings.STRIPE_WEBHOOK_SECRET)
    try:
        event = event_from_dict(data)
    except _SHAPE_ERRORS as error:
        # Signed by Stripe but not the shape we know: refused, so it shows in Stripe's delivery log.
        raise InvalidWebhook(f"unexpected event shape: {error.__class__.__name__}") from error
    if event.type == gw.CHARGE_SUCCEEDED and event.invoice_id and not event.payment_id:
        event = replace(event, payment_id=_invoice_payment_intent(event.invoice_id))
    return event


def _invoice_payment_intent(invoice_id: str) -> str:
    try:
        payments = stripe_client().v1.invoice_payments.list({"invoice": invoice_id, "status": "paid"})
    except stripe.StripeError as error:
        raise GatewayError(f"payments of invoice {invoice_id} not read: {error.__class__.__name__}") from error
    for payment in payments.to_dict().get("data") or []:
        intent = (payment.get("payment") or {}).get("payment_intent")
        if intent:
            return str(intent if isinstance(intent, str) else intent.get("id", ""))
    return ""


def connect_webhook_event(*, payload: bytes, signature: str) -> ConnectEvent:
    """The Connect endpoint's event (events of the connected accounts), verified
    with that endpoint's own secret, and normalised."""
    event = _verified(payload=payload, signature=signature, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET)
    try:
        obj: dict[str, Any] = (event.get("data") or {}).get("object") or {}
        account = None
        if event["type"] == "account.updated" and obj.get("object") == "account" and obj.get("id"):
            account = account_state(obj, as_of=datetime.fromtimestamp(int(event["created"]), tz=UTC))
        return ConnectEvent(
            provider=PROVIDER, id=str(event["id"]), type=str(event["type"]), account=account, payload=event
        )
    except _SHAPE_ERRORS as error:
        # Signed by Stripe but not the shape we know: refused, so it shows in Stripe's delivery log.
        raise InvalidWebhook(f"unexpected event shape: {error.__class__.__name__}") from error


def _metadata_ref(obj: dict[str, Any]) -> tuple[str, int | None]:
    metadata = obj.get("metadata") or {}
    kind = str(metadata.get("tremma_kind", ""))
    raw = str(metadata.get("tremma_id", ""))
    return (kind, int(raw)) if kind in {"order", "gift", "recurring"} and raw.isdigit() else ("", None)


def _type(event: dict[str, Any], obj: dict[str, Any]) -> str:
    """Stripe's event name in our words (payments.gateways): the only place that knows Stripe's names."""
    name = str(event["type"])
    if name == "checkout.session.completed" and obj.get("mode") == "subscription":
        # The money of a subscription arrives with its invoices (invoice.paid), the first one too.
        return gw.SUBSCRIPTION_STARTED
    if name == "checkout.session.completed":
        # Cards are paid at once; a bank debit completes the session unpaid, then succeeds or fails.
        return gw.PAYMENT_SUCCEEDED if obj.get("payment_status") == "paid" else gw.PAYMENT_PROCESSING
    return STRIPE_TYPES.get(name, gw.OTHER)


STRIPE_TYPES = {
    "checkout.session.async_payment_succeeded": gw.PAYMENT_SUCCEEDED,
    "checkout.session.async_payment_failed": gw.PAYMENT_FAILED,
    "checkout.session.expired": gw.CHECKOUT_EXPIRED,
    "charge.refunded": gw.PAYMENT_REFUNDED,
    "charge.dispute.created": gw.DISPUTE_OPENED,
    "charge.dispute.closed": gw.DISPUTE_CLOSED,
    "invoice.paid": gw.CHARGE_SUCCEEDED,
    "invoice.payment_failed": gw.CHARGE_FAILED,
    "customer.subscription.deleted": gw.SUBSCRIPTION_ENDED,
}


def _id_of(value: Any) -> str:
    """An expandable field: an id, or the object it was expanded into."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _invoice_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """What an invoice says of its subscription, in Stripe's current shape (``parent.subscription_details``)
    or its former one (``subscription``, ``subscription_details``, ``payment_intent``)."""
    details = (obj.get("parent") or {}).get("subscription_details") or obj.get("subscription_details") or {}
    kind, object_id = _metadata_ref(details)
    intent = _id_of(obj.get("payment_intent"))
    if not intent:
        for payment in (obj.get("payments") or {}).get("data") or []:
            if (payment.get("status") in (None, "paid")) and (payment.get("payment") or {}).get("payment_intent"):
                intent = _id_of(payment["payment"]["payment_intent"])
                break
    attempt = obj.get("next_payment_attempt")
    return {
        "kind": kind,
        "object_id": object_id,
        "subscription_id": _id_of(details.get("subscription") or obj.get("subscription")),
        "invoice_id": str(obj.get("id") or ""),
        "payment_id": intent,
        "currency": str(obj.get("currency", "")).upper(),
        "next_attempt_at": int(attempt) if attempt else None,
    }


def event_from_dict(event: dict[str, Any]) -> PaymentEvent:
    obj: dict[str, Any] = (event.get("data") or {}).get("object") or {}
    kind, object_id = _metadata_ref(obj)
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "id": str(event["id"]),
        "type": _type(event, obj),
        "payload": event,
    }
    if str(event["type"]).startswith("checkout.session."):
        return PaymentEvent(
            **common,
            kind=kind,
            object_id=object_id,
            session_id=str(obj.get("id", "")),
            payment_id=str(obj.get("payment_intent") or ""),
            amount_cents=int(obj.get("amount_total") or 0),
            currency=str(obj.get("currency", "")).upper(),
            subscription_id=_id_of(obj.get("subscription")),
            invoice_id=_id_of(obj.get("invoice")),
        )
    if event["type"] == "invoice.paid":
        return PaymentEvent(**common, **_invoice_fields(obj), amount_cents=int(obj.get("amount_paid") or 0))
    if event["type"] == "invoice.payment_failed":
        return PaymentEvent(**common, **_invoice_fields(obj), amount_cents=int(obj.get("amount_due") or 0))
    if event["type"] == "customer.subscription.deleted":
        return PaymentEvent(**common, kind=kind, object_id=object_id, subscription_id=str(obj.get("id") or ""))
    if event["type"] == "charge.refunded":
        return PaymentEvent(
            **common,
            kind=kind,
            object_id=object_id,
            payment_id=str(obj.get("payment_intent") or ""),
            amount_cents=int(obj.get("amount") or 0),
            currency=str(obj.get("currency", "")).upper(),
            refunded_cents=int(obj.get("amount_refunded") or 0),
        )
    if str(event["type"]).startswith("charge.dispute."):
        return PaymentEvent(
            **common,
            payment_id=str(obj.get("payment_intent") or ""),
            amount_cents=int(obj.get("amount") or 0),
            currency=str(obj.get("currency", "")).upper(),
            dispute_id=str(obj.get("id", "")),
            dispute_status=str(obj.get("status", "")),
        )
    return PaymentEvent(**common)
