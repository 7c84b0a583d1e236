"""The demo gateway, used when no Stripe key is configured: the checkout is
our own page (payments.views.demo_checkout), and paying there builds the same
``PaymentEvent`` objects as the Stripe webhook and hands them to the very same
processing (payments.events.event_receive). No real money moves.

Like Stripe, it keeps its own books (``DemoSession``: each checkout it opened;
the refund events it sent) and never reads or calls the rooms above it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from kernel.sql import row_insert
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
from payments.models import DemoSession, DemoSubscription, ProviderEvent

PROVIDER = "demo"
SESSION_PREFIX = "demo_cs_"
PAYMENT_PREFIX = "demo_pi_"
SUBSCRIPTION_PREFIX = "demo_sub_"
INVOICE_PREFIX = "demo_in_"
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


def _charge_amount(payment_id: str) -> int | None:
    """What a subscription's charge took (the paid-invoice event the demo sent is its record), or None."""
    sent = ProviderEvent.objects.filter(provider=PROVIDER, type=gw.CHARGE_SUCCEEDED, payment_id=payment_id)
    amount = sent.values_list("event__amount_cents", flat=True).first()
    return int(amount) if amount is not None else None


def _payment(payment_id: str, *, lock: bool = False) -> tuple[int, str, int | None] | None:
    """(amount, kind, object id) of a payment the demo took: a session's, or a subscription charge's
    (those carry no metadata, as Stripe's invoice charges: events about them name the payment only).
    ``lock``: the session's or the subscription's row, so that refunds sent at once add up."""
    session = _paid_session(payment_id, lock=lock)
    if session is not None:
        return session.amount_cents, session.kind, session.object_id
    token = payment_id.removeprefix(PAYMENT_PREFIX).rpartition("_")[0]
    subscriptions = DemoSubscription.objects.select_for_update() if lock else DemoSubscription.objects
    if not token or not subscriptions.filter(subscription_id=SUBSCRIPTION_PREFIX + token).exists():
        return None
    amount = _charge_amount(payment_id)
    return (amount, "", None) if amount is not None else None


class DemoGateway:
    name = PROVIDER

    def checkout_create(self, request: CheckoutRequest) -> CheckoutSession:
        token = session_token(request.idempotency_key)
        # A retry with the same key gets the same session back, as at Stripe.
        session = _session_get_or_create(
            SESSION_PREFIX + token,
            {
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
                "interval": request.interval,
                "subscription_kind": request.subscription_ref[0] if request.subscription_ref else "",
                "subscription_object_id": request.subscription_ref[1] if request.subscription_ref else None,
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
        payment = _payment(payment_id)
        return (payment[0], _refunded_cents(payment_id)) if payment is not None else (0, 0)

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
            payment = _payment(payment_id, lock=True)
            if payment is None:
                raise GatewayError(f"demo: no payment {payment_id}")
            paid, kind, object_id = payment
            already = _refunded_cents(payment_id)
            cumulative = min(paid, already + (amount_cents or paid))
            event_receive(
                event=PaymentEvent(
                    provider=PROVIDER,
                    id=f"demo_evt_refunded_{payment_id}_{idempotency_key}",
                    type=gw.PAYMENT_REFUNDED,
                    kind=kind,
                    object_id=object_id,
                    payment_id=payment_id,
                    amount_cents=paid,
                    currency="EUR",
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
        payment = _payment(payment_id)
        if payment is None:
            return None
        return PaymentFeeCharged(
            balance_id=f"demo_txn_{payment_id}", amount_cents=demo_fee_cents(payment[0]), currency="EUR"
        )

    # --- Subscriptions: the demo's own books (DemoSubscription), its events through the same processing ---

    def subscription_update(self, *, subscription_id: str, amount_cents: int, idempotency_key: str) -> None:
        updated = DemoSubscription.objects.filter(
            subscription_id=subscription_id, status=DemoSubscription.Status.ACTIVE
        ).update(amount_cents=amount_cents)
        if not updated:
            raise GatewayError(f"demo: no active subscription {subscription_id}")

    def subscription_cancel(self, *, subscription_id: str) -> None:
        """As at Stripe: cancelled now, and ``customer.subscription.deleted`` (our ``subscription.ended``) is sent."""
        with transaction.atomic():
            subscription = DemoSubscription.objects.select_for_update().filter(subscription_id=subscription_id).first()
            if subscription is None:
                raise GatewayError(f"demo: no subscription {subscription_id}")
            if subscription.status == DemoSubscription.Status.CANCELED:
                return
            DemoSubscription.objects.filter(pk=subscription.pk).update(status=DemoSubscription.Status.CANCELED)
            event_receive(event=ended_event(subscription))


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


def subscription_page_url(subscription_id: str) -> str:
    """The demo page of a subscription, where a person plays its next monthly charge."""
    token = subscription_id.removeprefix(SUBSCRIPTION_PREFIX)
    return reverse("payments:demo-subscription", kwargs={"token": token})


def ended_event(subscription: DemoSubscription) -> PaymentEvent:
    """What Stripe sends when a subscription is cancelled (``customer.subscription.deleted``)."""
    return PaymentEvent(
        provider=PROVIDER,
        id=f"demo_evt_ended_{subscription.subscription_id}",
        type=gw.SUBSCRIPTION_ENDED,
        kind=subscription.kind,
        object_id=subscription.object_id,
        subscription_id=subscription.subscription_id,
    )


def _subscription_start(session: DemoSession) -> None:
    """A subscription's session is paid: the subscription exists, its first invoice is paid
    (as at Stripe: checkout.session.completed, then invoice.paid). Caller's transaction."""
    token = session.session_id.removeprefix(SESSION_PREFIX)
    subscription = DemoSubscription.objects.create(
        subscription_id=SUBSCRIPTION_PREFIX + token,
        session=session,
        kind=session.subscription_kind,
        object_id=session.subscription_object_id or 0,
        amount_cents=session.amount_cents,
        currency=session.currency,
    )
    event_receive(
        event=PaymentEvent(
            provider=PROVIDER,
            id=f"demo_evt_completed_{session.session_id}",
            type=gw.SUBSCRIPTION_STARTED,
            kind=session.kind,
            object_id=session.object_id,
            session_id=session.session_id,
            amount_cents=session.amount_cents,
            currency=session.currency,
            subscription_id=subscription.subscription_id,
            invoice_id=f"{INVOICE_PREFIX}{token}_1",
        )
    )
    _invoice_charge(subscription, fail=False)


def _invoice_charge(subscription: DemoSubscription, *, fail: bool) -> PaymentEvent:
    """Charge the subscription's next invoice (or retry the one that failed): Stripe's
    ``invoice.paid`` or ``invoice.payment_failed``, through the same processing. Caller holds its lock."""
    token = subscription.subscription_id.removeprefix(SUBSCRIPTION_PREFIX)
    number = subscription.retrying_invoice or subscription.invoices + 1
    invoice_id = f"{INVOICE_PREFIX}{token}_{number}"
    common: dict[str, Any] = {
        "provider": PROVIDER,
        "kind": subscription.kind,
        "object_id": subscription.object_id,
        "subscription_id": subscription.subscription_id,
        "invoice_id": invoice_id,
        "amount_cents": subscription.amount_cents,
        "currency": subscription.currency,
    }
    if fail:
        attempts = ProviderEvent.objects.filter(
            provider=PROVIDER, type=gw.CHARGE_FAILED, event__invoice_id=invoice_id
        ).count()
        # Stripe's default "smart retries": a few more attempts over the next days.
        retry_at = int((timezone.now() + timedelta(days=3)).timestamp())
        event = PaymentEvent(
            **common, id=f"demo_evt_failed_{invoice_id}_{attempts + 1}", type=gw.CHARGE_FAILED, next_attempt_at=retry_at
        )
        DemoSubscription.objects.filter(pk=subscription.pk).update(
            invoices=max(number, subscription.invoices), retrying_invoice=number
        )
    else:
        event = PaymentEvent(
            **common,
            id=f"demo_evt_paid_{invoice_id}",
            type=gw.CHARGE_SUCCEEDED,
            payment_id=f"{PAYMENT_PREFIX}{token}_{number}",
        )
        DemoSubscription.objects.filter(pk=subscription.pk).update(
            invoices=max(number, subscription.invoices), retrying_invoice=0
        )
    event_receive(event=event)
    return event


def subscription_charge_next(subscription_id: str, *, fail: bool = False) -> bool:
    """Demo only ("Simuler le prochain prélèvement"): the next month's charge of an active
    subscription, paid, or refused (``fail``: the card is declined; the next call retries
    that invoice, as Stripe retries it). False if there is no active subscription."""
    with transaction.atomic():
        subscription = DemoSubscription.objects.select_for_update().filter(subscription_id=subscription_id).first()
        if subscription is None or subscription.status != DemoSubscription.Status.ACTIVE:
            return False
        _invoice_charge(subscription, fail=fail)
    return True


def _session_close(session_id: str, *, to: str, event: Callable[[DemoSession], PaymentEvent | None]) -> bool:
    """Close an open session (``to``) and send the event Stripe would (``event``: None when it
    sends none), through the same processing, in one transaction holding the session's lock.
    False if it was not open."""
    with transaction.atomic():
        session = DemoSession.objects.select_for_update().filter(session_id=session_id).first()
        if session is None or session.status != DemoSession.Status.OPEN:
            return False
        DemoSession.objects.filter(pk=session.pk).update(status=to)
        sent = event(session)
        if sent is not None:
            event_receive(event=sent)
    return True


def session_pay(session_id: str) -> bool:
    """The demo card is accepted: the session is complete and the payment event
    goes through the same processing as Stripe's. False if it was not open.
    A subscription's session starts the subscription and pays its first invoice.
    One transaction and one lock of the session, whichever it is."""

    def paid(session: DemoSession) -> PaymentEvent | None:
        if session.interval:
            _subscription_start(session)  # its own events, through the same processing
            return None
        return completed_event(
            kind=session.kind,
            object_id=session.object_id,
            session_id=session.session_id,
            amount_cents=session.amount_cents,
            currency=session.currency,
        )

    return _session_close(session_id, to=DemoSession.Status.COMPLETE, event=paid)


def session_expire(session_id: str) -> bool:
    """The session's time is over: Stripe's expired event, through the same processing. False if it was not open."""
    return _session_close(session_id, to=DemoSession.Status.EXPIRED, event=expired_event)


def _session_get_or_create(session_id: str, fields: dict[str, Any]) -> DemoSession:
    """The session of ``session_id``, made with ``fields`` unless it exists. Outside a
    transaction (where checkouts call the provider) a new session is one INSERT in
    autocommit, and a retry's duplicate key reads the existing one; inside one,
    Django's get_or_create (its savepoint keeps the caller's transaction usable)."""
    if transaction.get_connection().in_atomic_block:
        return DemoSession.objects.get_or_create(session_id=session_id, defaults=fields)[0]
    try:
        return row_insert(DemoSession(session_id=session_id, **fields))  # plain SQL: kernel.sql
    except IntegrityError:
        existing = DemoSession.objects.filter(session_id=session_id).first()
        if existing is None:
            raise
        return existing
