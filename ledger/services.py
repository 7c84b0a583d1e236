"""Writes on the money books. The ledger is append-only, each entry unique by
its key and by the provider event that caused it, so the database itself
refuses a double count; a transfer is recorded once, by the provider's id."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from campaigns.models import Campaign, Pledge
from campaigns.services import campaigns_changed
from donations.models import Fulfilment, Gift, Order, OrderLine
from ledger.models import LedgerEntry, Transfer


def ledger_record(
    *,
    kind: LedgerEntry.Kind,
    reason: LedgerEntry.Reason,
    amount_cents: int,
    campaign: Campaign | None,
    key: str,
    provider_event_id: str,
    order: Order | None = None,
    order_line: OrderLine | None = None,
    gift: Gift | None = None,
    pledge: Pledge | None = None,
    account: LedgerEntry.Account = LedgerEntry.Account.CAMPAIGN,
) -> LedgerEntry | None:
    """Append one entry; ``None`` when there is nothing to write (zero) or when
    the same key or event was already counted (the unique constraints say no).
    A campaign's entry needs its campaign; a platform account's entry has none."""
    if (account == LedgerEntry.Account.CAMPAIGN) != (campaign is not None):
        raise ValueError(f"ledger account {account} with campaign {campaign!r}")
    if amount_cents <= 0:
        return None
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                account=account,
                kind=kind,
                reason=reason,
                amount_cents=amount_cents,
                campaign=campaign,
                organisation_id=campaign.organisation_id if campaign is not None else None,
                order=order,
                order_line=order_line,
                gift=gift,
                pledge=pledge,
                key=key,
                provider_event_id=provider_event_id,
            )
            if campaign is not None:
                campaigns_changed(campaign.pk)  # its totals, as the item pages keep them
            return entry
    except IntegrityError:
        return None


def ledger_totals_for(
    *, order: Order | None = None, gift: Gift | None = None, order_line: OrderLine | None = None
) -> dict[str, int]:
    """Credited and debited cents of one order, one line of an order or one gift, by reason
    (its campaigns' account only)."""
    if order_line is not None:
        target = Q(order_line=order_line)
    else:
        target = Q(order=order) if order is not None else Q(gift=gift)
    rows = (
        LedgerEntry.objects.filter(target, account=LedgerEntry.Account.CAMPAIGN)
        .values("kind", "reason")
        .annotate(total=Sum("amount_cents"))
    )
    totals = {"credit": 0, "debit": 0, "refund": 0}
    for row in rows:
        totals[row["kind"]] += row["total"]
        if row["kind"] == LedgerEntry.Kind.DEBIT and row["reason"] == LedgerEntry.Reason.REFUND:
            totals["refund"] += row["total"]
    return totals


def transfer_record(
    *, target: Fulfilment | Gift, provider: str, provider_transfer_id: str, amount_cents: int
) -> Transfer | None:
    """Record a transfer ``provider`` made for a gift or one organisation's part of an order;
    None if it was already recorded."""
    about = (
        {"gift": target, "organisation_id": target.campaign.organisation_id}
        if isinstance(target, Gift)
        else {"order_id": target.order_id, "fulfilment": target, "organisation_id": target.organisation_id}
    )
    try:
        with transaction.atomic():
            return Transfer.objects.create(
                provider=provider, provider_transfer_id=provider_transfer_id, amount_cents=amount_cents, **about
            )
    except IntegrityError:
        return None
