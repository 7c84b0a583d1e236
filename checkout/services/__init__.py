"""The order lifecycle's use cases — the only code that changes an order's, a
reservation's or a gift's state — in six modules: ``orders`` (holds, orders,
gifts, hand-over), ``events`` (applying the payment provider's events),
``payouts`` (money going out: refunds and transfers), ``settlements``
(transfer reversals and provider fees), ``pickups`` (reminders to buyers
who have not collected, the never-collected rule) and ``wall`` (the donor
wall's moderation); matchfunding in ``matches`` (each gift's share, with its
payment and refund) and ``pledges`` (the partners' promises and their
payment). Import from here."""

from checkout.services.events import (
    AFTER_PAYMENT_TYPES,
    gift_mark_paid,
    order_mark_paid,
    payment_event_apply,
)
from checkout.services.orders import (
    BasketEmpty,
    BasketTooLarge,
    ClaimCodeInvalid,
    ItemUnavailable,
    NotHandable,
    TipOutOfBounds,
    TooManyHolds,
    claim_code_normalise,
    fulfilment_hand_over,
    gift_start,
    order_cancel,
    order_start,
    reservation_release,
    reservations_release_expired,
    tip_max_cents,
    tip_refused_text,
)
from checkout.services.payouts import (
    MAX_REFUND_CENTS,
    RefundLineRequired,
    RefundRefused,
    RefundTooLarge,
    fulfilment_refund,
    fulfilment_refundable_cents,
    fulfilment_transfer,
    gift_transfer,
    order_refund_late,
    organisation_transfers_pay,
    payment_refund,
    refund_allocation,
    refund_split,
    refundable_cents,
    transfers_pay,
)
from checkout.services.pickups import fulfilment_uncollected_refund, pickups_sweep
from checkout.services.pledges import pledge_create, pledge_settle, pledge_update, pledges_call
from checkout.services.settlements import (
    payment_fee_record,
    payment_fees_record,
    transfer_reversals_pay,
    transfer_reverse_due,
)
from checkout.services.targets import PaymentUnavailable
from checkout.services.wall import WALL_DECISIONS, NotOnWall, gift_wall_decide

__all__ = [
    "AFTER_PAYMENT_TYPES",
    "MAX_REFUND_CENTS",
    "WALL_DECISIONS",
    "BasketEmpty",
    "BasketTooLarge",
    "ClaimCodeInvalid",
    "ItemUnavailable",
    "NotHandable",
    "NotOnWall",
    "PaymentUnavailable",
    "RefundLineRequired",
    "RefundRefused",
    "RefundTooLarge",
    "TipOutOfBounds",
    "TooManyHolds",
    "claim_code_normalise",
    "fulfilment_hand_over",
    "fulfilment_refund",
    "fulfilment_refundable_cents",
    "fulfilment_transfer",
    "fulfilment_uncollected_refund",
    "gift_mark_paid",
    "gift_start",
    "gift_transfer",
    "gift_wall_decide",
    "order_cancel",
    "order_mark_paid",
    "order_refund_late",
    "order_start",
    "organisation_transfers_pay",
    "payment_event_apply",
    "payment_fee_record",
    "payment_fees_record",
    "payment_refund",
    "pickups_sweep",
    "pledge_create",
    "pledge_settle",
    "pledge_update",
    "pledges_call",
    "refund_allocation",
    "refund_split",
    "refundable_cents",
    "reservation_release",
    "reservations_release_expired",
    "tip_max_cents",
    "tip_refused_text",
    "transfer_reversals_pay",
    "transfer_reverse_due",
    "transfers_pay",
]
