"""Matchfunding, as gifts are paid and refunded: each pledge running when a gift
is paid adds its partner's share of it, in the transaction of the payment; a
refund takes the share back in proportion, in the transaction of the refund.

A share is a promise (ledger.PledgeMatch), never money received: the
campaign's total counts the partner's money only once it paid
(checkout.services.pledges.pledge_settle).

Lock order: the gift (the caller holds it), then the campaign's pledges in
primary-key order. Locking the pledge keeps two gifts paid at once from both
taking the last euros under its cap."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Pledge
from donations.models import Gift
from ledger.models import PledgeMatch
from ledger.pledges import gift_matched_cents, pledge_matched_cents, pledge_runs

logger = logging.getLogger(__name__)


def _share_record(*, pledge: Pledge, gift: Gift, kind: PledgeMatch.Kind, amount_cents: int, key: str) -> bool:
    """Append one share (or one taking back); False when there is nothing to write or the key was written."""
    if amount_cents <= 0:
        return False
    try:
        with transaction.atomic():
            PledgeMatch.objects.create(pledge=pledge, gift=gift, kind=kind, amount_cents=amount_cents, key=key)
    except IntegrityError:
        return False
    return True


def gift_share_cents(*, pledge: Pledge, gift_cents: int, matched_cents: int) -> int:
    """The partner's share of a gift of ``gift_cents``: the pledge's ratio of it (rounded
    down to the cent), never more than what remains under its cap."""
    return max(0, min(gift_cents * pledge.ratio_percent // 100, pledge.cap_cents - matched_cents))


def gift_match(*, gift: Gift) -> list[PledgeMatch]:
    """Add the share of every pledge of the gift's campaign running when it was paid.
    Called by ``gift_mark_paid`` in the payment's transaction (the gift locked); a
    second call for the same gift adds nothing (one share per pledge and gift)."""
    paid_at = gift.paid_at or timezone.now()
    pledges = Pledge.objects.select_for_update().filter(
        campaign_id=gift.campaign_id, status=Pledge.Status.ACTIVE, ends_at__gte=paid_at
    )
    added = []
    for pledge in pledges.order_by("pk"):
        if not pledge_runs(pledge, at=paid_at):
            continue
        share = gift_share_cents(
            pledge=pledge, gift_cents=gift.amount_cents, matched_cents=pledge_matched_cents(pledge_id=pledge.pk)
        )
        key = f"pledge:{pledge.pk}:gift:{gift.pk}:match"
        if _share_record(pledge=pledge, gift=gift, kind=PledgeMatch.Kind.MATCH, amount_cents=share, key=key):
            added.append(PledgeMatch.objects.get(key=key))
    return added


def gift_match_take_back(*, gift: Gift) -> int:
    """A refund: each unsettled pledge's share of the gift follows what the gift kept
    (a whole refund takes the whole share back; a partial one, in proportion). Called
    in the refund's transaction (the gift locked, ``refunded_cents`` current); the
    takings back are keyed by the gift's cumulative refund, so a replayed refund event
    takes nothing twice. A settled pledge is left as it is: its partner has paid,
    and its receipt certifies what it gave. Returns the cents taken back."""
    pledge_ids = PledgeMatch.objects.filter(gift=gift, kind=PledgeMatch.Kind.MATCH).values_list("pledge_id", flat=True)
    pledges = Pledge.objects.select_for_update().filter(pk__in=list(pledge_ids), status=Pledge.Status.ACTIVE)
    kept = max(gift.amount_cents - gift.refunded_cents, 0)
    taken = 0
    for pledge in pledges.order_by("pk"):
        share, net = gift_matched_cents(pledge_id=pledge.pk, gift_id=gift.pk)
        owed = share * kept // gift.amount_cents
        amount = net - owed
        key = f"pledge:{pledge.pk}:gift:{gift.pk}:taken_back:{gift.refunded_cents}"
        if _share_record(pledge=pledge, gift=gift, kind=PledgeMatch.Kind.TAKEN_BACK, amount_cents=amount, key=key):
            taken += amount
            logger.info("matchfunding: pledge %s takes back %s of gift %s (refunded)", pledge.pk, amount, gift.pk)
    return taken
