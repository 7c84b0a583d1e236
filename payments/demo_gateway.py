"""The demo gateway, used when no Stripe key is configured: the checkout is
our own page (payments.views.demo_checkout), and paying there builds the same
``PaymentEvent`` objects as the Stripe webhook and hands them to the very same
processing (payments.events.event_receive). No real money moves.

Like Stripe, it keeps its own books (``DemoSession``: each checkout it opened;
the refund events it sent) and never reads or calls the rooms above it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from payments import gateways as gw
from payments.events import event_receive
from payments.gateways import (
    CheckoutRequest,
    CheckoutSession,
    ConnectAccountRequest,
    ConnectAccountState,
    GatewayError,
    PaymentEvent,
    PaymentFeeCharged,
    TransferReversalDone,
)
from payments.models import DemoSession, ProviderEvent

PROVIDER = "demo"
SESSION_PREFIX = "demo_cs_"
PAYMENT_PREFIX = "demo_pi_"
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
    return PAYMENT_PREFIX + session_id.removeprefix(SESSION_PREFIX)


def session_id_for(payment_id: str) -> str:
    return SESSION_PREFIX + payment_id.removeprefix(PAYMENT_PREFIX)


def _refunded_cents(payment_id: str) -> int:
    """What the demo provider has refunded of a payment: the largest cumulative
    amount of the refund events it sent (they are its record, as Stripe's charge is)."""
    sent = ProviderEvent.objects.filter(provider=PROVIDER, type=gw.PAYMENT_REFUNDED, payment_id=payment_id)
    return max((int(value or 0) for value in sent.values_list("event__refunded_cents", flat=True)), default=0)


def _paid_session(payment_id: str, *, lock: bool = False) -> DemoSession | None:
    """The session a payment was made in (the demo payment's id is derived from its session's)."""
    sessions = DemoSession.objects.select_for_update() if lock else DemoSession.objects
    return sessions.filter(session_id=session_id_for(payment_id)).first()


class DemoGateway:
    name = PROVIDER

    def checkout_create(self, request: CheckoutRequest) -> CheckoutSession:
        token = session_token(request.idempotency_key)
        # A retry with the same key gets the same session back, as at Stripe.
        session, _created = DemoSession.objects.get_or_create(
            session_id=SESSION_PREFIX + token,
            defaults={
                "kind": request.kind,
                "object_id": request.object_id,
                "amount_cents": request.amount_cents,
                "currency": request.currency,
                "description": request.description[:300],
                "lines": [
                    {"description": line.description[:300], "amount_cents": line.amount_cents} for line in request.lines
                ],
                "email": request.email,
                "success_url": request.success_url,
                "cancel_url": request.cancel_url,
                "expires_at": request.expires_at,
            },
        )
        url = settings.SITE_URL + reverse("payments:demo-checkout", kwargs={"token": token})
        return CheckoutSession(id=session.session_id, url=url, expires_at=session.expires_at)

    def checkout_expire(self, session_id: str) -> None:
        """As Stripe's expire: the page can no longer be paid (the buyer cancelled, say). Our side
        already knows, so no event is sent back; the demo page reads this row."""
        DemoSession.objects.filter(session_id=session_id, status=DemoSession.Status.OPEN).update(
            status=DemoSession.Status.EXPIRED
        )

    def checkout_paid_event(self, session_id: str) -> PaymentEvent | None:
        return None  # the demo page processes its payment before it redirects

    def payment_amounts(self, payment_id: str) -> tuple[int, int]:
        session = _paid_session(payment_id)
        return (session.amount_cents, _refunded_cents(payment_id)) if session is not None else (0, 0)

    def refund_create(self, *, payment_id: str, amount_cents: int | None, idempotency_key: str) -> str:
        """What Stripe does on a refund: the refund is immediate, and the same
        ``payment.refunded`` event (the payment with its cumulative amount
        refunded) goes through ``event_receive``.

        The session's row is locked while the cumulative amount is computed and
        the event applied: refunds sent at the same moment add up instead of each
        starting from the same total. The event's id comes from the idempotency
        key, as Stripe answers a retried key with the refund it already made: a
        retry refunds nothing more, and two refunds of the same amount stay two."""
        with transaction.atomic():
            session = _paid_session(payment_id, lock=True)
            if session is None:
                raise GatewayError(f"demo: no payment {payment_id}")
            already = _refunded_cents(payment_id)
            cumulative = min(session.amount_cents, already + (amount_cents or session.amount_cents))
            event_receive(
                event=PaymentEvent(
                    provider=PROVIDER,
                    id=f"demo_evt_refunded_{payment_id}_{idempotency_key}",
                    type=gw.PAYMENT_REFUNDED,
                    kind=session.kind,
                    object_id=session.object_id,
                    payment_id=payment_id,
                    amount_cents=session.amount_cents,
                    currency=session.currency,
                    refunded_cents=cumulative,
                )
            )
        return f"demo_re_{idempotency_key}"

    def transfer_create(
        self, *, amount_cents: int, currency: str, destination: str, transfer_group: str, idempotency_key: str
    ) -> str:
        # One transfer per idempotency key, as at Stripe (an order's parts share one group).
        return f"demo_tr_{idempotency_key.removeprefix('tremma-').removesuffix('-transfer')}"

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
        session = _paid_session(payment_id)
        if session is None:
            return None
        return PaymentFeeCharged(
            balance_id=f"demo_txn_{payment_id}", amount_cents=demo_fee_cents(session.amount_cents), currency="EUR"
        )


def onboarding_link_data(token: str) -> dict[str, Any] | None:
    """The account and return addresses of a demo onboarding link; None if forged or expired."""
    try:
        data = signing.loads(token, salt=ONBOARDING_SALT, max_age=ONBOARDING_LINK_SECONDS)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and str(data.get("account", "")).startswith(ACCOUNT_PREFIX) else None


def expired_event(session: DemoSession) -> PaymentEvent:
    """What Stripe would send when ``session`` expires."""
    return PaymentEvent(
        provider=PROVIDER,
        id=f"demo_evt_expired_{session.session_id}",
        type=gw.CHECKOUT_EXPIRED,
        kind=session.kind,
        object_id=session.object_id,
        session_id=session.session_id,
    )


def completed_event(*, kind: str, object_id: int, session_id: str, amount_cents: int, currency: str) -> PaymentEvent:
    """What Stripe would send once the demo card is accepted."""
    return PaymentEvent(
        provider=PROVIDER,
        # One id per session: paying twice on the page is a replay, not a second payment.
        id=f"demo_evt_completed_{session_id}",
        type=gw.PAYMENT_SUCCEEDED,
        kind=kind,
        object_id=object_id,
        session_id=session_id,
        payment_id=payment_id_for(session_id),
        amount_cents=amount_cents,
        currency=currency,
    )


def _session_close(session_id: str, *, to: str, event: Callable[[DemoSession], PaymentEvent]) -> bool:
    """Close an open session (``to``) and send the event Stripe would, through the same processing,
    in one transaction holding the session's lock. False if it was not open."""
    with transaction.atomic():
        session = DemoSession.objects.select_for_update().filter(session_id=session_id).first()
        if session is None or session.status != DemoSession.Status.OPEN:
            return False
        DemoSession.objects.filter(pk=session.pk).update(status=to)
        event_receive(event=event(session))
    return True


def session_pay(session_id: str) -> bool:
    """The demo card is accepted: the session is complete and the payment event
    goes through the same processing as Stripe's. False if it was not open."""
    return _session_close(
        session_id,
        to=DemoSession.Status.COMPLETE,
        event=lambda session: completed_event(
            kind=session.kind,
            object_id=session.object_id,
            session_id=session.session_id,
            amount_cents=session.amount_cents,
            currency=session.currency,
        ),
    )


def session_expire(session_id: str) -> bool:
    """The session's time is over: Stripe's expired event, through the same processing. False if it was not open."""
    return _session_close(session_id, to=DemoSession.Status.EXPIRED, event=expired_event)
