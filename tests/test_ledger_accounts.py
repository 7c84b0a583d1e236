"""Ledger accounts outside campaigns: the platform's own money (shipping,
tips, fees) is recorded in the same books, and counts in no campaign total,
no backer count, no organisation balance and no organisation's statement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign
from donations.models import Gift
from ledger.models import LedgerEntry
from ledger.selectors import (
    campaign_progress,
    campaign_public_queryset,
    campaigns_managed_by,
    dashboard_feed,
    dashboard_series,
    ledger_differences,
    organisation_balance_cents,
)
from ledger.services import ledger_record, ledger_totals_for
from ledger.statements import organisation_statement
from tests.factories import CampaignFactory, MembershipFactory
from tests.test_payments_refunds import paid_gift

pytestmark = pytest.mark.django_db


def tip(gift: Gift, amount_cents: int = 300, account: Any = LedgerEntry.Account.PLATFORM_TIPS) -> LedgerEntry | None:
    return ledger_record(
        account=account,
        kind=LedgerEntry.Kind.CREDIT,
        reason=LedgerEntry.Reason.PAYMENT,
        amount_cents=amount_cents,
        campaign=None,
        gift=gift,
        key=f"gift:{gift.pk}:{account}",
        provider_event_id=f"evt_{account}_{gift.pk}",
    )


@pytest.fixture
def gift_with_a_tip(django_capture_on_commit_callbacks: Any) -> Gift:
    campaign = CampaignFactory(status=Campaign.Status.LIVE)
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(campaign, 2000)
    # The gift had a tip of 3 € (the reconciliation checks the tips account against it).
    Gift.objects.filter(pk=gift.pk).update(tip_cents=300)
    entry = tip(gift)
    assert entry is not None
    return gift


def test_a_platform_entry_is_recorded_in_its_account_without_campaign_or_organisation(gift_with_a_tip: Gift) -> None:
    entry = LedgerEntry.objects.get(account=LedgerEntry.Account.PLATFORM_TIPS)

    assert (entry.campaign_id, entry.organisation_id, entry.gift_id) == (None, None, gift_with_a_tip.pk)
    assert entry.amount_cents == 300 and entry.get_account_display() == "Plateforme : pourboires"
    assert LedgerEntry.objects.get(account=LedgerEntry.Account.CAMPAIGN).campaign_id == gift_with_a_tip.campaign_id
    assert tip(gift_with_a_tip) is None  # the same key again: counted once


def test_a_platform_entry_counts_in_no_campaign_total_backer_count_or_balance(gift_with_a_tip: Gift) -> None:
    campaign = gift_with_a_tip.campaign
    manager = MembershipFactory(organisation=campaign.organisation).user

    assert campaign_progress(campaign_id=campaign.pk) == (2000, 1)
    listed = campaign_public_queryset().get(pk=campaign.pk)
    managed = campaigns_managed_by(manager).get(pk=campaign.pk)
    assert (listed.raised_cents, listed.backers_count) == (managed.raised_cents, managed.backers_count) == (2000, 1)
    assert organisation_balance_cents(organisation_id=campaign.organisation_id) == 2000
    assert [entry.account for entry in dashboard_feed(user=manager, since=timezone.now() - timedelta(hours=1))] == [
        "campaign"
    ]
    assert dashboard_series(campaign_ids=[campaign.pk], days=1, now=timezone.now())[campaign.pk][-1][1] == 2000
    # What a refund may still take, and the reconciliation, look at the campaign's money only.
    assert ledger_totals_for(gift=gift_with_a_tip) == {"credit": 2000, "debit": 0, "refund": 0}
    assert list(ledger_differences()) == []


def test_a_platform_entry_is_in_no_organisations_statement(gift_with_a_tip: Gift, client: Client) -> None:
    organisation = gift_with_a_tip.campaign.organisation
    today = timezone.localdate()

    statement = organisation_statement(organisation=organisation, year=today.year, month=today.month)

    assert statement.credits_cents == 2000 and statement.reconciles
    assert [line.kind for line in statement.lines if line.kind == "payment"] == ["payment"]
    assert statement.recomputed_closing_cents == 2000
    client.force_login(MembershipFactory(organisation=organisation).user)
    csv = client.get(f"/gestion/campagnes/{gift_with_a_tip.campaign.slug}/ecritures.csv").content.decode()
    assert "evt_platform_tips" not in csv


def test_the_database_refuses_a_campaign_entry_without_campaign_and_a_platform_entry_with_one(
    gift_with_a_tip: Gift,
) -> None:
    campaign = gift_with_a_tip.campaign
    common = {"kind": "credit", "reason": "payment", "amount_cents": 100, "gift": gift_with_a_tip}
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(**common, account="campaign", key="no-campaign", provider_event_id="evt_a")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            **common, account="campaign", campaign=campaign, key="no-organisation", provider_event_id="evt_b"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            **common,
            account="platform_shipping",
            campaign=campaign,
            organisation=campaign.organisation,
            key="platform-with-campaign",
            provider_event_id="evt_c",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            **common,
            account="platform_fees",
            organisation=campaign.organisation,
            key="platform-with-organisation",
            provider_event_id="evt_d",
        )


def test_ledger_record_refuses_a_platform_account_with_a_campaign_or_a_campaign_account_without_one(
    gift_with_a_tip: Gift,
) -> None:
    fields: dict[str, Any] = {
        "kind": LedgerEntry.Kind.CREDIT,
        "reason": LedgerEntry.Reason.PAYMENT,
        "amount_cents": 100,
        "gift": gift_with_a_tip,
        "key": "refused",
        "provider_event_id": "evt_refused",
    }
    with pytest.raises(ValueError, match="platform_shipping with campaign"):
        ledger_record(**fields, account=LedgerEntry.Account.PLATFORM_SHIPPING, campaign=gift_with_a_tip.campaign)
    with pytest.raises(ValueError, match="campaign with campaign None"):
        ledger_record(**fields, campaign=None)
    assert not LedgerEntry.objects.filter(key="refused").exists()
