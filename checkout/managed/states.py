"""The words of the managers' orders page for where a payment stands: the
states a manager filters on, and the state of an order's lines (a basket's
refunds are its lines' own) or of a gift, of a part's hand-over."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from donations.models import Fulfilment, Gift, Order, OrderLine, PaymentStatus, ShipmentStatus
from kernel.money import format_money as _format_money

# The states a manager filters on (``?status=``), in the page's words.
STATUS_CHOICES = [
    ("held", gettext_lazy("Réservé, en attente de paiement")),
    ("pending", gettext_lazy("En attente de paiement")),
    ("paid", gettext_lazy("Payé")),
    ("partially_refunded", gettext_lazy("Partiellement remboursé")),
    ("refunded", gettext_lazy("Remboursé")),
    ("failed", gettext_lazy("Échoué ou expiré")),
    ("to_hand_over", gettext_lazy("Payé, objet à remettre")),
    ("handed_over", gettext_lazy("Objet remis")),
]

STATE_LABELS = {
    "held": gettext_lazy("Réservé, en attente de paiement"),
    "pending": gettext_lazy("En attente de paiement"),
    "paid": gettext_lazy("Payé"),
    "partially_refunded": gettext_lazy("Partiellement remboursé"),
    "refunded": gettext_lazy("Remboursé"),
    "failed": gettext_lazy("Échoué"),
    "expired": gettext_lazy("Expiré"),
}


def lines_state_key(order: Order, lines: Sequence[OrderLine], *, held: bool) -> str:
    """Where some lines of an order stand: held, pending, paid, partially_refunded, refunded,
    failed or expired. Refunds are the lines' own: one line refunded in a paid basket is refunded."""
    if order.status == PaymentStatus.PENDING and held:
        return "held"
    if order.status == PaymentStatus.PAID:
        amount = sum(line.amount_cents for line in lines)
        refunded = sum(line.refunded_cents for line in lines)
        if lines and refunded >= amount:
            return "refunded"
        if refunded:
            return "partially_refunded"
    return str(order.status)


def gift_state_key(gift: Gift) -> str:
    """Where a gift's payment stands: pending, paid, partially_refunded, refunded, failed or expired."""
    if gift.status == PaymentStatus.PAID and gift.refunded_cents:
        return "partially_refunded"
    return str(gift.status)


def state_words(key: str, refunded_cents: int) -> str:
    """A state in words: refunded in part says how much."""
    if key == "partially_refunded":
        return _("Partiellement remboursé (%(amount)s)") % _amount(refunded_cents)
    return str(STATE_LABELS[key])


def part_hand_over_key(fulfilment: Fulfilment, lines: Sequence[OrderLine]) -> str:
    """handed_over, to_hand_over (paid, something left to collect, not refunded by the
    never-collected rule) or nothing; a parcel: ``parcel:`` and where it is (to_ship, shipped, …)."""
    if fulfilment.is_parcel and fulfilment.shipment_status:
        return f"parcel:{fulfilment.shipment_status}"
    if fulfilment.handed_over_at is not None:
        return "handed_over"
    left = any(line.refunded_cents < line.amount_cents for line in lines)
    if fulfilment.order.status == PaymentStatus.PAID and left and fulfilment.pickup_expired_at is None:
        return "to_hand_over"
    return ""


def hand_over_words(key: str) -> str:
    if key.startswith("parcel:"):
        return str(_("Colis : %(status)s") % {"status": ShipmentStatus(key.removeprefix("parcel:")).label})
    return {"handed_over": _("Remis"), "to_hand_over": _("À remettre"), "": ""}[key]


def format_money(cents: int) -> str:
    """An amount in the page's language."""
    return _format_money(cents, "EUR", get_language() or "fr")


def _amount(cents: int) -> dict[str, str]:
    return {"amount": format_money(cents)}
