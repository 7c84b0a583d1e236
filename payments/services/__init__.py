"""Writes of payments, in two modules: ``events`` (recording and applying the
provider's events, the same for Stripe and the demo gateway) and ``payouts``
(money going out: refunds and transfers). Import from here."""

from payments.services.events import (
    AFTER_PAYMENT_TYPES,
    event_receive,
    gift_mark_paid,
    order_mark_paid,
    provider_events_retry,
)
from payments.services.payouts import (
    RefundRefused,
    RefundTooLarge,
    demo_refund,
    gift_transfer,
    order_refund_late,
    order_transfer,
    payment_refund,
    transfers_pay,
)

__all__ = [
    "AFTER_PAYMENT_TYPES",
    "RefundRefused",
    "RefundTooLarge",
    "demo_refund",
    "event_receive",
    "gift_mark_paid",
    "gift_transfer",
    "order_mark_paid",
    "order_refund_late",
    "order_transfer",
    "payment_refund",
    "provider_events_retry",
    "transfers_pay",
]
