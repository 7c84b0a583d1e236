"""Writes of payments, in three modules: ``events`` (recording and applying the
provider's events, the same for Stripe and the demo gateway), ``payouts``
(money going out: refunds and transfers) and ``settlements`` (records of
transfers and their reversals, provider fees). Import from here."""

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
from payments.services.settlements import (
    payment_fee_record,
    payment_fees_record,
    transfer_reversals_pay,
    transfer_reverse_due,
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
    "payment_fee_record",
    "payment_fees_record",
    "payment_refund",
    "provider_events_retry",
    "transfer_reversals_pay",
    "transfer_reverse_due",
    "transfers_pay",
]
