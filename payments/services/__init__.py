"""Writes of payments, in four modules: ``events`` (recording and applying the
provider's events, the same for Stripe and the demo gateway), ``payouts``
(money going out: refunds and transfers), ``settlements`` (records of
transfers and their reversals, provider fees) and ``connect`` (the
organisations' connected accounts: onboarding and ``account.updated``).
Import from here."""

from payments.services.connect import (
    ConnectUnavailable,
    connect_event_receive,
    demo_onboarding_complete,
    organisation_connect_refresh,
    organisation_connect_start,
    organisation_connect_state_apply,
    organisation_transfers_pay,
)
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
    "ConnectUnavailable",
    "RefundRefused",
    "RefundTooLarge",
    "connect_event_receive",
    "demo_onboarding_complete",
    "demo_refund",
    "event_receive",
    "gift_mark_paid",
    "gift_transfer",
    "order_mark_paid",
    "order_refund_late",
    "order_transfer",
    "organisation_connect_refresh",
    "organisation_connect_start",
    "organisation_connect_state_apply",
    "organisation_transfers_pay",
    "payment_fee_record",
    "payment_fees_record",
    "payment_refund",
    "provider_events_retry",
    "transfer_reversals_pay",
    "transfer_reverse_due",
    "transfers_pay",
]
