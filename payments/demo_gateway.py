"""The demo gateway, used when no Stripe key is configured: the checkout is
our own page (payments.views.demo_checkout), and paying there builds the same
``PaymentEvent`` objects as the Stripe webhook and hands them to the very same
processing (payments.services.event_receive). No real money moves."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from donations.models import Order
from payments.gateways import (
    CheckoutRequest,
    CheckoutSession,
    ConnectAccountRequest,
    ConnectAccountState,
    PaymentEvent,
    PaymentFeeCharged,
    TransferReversalDone,
)

PROVIDER = "demo"
SESSION_PREFIX = "demo_cs_"
ACCOUNT_PREFIX = "demo_acct_"
ONBOARDING_SALT = "tremma.demo-onboarding"
ONBOARDING_LINK_SECONDS = 3600
# What a new account still has to give, as Stripe lists it (requirements.currently_due).
DEMO_REQUIREMENTS = ("external_account", "representative.first_name", "tos_acceptance.date")


def session_token(idempotency_key: str) -> str:
    # Derived from our row (not random), like Stripe's idempotency: a retry gives the same session.
    return salted_hmac("tremma.demo-checkout", idempotency_key).hexdigest()[:32]


def demo_fee_cents(amount_cents: int) -> int:
    """A plausible card fee, like Stripe's European cards: 1.5 % (rounded half up) plus 25 cents."""
    return (amount_cents * 15 + 500) // 1000 + 25


def payment_id_for(session_id: str) -> str:
    return "demo_pi_" + session_id.removeprefix(SESSION_PREFIX)


class DemoGateway:
    name = PROVIDER

    def checkout_create(self, request: CheckoutRequest) -> CheckoutSession:
        token = session_token(request.idempotency_key)
        url = settings.SITE_URL + reverse("payments:demo-checkout", kwargs={"token": token})
        return CheckoutSession(id=SESSION_PREFIX + token, url=url, expires_at=request.expires_at)

    def checkout_expire(self, session_id: str) -> None:
        """Nothing to tell anyone: the demo page reads our own rows."""

    def checkout_paid_event(self, session_id: str) -> PaymentEvent | None:
        return None  # the demo page processes its payment before it redirects

    def payment_amounts(self, payment_id: str) -> tuple[int, int]:
        from donations.models import Gift, Order

        # The demo "provider" keeps its books in our rows.
        target = Order.objects.filter(provider_payment_id=payment_id).first() or (
            Gift.objects.filter(provider_payment_id=payment_id).first()
        )
        return (target.amount_cents, target.refunded_cents) if target is not None else (0, 0)

    def refund_create(self, *, payment_id: str, amount_cents: int | None, idempotency_key: str) -> str:
        from payments.services import demo_refund

        return demo_refund(payment_id=payment_id, amount_cents=amount_cents, idempotency_key=idempotency_key)

    def transfer_create(
        self, *, amount_cents: int, currency: str, destination: str, transfer_group: str, idempotency_key: str
    ) -> str:
        return f"demo_tr_{transfer_group}"

    # --- Connect onboarding: our own page (payments.connect_views.demo_onboarding) stands for Stripe's form ---

    def connect_account_create(self, request: ConnectAccountRequest) -> ConnectAccountState:
        token = salted_hmac("tremma.demo-account", request.idempotency_key).hexdigest()[:24]
        return ConnectAccountState(
            account_id=ACCOUNT_PREFIX + token,
            transfers_active=False,
            payouts_enabled=False,
            details_submitted=False,
            requirements_due=DEMO_REQUIREMENTS,
            disabled_reason="requirements.past_due",
            as_of=timezone.now(),
        )

    def connect_onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        token = signing.dumps(
            {"account": account_id, "refresh": refresh_url, "return": return_url}, salt=ONBOARDING_SALT
        )
        return settings.SITE_URL + reverse("payments:demo-onboarding", kwargs={"token": token})

    def connect_account_state(self, account_id: str) -> ConnectAccountState | None:
        return None  # the demo page processes its event before it redirects

    def transfer_reverse(self, *, transfer_id: str, amount_cents: int, idempotency_key: str) -> TransferReversalDone:
        # Derived from the key, as Stripe's idempotency would: a retry gives the same reversal.
        return TransferReversalDone(
            id=f"demo_trr_{idempotency_key}", transfer_id=transfer_id, amount_cents=amount_cents
        )

    def payment_fee(self, payment_id: str) -> PaymentFeeCharged | None:
        from donations.models import Gift, Order

        target = Order.objects.filter(provider_payment_id=payment_id).first() or (
            Gift.objects.filter(provider_payment_id=payment_id).first()
        )
        if target is None:
            return None
        return PaymentFeeCharged(
            balance_id=f"demo_txn_{payment_id}", amount_cents=demo_fee_cents(target.amount_cents), currency="EUR"
        )


def onboarding_link_data(token: str) -> dict[str, Any] | None:
    """The account and return addresses of a demo onboarding link; None if forged or expired."""
    try:
        data = signing.loads(token, salt=ONBOARDING_SALT, max_age=ONBOARDING_LINK_SECONDS)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and str(data.get("account", "")).startswith(ACCOUNT_PREFIX) else None


def expired_event(*, order: Order) -> PaymentEvent:
    """What Stripe would send when the session of ``order`` expires."""
    session_id = order.provider_session_id or ""
    return PaymentEvent(
        provider=PROVIDER,
        id=f"demo_evt_expired_{session_id}",
        type="checkout.session.expired",
        kind="order",
        object_id=order.pk,
        session_id=session_id,
    )


def completed_event(*, kind: str, object_id: int, session_id: str, amount_cents: int, currency: str) -> PaymentEvent:
    """What Stripe would send once the demo card is accepted."""
    return PaymentEvent(
        provider=PROVIDER,
        # One id per session: paying twice on the page is a replay, not a second payment.
        id=f"demo_evt_completed_{session_id}",
        type="checkout.session.completed",
        kind=kind,
        object_id=object_id,
        session_id=session_id,
        payment_id=payment_id_for(session_id),
        payment_status="paid",
        amount_cents=amount_cents,
        currency=currency,
    )
