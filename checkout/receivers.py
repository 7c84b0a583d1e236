"""Checkout's answers to the signals of the rooms below it: what the payments adapter tells
it (payments.signals), and a person's deletion and data export (accounts.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_deleting, account_exporting
from checkout.purchases import purchase_lines, purchase_parts
from checkout.selectors import gifts_of, orders_of, payments_of
from checkout.services.payouts import organisation_transfers_pay
from donations.models import Gift
from payments.signals import transfers_enabled


@receiver(transfers_enabled, dispatch_uid="checkout.transfers_enabled")
def _transfers_enabled(sender: Any, *, organisation_id: int, **kwargs: Any) -> None:
    organisation_transfers_pay(organisation_id=organisation_id)


@receiver(account_deleting, dispatch_uid="checkout.account_deleting")
def _account_deleting(sender: Any, *, user: User, **kwargs: Any) -> None:
    """The name and message shown with the person's gifts go (the books need neither); the
    payments themselves stay, with the email they were made with and the details typed for a
    receipt (accounting records are kept ten years, and a receipt still due is issued from them)."""
    payments_of(Gift, user=user).update(name="", message="", anonymous=True)


@receiver(account_exporting, dispatch_uid="checkout.account_exporting")
def _account_exporting(sender: Any, *, user: User, **kwargs: Any) -> dict[str, Any]:
    """The person's gifts and purchases (as their account's space shows them: a purchase's
    lines, and each organisation's part with its claim code while it waits)."""
    gifts = [
        {
            "id": gift.pk,
            "campaign": gift.campaign.slug,
            "organisation": gift.campaign.organisation.name,
            "amount_cents": gift.amount_cents,
            "refunded_cents": gift.refunded_cents,
            "currency": gift.currency,
            "status": gift.status,
            "email": gift.email,
            "name": gift.name,
            "anonymous": gift.anonymous,
            "message": gift.message,
            "receipt_requested": gift.receipt_requested,
            "receipt_details": _receipt_details(gift) if gift.receipt_requested else None,
            "created_at": gift.created_at.isoformat(),
            "paid_at": gift.paid_at.isoformat() if gift.paid_at else None,
        }
        for gift in gifts_of(user=user)
    ]
    orders = [
        {
            "id": order.pk,
            "amount_cents": order.amount_cents,
            "refunded_cents": order.refunded_cents,
            "currency": order.currency,
            "status": order.status,
            "email": order.email,
            "created_at": order.created_at.isoformat(),
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
            "lines": [
                {
                    "item": line.item_id,
                    "title": line.item.title,
                    "campaign": line.campaign.slug,
                    "amount_cents": line.amount_cents,
                    "refunded_cents": line.refunded_cents,
                }
                for line in purchase_lines(order)
            ],
            "fulfilments": [
                {
                    "organisation": part.fulfilment.organisation.name,
                    "status": part.status,
                    "claim_code": part.claim_code,
                    "handed_over_at": part.fulfilment.handed_over_at.isoformat()
                    if part.fulfilment.handed_over_at
                    else None,
                }
                for part in purchase_parts(order)
            ],
        }
        for order in orders_of(user=user)
    ]
    return {"gifts": gifts, "orders": orders}


def _receipt_details(gift: Gift) -> dict[str, str]:
    return {
        "first_name": gift.receipt_first_name,
        "last_name": gift.receipt_last_name,
        "address_line1": gift.receipt_address_line1,
        "address_line2": gift.receipt_address_line2,
        "postal_code": gift.receipt_postal_code,
        "city": gift.receipt_city,
        "country": gift.receipt_country,
    }
