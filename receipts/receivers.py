"""Receipts' answers to the signals of the rooms below it (accounts.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_exporting
from receipts.models import ReceiptPreference
from receipts.selectors import receipts_of, receipts_waiting_for


@receiver(account_exporting, dispatch_uid="receipts.account_exporting")
def _account_exporting(sender: Any, *, user: User, **kwargs: Any) -> dict[str, Any]:
    """The person's tax receipts as issued (the giver's details they carry), and their choice of yearly receipts."""
    receipts = [
        {
            "number": receipt.number,
            "organisation": receipt.organisation.name,
            "status": receipt.status,
            "issued_at": receipt.issued_at.isoformat(),
            "amount_cents": receipt.amount_cents,
            "currency": receipt.currency,
            "payment_date": receipt.payment_date.isoformat() if receipt.payment_date else None,
            "period_start": receipt.period_start.isoformat() if receipt.period_start else None,
            "period_end": receipt.period_end.isoformat() if receipt.period_end else None,
            "consolidated": receipt.consolidated,
            "giver": {
                "email": receipt.giver_email,
                "first_names": receipt.giver_first_names,
                "last_name": receipt.giver_last_name,
                "address_line1": receipt.giver_address_line1,
                "address_line2": receipt.giver_address_line2,
                "postal_code": receipt.giver_postal_code,
                "city": receipt.giver_city,
                "country": receipt.giver_country,
            },
            "cancelled_at": receipt.cancelled_at.isoformat() if receipt.cancelled_at else None,
            "cancellation_reason": receipt.cancellation_reason,
        }
        for receipt in receipts_of(user=user)
    ]
    preference = ReceiptPreference.objects.filter(user=user).first()
    return {
        "receipts": receipts,
        "receipts_waiting": receipts_waiting_for(user=user),
        "receipt_preference": {"consolidated": bool(preference and preference.consolidated)},
    }
