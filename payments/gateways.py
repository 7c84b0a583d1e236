"""The payment gateway interface: our own small dataclasses, whatever the
provider. ``gateway()`` returns the configured one (Stripe, or the demo
gateway when no Stripe key is set). Event processing (payments.events, then
checkout) only ever sees ``PaymentEvent``: the Stripe webhook and the demo page
build the same objects, in our own vocabulary, and hand them to the same function."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings


class GatewayError(Exception):
    """The provider could not do what we asked (network, refusal, bad state)."""


@dataclass(frozen=True)
class CheckoutLine:
    """One line of the provider's payment page (an item of a basket)."""

    description: str
    amount_cents: int


@dataclass(frozen=True)
class CheckoutRequest:
    kind: str  # "order" or "gift"
    object_id: int
    amount_cents: int
    currency: str
    description: str
    email: str
    success_url: str
    cancel_url: str
    expires_at: datetime
    # Derived from our own row: the provider returns the same session on a retry.
    idempotency_key: str
    # What the page lists (a basket: one line per item); empty: one line, ``description`` at ``amount_cents``.
    lines: tuple[CheckoutLine, ...] = ()
    # The payer's language ("fr", "en"): the provider's page opens in it.
    locale: str = "fr"
    # "month": a subscription charged every month (its first charge on this page); empty: one payment.
    interval: str = ""
    # Our reference carried by the subscription (and so by each of its invoices): ("recurring", id).
    subscription_ref: tuple[str, int] | None = None

    @property
    def reference(self) -> str:
        return f"{self.kind}-{self.object_id}"


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    expires_at: datetime


# --- What a payment provider tells us, in Trëmma's own words ------------------------------------
# Each adapter (payments.stripe_gateway, payments.demo_gateway) translates its
# provider's event names into these; nothing above the adapter sees a provider's name.

PAYMENT_SUCCEEDED = "payment.succeeded"  # the money is received (Stripe: a checkout completed and paid, or later)
PAYMENT_PROCESSING = "payment.processing"  # the checkout is complete, the money not there yet (a bank debit)
PAYMENT_FAILED = "payment.failed"  # a payment that was processing failed
CHECKOUT_EXPIRED = "checkout.expired"  # the buyer never paid: the checkout is closed
PAYMENT_REFUNDED = "payment.refunded"  # money given back; ``refunded_cents`` is the payment's cumulative refunded total
DISPUTE_OPENED = "dispute.opened"  # the payer's bank took the money back pending a dispute
DISPUTE_CLOSED = "dispute.closed"  # ``dispute_status`` "won" (money back) or "lost"
# Subscriptions (monthly gifts): started by a paid checkout, then one invoice a month.
SUBSCRIPTION_STARTED = "subscription.started"  # the checkout of a subscription is complete
CHARGE_SUCCEEDED = "subscription.charge_succeeded"  # one invoice of a subscription is paid (the first one too)
CHARGE_FAILED = "subscription.charge_failed"  # an invoice's charge failed; the provider retries it
SUBSCRIPTION_ENDED = "subscription.ended"  # cancelled (by us, or by the provider after its last retry)
OTHER = "other"  # anything else the provider sends: recorded, not applied
PAYMENT_EVENT_TYPES = frozenset(
    {
        PAYMENT_SUCCEEDED,
        PAYMENT_PROCESSING,
        PAYMENT_FAILED,
        CHECKOUT_EXPIRED,
        PAYMENT_REFUNDED,
        DISPUTE_OPENED,
        DISPUTE_CLOSED,
        SUBSCRIPTION_STARTED,
        CHARGE_SUCCEEDED,
        CHARGE_FAILED,
        SUBSCRIPTION_ENDED,
        OTHER,
    }
)
# Events about money already received: they wait (ProviderEvent.processed_at empty) until it is.
AFTER_PAYMENT = frozenset({PAYMENT_REFUNDED, DISPUTE_OPENED, DISPUTE_CLOSED})


@dataclass(frozen=True)
class PaymentEvent:
    """One thing the provider tells us, normalised: ``type`` is one of the
    names above (never the provider's own), ``payload`` the provider's event as sent."""

    provider: str
    id: str
    type: str
    kind: str = ""  # "order", "gift" or "recurring", from our metadata, when the object carries it
    object_id: int | None = None
    session_id: str = ""
    payment_id: str = ""  # the provider's payment (Stripe PaymentIntent id)
    amount_cents: int = 0
    currency: str = ""
    refunded_cents: int = 0  # cumulative, for payment.refunded
    dispute_id: str = ""
    dispute_status: str = ""
    subscription_id: str = ""  # the provider's subscription (Stripe sub_…)
    invoice_id: str = ""  # the provider's invoice: one charge of a subscription (Stripe in_…)
    next_attempt_at: int | None = None  # a failed charge: when the provider retries it (Unix time), None if never
    payload: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in PAYMENT_EVENT_TYPES:
            raise ValueError(f"{self.type!r} is not a payment event type of ours (payments.gateways)")


# --- Connect: the organisations' connected accounts -------------------------------------------


@dataclass(frozen=True)
class ConnectAccountRequest:
    organisation_id: int
    country: str
    email: str
    business_type: str  # "non_profit", "company", or "" to leave it to the onboarding form
    # Derived from our own row: a retry (or a double click) gets the same account back.
    idempotency_key: str


@dataclass(frozen=True)
class ConnectAccountState:
    """What the provider says a connected account can do, and when it said so."""

    account_id: str
    transfers_active: bool  # Stripe: capabilities.transfers == "active"
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...]  # Stripe: requirements.past_due + currently_due
    disabled_reason: str
    as_of: datetime


@dataclass(frozen=True)
class ConnectEvent:
    """One event of the Connect endpoint, normalised (Stripe's vocabulary: account.updated)."""

    provider: str
    id: str
    type: str
    account: ConnectAccountState | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferReversalDone:
    """A transfer reversal the provider made (Stripe ``transfer_reversal``)."""

    id: str
    transfer_id: str
    amount_cents: int


@dataclass(frozen=True)
class PaymentFeeCharged:
    """The provider's fee on one payment, read from its balance transaction."""

    balance_id: str
    amount_cents: int
    currency: str


class Gateway(Protocol):
    name: str

    def checkout_create(self, request: CheckoutRequest) -> CheckoutSession: ...

    def checkout_expire(self, session_id: str) -> None: ...

    def checkout_paid_event(self, session_id: str) -> PaymentEvent | None:
        """The session refetched: a completed-and-paid event if it is paid, else None."""
        ...

    def refund_create(self, *, payment_id: str, amount_cents: int | None, idempotency_key: str) -> str: ...

    def payment_amounts(self, payment_id: str) -> tuple[int, int]:
        """(received, refunded) cents of a payment, as the provider sees it."""
        ...

    def transfer_create(
        self, *, amount_cents: int, currency: str, destination: str, transfer_group: str, idempotency_key: str
    ) -> str: ...

    # Connect onboarding: the organisation's connected account.

    def connect_account_create(self, request: ConnectAccountRequest) -> ConnectAccountState: ...

    def connect_onboarding_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        """A short-lived, single-use address of the provider's onboarding form: redirect to it, never store it."""
        ...

    def connect_account_state(self, account_id: str) -> ConnectAccountState | None:
        """The account refetched, or None when the provider has nothing to refetch (the demo)."""

    def transfer_reverse(self, *, transfer_id: str, amount_cents: int, idempotency_key: str) -> TransferReversalDone:
        """Take ``amount_cents`` of a transfer back from the connected account."""
        ...

    def payment_fee(self, payment_id: str) -> PaymentFeeCharged | None:
        """The fee of a payment, or None while the provider has not settled it yet."""
        ...

    # Subscriptions (monthly gifts).

    def subscription_update(self, *, subscription_id: str, amount_cents: int, idempotency_key: str) -> None:
        """Charge ``amount_cents`` from the next invoice on (no proration: a month already paid stays paid)."""
        ...

    def subscription_cancel(self, *, subscription_id: str) -> None:
        """Stop the subscription now: no further invoice. Cancelling one already cancelled is not an error."""
        ...


def gateway() -> Gateway:
    """The configured gateway, read from the settings at call time."""
    if settings.PAYMENT_GATEWAY == "stripe":
        from payments.stripe_gateway import StripeGateway

        return StripeGateway()
    from payments.demo_gateway import DemoGateway

    return DemoGateway()
