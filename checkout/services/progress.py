"""The ``campaign.progress`` live event: a campaign's money, from the ledger, and
what its partners promised (matchfunding), written in the caller's transaction."""

from __future__ import annotations

from campaigns.models import Campaign
from ledger.pledges import campaign_matching
from ledger.selectors import campaign_progress
from realtime.events import CAMPAIGN_PROGRESS
from realtime.services import event_emit


def campaign_progress_emit(campaign: Campaign) -> None:
    """Tell the campaign's screens its total and backers (the ledger's), the partners'
    promised total (``matched_cents``, never in ``raised_cents``) and how much of a gift
    paid now is matched (``match_percent``: 100 doubles it, 0 none)."""
    raised, backers = campaign_progress(campaign_id=campaign.pk)
    matching = campaign_matching(campaign_id=campaign.pk)
    event_emit(
        type=CAMPAIGN_PROGRESS,
        public={
            "campaign": campaign.slug,
            "raised_cents": raised,
            "goal_cents": campaign.goal_cents,
            "backers_count": backers,
            "currency": campaign.currency,
            "matched_cents": matching.matched_cents,
            "match_percent": matching.percent,
        },
        campaigns=[campaign.pk],
        organisations=[campaign.organisation_id],
    )
