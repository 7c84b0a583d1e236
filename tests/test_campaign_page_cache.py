"""The item page reads its campaign, with the organisation and the ledger's totals, from the shared
cache (ledger.selectors.campaign_page_campaign): a crowd at one window does not sum the campaign's
ledger at every page. A committed payment, refund, edit of the campaign or of its organisation, or
a move of the campaign, is shown at once; an entry kept by a reader that read before such a commit is
never served. Real commits (transaction=True); the shared cache is Redis under TREMMA_REQUIRE=redis,
else this process's."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from campaigns.selectors import CAMPAIGN_GENERATION_SECONDS, campaign_generation
from campaigns.services import campaign_transition, campaign_update, organisation_opening_hours_set
from donations.models import Item
from kernel.generations import generation_entry
from ledger.models import LedgerEntry
from ledger.selectors import campaign_page_key, campaign_public_queryset
from ledger.services import ledger_record
from tests.factories import CampaignFactory, ItemFactory, manager_of
from tests.receipts_support import paid_gift, pay
from tests.support.redis_server import OwnRedis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cached(settings: Any) -> None:
    settings.ITEM_PAGE_CACHE_SECONDS = 60


def page_campaign(client: Client, item: Item) -> Campaign:
    response = client.get(f"/objets/{item.pk}/")
    assert response.status_code == 200
    shown: Campaign = response.context["campaign"]
    assert response.context["item"].campaign is shown  # the page's only copy of its campaign
    return shown


def campaign_reads(queries: CaptureQueriesContext) -> list[str]:
    wanted = ('FROM "campaigns_campaign"', "ledgerentry")
    return [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in wanted)]


def campaign_token(campaign: Campaign) -> str | None:
    return generation_entry(
        campaign_generation(campaign.pk), campaign_page_key(campaign.pk), seconds=CAMPAIGN_GENERATION_SECONDS
    )[0]


def test_a_second_page_reads_neither_the_campaign_nor_its_ledger(client: Client, cached: None) -> None:
    item = ItemFactory()
    paid_gift(item.campaign, 2500)
    with CaptureQueriesContext(connection) as first:
        assert page_campaign(client, item).raised_cents == 2500
    with CaptureQueriesContext(connection) as second:
        shown = page_campaign(client, item)
    assert campaign_reads(first) and campaign_reads(second) == []
    assert shown.raised_cents == 2500 and shown.backers_count == 1
    assert shown.organisation.name == item.campaign.organisation.name


def test_each_payment_and_refund_is_shown_once_committed(client: Client, cached: None) -> None:
    item = ItemFactory()
    assert page_campaign(client, item).raised_cents == 0
    gift = paid_gift(item.campaign, 2500)
    assert (page_campaign(client, item).raised_cents, page_campaign(client, item).backers_count) == (2500, 1)
    paid_gift(item.campaign, 1000)
    assert page_campaign(client, item).raised_cents == 3500
    ledger_record(  # a refund of the first gift, in part, as the refund's processing writes it
        kind=LedgerEntry.Kind.DEBIT,
        reason=LedgerEntry.Reason.REFUND,
        amount_cents=500,
        campaign=gift.campaign,
        gift=gift,
        key=f"gift:{gift.pk}:refund:test",
        provider_event_id="evt_refund_test",
    )
    assert page_campaign(client, item).raised_cents == 3000
    # The totals shown are the ledger's, as the uncached list computes them.
    assert campaign_public_queryset().get(pk=item.campaign_id).raised_cents == 3000


def test_an_entry_refused_or_rolled_back_keeps_the_entry(client: Client, cached: None) -> None:
    item = ItemFactory()
    gift = paid_gift(item.campaign, 2500)
    page_campaign(client, item)
    token = campaign_token(item.campaign)
    pay(gift)  # the provider's retry: the ledger refuses it, nothing changes

    def credit_then_fail() -> None:
        with transaction.atomic():
            ledger_record(
                kind=LedgerEntry.Kind.CREDIT,
                reason=LedgerEntry.Reason.PAYMENT,
                amount_cents=700,
                campaign=item.campaign,
                gift=gift,
                key="rolled-back",
                provider_event_id="evt_rolled_back",
            )
            raise RuntimeError("the payment's transaction fails after the entry")

    with pytest.raises(RuntimeError):
        credit_then_fail()
    assert campaign_token(item.campaign) == token
    with CaptureQueriesContext(connection) as queries:
        assert page_campaign(client, item).raised_cents == 2500
    assert campaign_reads(queries) == []


def test_a_reader_that_keeps_old_totals_after_the_commit_is_never_served(client: Client, cached: None) -> None:
    item = ItemFactory()
    # A slow page reads the campaign's token and totals before a payment commits…
    token = campaign_token(item.campaign) or campaign_token(item.campaign)  # (the first read sets it)
    assert token is not None
    stale = campaign_public_queryset().get(pk=item.campaign_id)
    paid_gift(item.campaign, 4000)
    # …and keeps them after: under the token of before.
    cache.set(campaign_page_key(item.campaign_id), (token, stale), 60)
    assert page_campaign(client, item).raised_cents == 4000


def test_an_edit_of_the_campaign_or_its_organisation_is_shown_at_once(client: Client, cached: None) -> None:
    item = ItemFactory()
    campaign, organisation = item.campaign, item.campaign.organisation
    page_campaign(client, item)
    assert page_campaign(client, item).title == campaign.title  # both kept now
    campaign_update(campaign=campaign, actor=manager_of(organisation), changes={"title": "Un toit pour l'hiver"})
    assert page_campaign(client, item).title == "Un toit pour l'hiver"
    organisation.name = "Emmaüs Pau-Lescar"
    organisation.save()  # the admin's edit
    assert page_campaign(client, item).organisation.name == "Emmaüs Pau-Lescar"
    organisation_opening_hours_set(organisation_id=organisation.pk, opening_hours="Mardi–samedi 10 h–18 h")
    assert page_campaign(client, item).organisation.opening_hours == "Mardi–samedi 10 h–18 h"
    campaign_transition(campaign=campaign, actor=manager_of(organisation), to=Campaign.Status.CLOSED)
    assert page_campaign(client, item).status == Campaign.Status.CLOSED


def test_a_campaign_nobody_may_see_gives_no_page_and_is_never_kept(client: Client, cached: None) -> None:
    item = ItemFactory(campaign=CampaignFactory(status=Campaign.Status.DRAFT))
    assert client.get(f"/objets/{item.pk}/").status_code == 404  # not a server error
    assert cache.get(campaign_page_key(item.campaign_id)) is None


def test_an_entry_that_cannot_be_read_is_a_miss(client: Client, cached: None) -> None:
    item = ItemFactory()
    other = CampaignFactory(title="Une autre campagne")
    page_campaign(client, item)
    token = campaign_token(item.campaign)
    draft = Campaign.objects.get(pk=item.campaign_id)
    draft.status = Campaign.Status.DRAFT
    for hostile in ("not a campaign", (token, "not a campaign"), (token,), (token, other), (token, draft)):
        cache.set(campaign_page_key(item.campaign_id), hostile, 60)
        assert page_campaign(client, item).title == item.campaign.title
    # A row pickled by an older release that no longer loads (a model changed, not the version).
    with patch("kernel.generations.generation_entry", side_effect=AttributeError("no attribute 'x'")):
        assert page_campaign(client, item).title == item.campaign.title


def test_redis_down_serves_current_totals(own_redis: OwnRedis, settings: Any) -> None:
    settings.ITEM_PAGE_CACHE_SECONDS = 60
    client = Client()
    item = ItemFactory()
    page_campaign(client, item)
    page_campaign(client, item)
    own_redis.stop()
    paid_gift(item.campaign, 1500)  # its bump cannot reach Redis: no error, the payment stands
    assert page_campaign(client, item).raised_cents == 1500
    own_redis.start()  # an empty Redis: nothing old to serve
    paid_gift(item.campaign, 500)
    assert page_campaign(client, item).raised_cents == 2000
    assert page_campaign(client, item).raised_cents == 2000
