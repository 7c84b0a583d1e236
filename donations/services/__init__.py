"""Writes on objects: ``items`` (the item's life: ``item_transition`` is the
only code that changes an item's status; posting, review, gifts in kind).
Holds, orders and gifts are written by checkout. Import from here."""

from donations.services.items import (
    OWNER_EDITABLE_FIELDS,
    OWNER_EDITABLE_STATUSES,
    OWNER_WITHDRAWABLE_STATUSES,
    REVIEWER_EDITABLE_FIELDS,
    CampaignClosed,
    ItemNotEditable,
    ItemNotWithdrawable,
    OwnItemReview,
    WrongKind,
    item_accept,
    item_approve,
    item_create,
    item_create_sold_at_counter,
    item_list_for_sale,
    item_receive,
    item_reject,
    item_transition,
    item_update,
    item_withdraw,
)

__all__ = [
    "OWNER_EDITABLE_FIELDS",
    "OWNER_EDITABLE_STATUSES",
    "OWNER_WITHDRAWABLE_STATUSES",
    "REVIEWER_EDITABLE_FIELDS",
    "CampaignClosed",
    "ItemNotEditable",
    "ItemNotWithdrawable",
    "OwnItemReview",
    "WrongKind",
    "item_accept",
    "item_approve",
    "item_create",
    "item_create_sold_at_counter",
    "item_list_for_sale",
    "item_receive",
    "item_reject",
    "item_transition",
    "item_update",
    "item_withdraw",
]
