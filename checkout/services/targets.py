"""A payment is an order or a gift: the few words every use case of checkout
says about either, defined once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from donations.models import Gift, Order
from kernel.errors import DomainError

PAYMENT_MODELS: dict[str, type[Order] | type[Gift]] = {"order": Order, "gift": Gift}


class PaymentUnavailable(DomainError):
    status_code = 503
    code = "payment_unavailable"
    default_detail = _("Le paiement est momentanément indisponible. Réessayez dans un instant.")


def payment_kind(target: Order | Gift) -> str:
    """ "order" or "gift"."""
    return "order" if isinstance(target, Order) else "gift"


def payment_ref(target: Order | Gift) -> str:
    """ "order:12" or "gift:7": the prefix of the ledger keys and of our log lines."""
    return f"{payment_kind(target)}:{target.pk}"


def payment_of(target: Order | Gift) -> dict[str, Any]:
    """``{"order": target}`` or ``{"gift": target}``: the filter or the field of rows about one payment."""
    return {payment_kind(target): target}


def payment_charged_cents(target: Order | Gift) -> int:
    """What the provider charges for the payment: an order's amount; a gift and its tip (the tip is
    Trëmma's, in the same payment, never the campaign's)."""
    if isinstance(target, Gift):
        return target.amount_cents + target.tip_cents
    return target.amount_cents
