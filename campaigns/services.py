"""Writes on the ledger: append-only, each entry unique by its key and by the
provider event that caused it, so the database itself refuses a double count."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from campaigns.models import Campaign, LedgerEntry
from donations.models import Gift, Order


def ledger_record(
    *,
    kind: LedgerEntry.Kind,
    reason: LedgerEntry.Reason,
    amount_cents: int,
    campaign: Campaign,
    key: str,
    provider_event_id: str,
    order: Order | None = None,
    gift: Gift | None = None,
) -> LedgerEntry | None:
    """Append one entry; ``None`` when there is nothing to write (zero) or when
    the same key or event was already counted (the unique constraints say no)."""
    if amount_cents <= 0:
        return None
    try:
        with transaction.atomic():
            return LedgerEntry.objects.create(
                kind=kind,
                reason=reason,
                amount_cents=amount_cents,
                campaign=campaign,
                organisation_id=campaign.organisation_id,
                order=order,
                gift=gift,
                key=key,
                provider_event_id=provider_event_id,
            )
    except IntegrityError:
        return None


def ledger_totals_for(*, order: Order | None = None, gift: Gift | None = None) -> dict[str, int]:
    """Credited and debited cents of one order or gift, by reason."""
    target = Q(order=order) if order is not None else Q(gift=gift)
    rows = LedgerEntry.objects.filter(target).values("kind", "reason").annotate(total=Sum("amount_cents"))
    totals = {"credit": 0, "debit": 0, "refund": 0}
    for row in rows:
        totals[row["kind"]] += row["total"]
        if row["kind"] == LedgerEntry.Kind.DEBIT and row["reason"] == LedgerEntry.Reason.REFUND:
            totals["refund"] += row["total"]
    return totals
