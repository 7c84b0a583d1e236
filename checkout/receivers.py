"""Checkout's answers to what the payments adapter tells it (payments.signals)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from checkout.services.payouts import organisation_transfers_pay
from payments.signals import transfers_enabled


@receiver(transfers_enabled, dispatch_uid="checkout.transfers_enabled")
def _transfers_enabled(sender: Any, *, organisation_id: int, **kwargs: Any) -> None:
    organisation_transfers_pay(organisation_id=organisation_id)
