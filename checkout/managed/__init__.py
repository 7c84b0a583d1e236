"""Reads of the managers' orders page (``/gestion/commandes/``): the orders and
gifts of the organisations a person manages, newest first and filtered, each
with its state; one order or gift with its history.

An order may be a basket of several organisations' items: a manager sees
their organisations' part of it only (its fulfilments, their lines, their
amounts), never another organisation's items or amounts. So a row of the list
is one fulfilment, not one order, and every amount shown is the sum of the
lines shown. Every read is scoped by
``campaigns.selectors.organisations_user_may`` (the ORDERS permission):
another organisation's payment, part or line is never found.

``states`` says where things stand in words, ``rows`` makes the list and the
export, ``detail`` one order's or gift's page."""

from checkout.managed.detail import (
    HistoryLine,
    ManagedLine,
    ManagedPart,
    gift_history,
    gift_refundable,
    gift_state,
    order_history,
    order_parts_managed,
    parts_state,
    payment_managed,
)
from checkout.managed.rows import PaymentKeys, PaymentRow, payment_rows, payment_rows_all, payments_managed
from checkout.managed.states import (
    STATUS_CHOICES,
    format_money,
    gift_state_key,
    hand_over_words,
    lines_state_key,
    part_hand_over_key,
    state_words,
)

__all__ = [
    "STATUS_CHOICES",
    "HistoryLine",
    "ManagedLine",
    "ManagedPart",
    "PaymentKeys",
    "PaymentRow",
    "format_money",
    "gift_history",
    "gift_refundable",
    "gift_state",
    "gift_state_key",
    "hand_over_words",
    "lines_state_key",
    "order_history",
    "order_parts_managed",
    "part_hand_over_key",
    "parts_state",
    "payment_managed",
    "payment_rows",
    "payment_rows_all",
    "payments_managed",
    "state_words",
]
