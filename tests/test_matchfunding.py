"""Matchfunding: a partner (a company or a foundation) pledges to match each gift
to a campaign, up to a cap and until a date. Each gift paid while the pledge
runs adds the partner's share (recorded with the payment, never counted as
money received); a refund takes it back; once over, the partner's payment is
recorded: the campaign's ledger is credited (money the organisation received
itself, never transferred) and the partner gets the receipt its status calls
for, numbered on the organisation's one counter. Payments go through the real
event processing (demo gateway events)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from accounts.models import User
from campaigns.models import AuditEntry, Campaign, Membership, Partner, Pledge
from checkout.services import pledge_create, pledge_settle, pledge_update, pledges_call
from checkout.services.pledges import CampaignClosed, CapBelowMatched, PledgeRunning, PledgeSettled, ReceivedAboveCap
from donations.models import Gift
from kernel.errors import NotFound, PermissionDenied
from ledger.models import LedgerEntry, PledgeMatch
from ledger.pledges import campaign_matching, pledge_matched_cents
from ledger.selectors import campaign_progress, organisation_balance_cents
from ledger.statements import organisation_statement
from payments.events import event_receive
from realtime.models import RealtimeEvent
from receipts.delivery import receipt_pdf_content
from receipts.issuing import receipt_issue_for_gift, receipt_issue_for_pledge
from receipts.models import TaxReceipt
from tests.factories import CampaignFactory
from tests.receipts_support import giver, manager, paid_gift, pdf_text, ready_campaign, refund_event, squeeze

pytestmark = pytest.mark.django_db

COMPANY = {
    "kind": Partner.Kind.COMPANY,
    "legal_name": "Boulangerie Lemoine SAS",
    "legal_form": "SAS",
    "siren": "732829320",
    "address_line1": "12 avenue de la Gare",
    "address_line2": "",
    "postal_code": "64000",
    "city": "Pau",
    "contact_email": "mecenat@lemoine.example",
}
FOUNDATION = {
    **COMPANY,
    "kind": Partner.Kind.FOUNDATION,
    "legal_name": "Fondation Solidaire du Béarn",
    "legal_form": "Fondation reconnue d'utilité publique",
    "siren": "",
    "contact_email": "dons@fondation.example",
}


def pledge_for(
    campaign: Campaign,
    *,
    cap_cents: int = 10_000,
    ratio_percent: int = 100,
    days: int = 30,
    partner: dict[str, str] | None = None,
    actor: User | None = None,
) -> Pledge:
    return pledge_create(
        actor=actor or manager(campaign.organisation),
        campaign=campaign,
        partner=partner or COMPANY,
        ratio_percent=ratio_percent,
        cap_cents=cap_cents,
        ends_at=timezone.now() + timedelta(days=days),
    )


def over(pledge: Pledge, *, days_ago: int = 1) -> Pledge:
    """Time passing: the pledge's end moves into the past (nothing else changes)."""
    Pledge.objects.filter(pk=pledge.pk).update(ends_at=timezone.now() - timedelta(days=days_ago))
    return Pledge.objects.get(pk=pledge.pk)


def shares(pledge: Pledge) -> list[tuple[str, int]]:
    return list(PledgeMatch.objects.filter(pledge=pledge).order_by("id").values_list("kind", "amount_cents"))


def last_progress() -> dict[str, Any]:
    return RealtimeEvent.objects.filter(type="campaign.progress").order_by("-id").first().public  # type: ignore[union-attr]


def treasurer(campaign: Campaign) -> User:
    return manager(campaign.organisation, role=Membership.Role.TREASURER)


def settle(pledge: Pledge, amount_cents: int, *, means: str = "transfer", actor: User | None = None) -> Pledge:
    return pledge_settle(
        actor=actor or treasurer(pledge.campaign),
        pledge_id=pledge.pk,
        received_cents=amount_cents,
        received_on=timezone.localdate(),
        means=means,
    )


# --- Each gift's share ----------------------------------------------------------------------------


def test_a_gift_paid_while_the_pledge_runs_is_doubled_apart_from_the_money_received() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)

    gift = paid_gift(campaign, 2500)

    assert shares(pledge) == [("match", 2500)]
    assert PledgeMatch.objects.get().gift == gift
    # Never money received: the campaign's total and backers are the gift's alone.
    assert campaign_progress(campaign_id=campaign.pk) == (2500, 1)
    progress = last_progress()
    assert (progress["raised_cents"], progress["matched_cents"], progress["match_percent"]) == (2500, 2500, 100)
    # The existing fields are all still there, as the public contract (docs/api.md) lists them.
    assert {"campaign", "raised_cents", "goal_cents", "backers_count", "currency"} <= set(progress)


def test_a_campaign_without_an_unsettled_pledge_is_answered_by_one_short_read() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ledger.pledges import NO_MATCHING, campaigns_matching

    campaign, other = ready_campaign(), ready_campaign()
    with CaptureQueriesContext(connection) as none:
        assert campaign_matching(campaign_id=campaign.pk) == NO_MATCHING
    assert len(none.captured_queries) == 1 and "JOIN" not in none.captured_queries[0]["sql"]
    assert campaigns_matching(campaign_ids=set()) == {}
    pledge = pledge_for(campaign, cap_cents=5000)
    paid_gift(campaign, 2000)
    with CaptureQueriesContext(connection) as running:
        matching = campaigns_matching(campaign_ids={campaign.pk, other.pk})
    assert set(matching) == {campaign.pk} and len(running.captured_queries) == 2
    assert (matching[campaign.pk].percent, matching[campaign.pk].matched_cents) == (100, 2000)
    settle(over(pledge), 2000)  # over, then received: no longer promised, its money now in the ledger
    assert campaign_matching(campaign_id=campaign.pk) == NO_MATCHING
    assert campaign_matching(campaign_id=other.pk) == NO_MATCHING


def test_the_share_stops_at_the_cap_and_the_screens_stop_saying_doubled() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign, cap_cents=5000)

    paid_gift(campaign, 3000)
    paid_gift(campaign, 3000)
    paid_gift(campaign, 3000)

    assert shares(pledge) == [("match", 3000), ("match", 2000)]  # the third gift finds no room left
    assert pledge_matched_cents(pledge_id=pledge.pk) == 5000
    assert campaign_progress(campaign_id=campaign.pk) == (9000, 3)
    assert (last_progress()["matched_cents"], last_progress()["match_percent"]) == (5000, 0)


def test_a_ratio_adds_its_share_rounded_down_to_the_cent() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign, ratio_percent=50)

    paid_gift(campaign, 1001)

    assert shares(pledge) == [("match", 500)]
    assert campaign_matching(campaign_id=campaign.pk).percent == 50


def test_a_gift_paid_after_the_end_date_is_not_matched() -> None:
    campaign = ready_campaign()
    pledge = over(pledge_for(campaign), days_ago=0)

    paid_gift(campaign, 2000)

    assert shares(pledge) == []
    assert last_progress()["match_percent"] == 0


def test_a_gift_to_another_campaign_is_not_matched() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)

    paid_gift(ready_campaign(campaign.organisation), 2000)

    assert shares(pledge) == []


def test_two_running_pledges_each_add_their_share() -> None:
    campaign = ready_campaign()
    first = pledge_for(campaign)
    second = pledge_for(campaign, partner=FOUNDATION, ratio_percent=100, cap_cents=1000)

    paid_gift(campaign, 2000)

    assert (shares(first), shares(second)) == ([("match", 2000)], [("match", 1000)])
    assert campaign_matching(campaign_id=campaign.pk).percent == 100  # the second one's cap is reached


def test_a_payment_event_delivered_twice_matches_once() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)
    gift = paid_gift(campaign, 2000)
    from tests.receipts_support import pay

    pay(gift)

    assert shares(pledge) == [("match", 2000)]


# --- Refunds --------------------------------------------------------------------------------------


def test_a_refunded_gift_takes_back_its_share_and_frees_the_cap() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign, cap_cents=3000)
    gift = paid_gift(campaign, 3000)

    event_receive(event=refund_event(gift, 3000))
    event_receive(event=refund_event(gift, 3000))  # delivered twice: taken back once

    assert shares(pledge) == [("match", 3000), ("taken_back", 3000)]
    assert (last_progress()["raised_cents"], last_progress()["matched_cents"]) == (0, 0)
    assert last_progress()["match_percent"] == 100  # the cap has room again
    paid_gift(campaign, 1000)
    assert pledge_matched_cents(pledge_id=pledge.pk) == 1000


def test_a_partial_refund_takes_back_its_share_in_proportion() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)
    gift = paid_gift(campaign, 4000)

    event_receive(event=refund_event(gift, 1000))
    event_receive(event=refund_event(gift, 4000))

    assert shares(pledge) == [("match", 4000), ("taken_back", 1000), ("taken_back", 3000)]
    assert pledge_matched_cents(pledge_id=pledge.pk) == 0


def test_a_refund_after_the_partner_paid_leaves_its_payment_as_received() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)
    gift = paid_gift(campaign, 2000)
    settle(over(pledge), 2000)

    event_receive(event=refund_event(gift, 2000))

    assert shares(pledge) == [("match", 2000)]
    assert campaign_progress(campaign_id=campaign.pk)[0] == 2000  # the partner's money, received


# --- Settlement -----------------------------------------------------------------------------------


def test_the_partners_payment_enters_the_ledger_as_money_the_organisation_received_itself() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)
    paid_gift(campaign, 2500)

    settled = settle(over(pledge), 2500, means="cheque")

    assert settled.status == Pledge.Status.SETTLED
    assert (settled.received_cents, settled.received_means) == (2500, "cheque")
    entry = LedgerEntry.objects.get(pledge=pledge)
    assert (entry.kind, entry.reason, entry.amount_cents, entry.campaign) == ("credit", "pledge", 2500, campaign)
    assert entry.gift is None and entry.order is None
    # Collected now; no longer a promise.
    assert campaign_progress(campaign_id=campaign.pk) == (5000, 1)
    assert (last_progress()["raised_cents"], last_progress()["matched_cents"]) == (5000, 0)
    assert campaign_matching(campaign_id=campaign.pk).partners == ()
    # Never transferred, never in what Trëmma owes the organisation.
    organisation = campaign.organisation
    assert organisation_balance_cents(organisation_id=organisation.pk) == 2500
    today = timezone.localdate()
    statement = organisation_statement(organisation=organisation, year=today.year, month=today.month)
    assert statement.credits_cents == 2500 and statement.reconciles
    assert AuditEntry.objects.filter(action=AuditEntry.Action.PLEDGE_SETTLED, organisation=organisation).count() == 1


def test_a_company_gets_a_cerfa_16216_numbered_on_the_organisations_counter() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)
    gift = paid_gift(campaign, 2500, user=giver())
    receipt_issue_for_gift(gift_id=gift.pk)  # the giver's receipt takes number 1
    with TestCase.captureOnCommitCallbacks(execute=True):
        settle(over(pledge), 2500)

    receipt = TaxReceipt.objects.get(lines__pledge=pledge)
    gift_receipt = TaxReceipt.objects.exclude(pk=receipt.pk).get()
    assert (gift_receipt.sequence, receipt.sequence) == (1, 2)
    assert (receipt.form, receipt.article, receipt.giver) == ("16216", "238 bis", None)
    assert (receipt.giver_last_name, receipt.giver_registration) == ("Boulangerie Lemoine SAS", "SIREN 732829320")
    assert (receipt.amount_cents, receipt.payment_method, receipt.payment_date) == (2500, "Virement", date.today())
    text = pdf_text(receipt_pdf_content(receipt=receipt))
    for mention in (
        "16216*02",
        "Reçudesdonsetversementseffectuésparlesentreprises",
        "BoulangerieLemoineSAS",
        "SIREN732829320",
        "25,00",
        "238bis",
    ):
        assert squeeze(mention) in text
    assert "entreprisedonatrice" in text.lower()
    assert "11580" not in text
    sent = [message for message in mail.outbox if "mecenat@lemoine.example" in message.to]
    assert len(sent) == 1 and "238 bis" in sent[0].body and sent[0].attachments


def test_a_foundation_gets_the_usual_cerfa_11580_under_article_238_bis() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign, partner=FOUNDATION)
    paid_gift(campaign, 1000)
    settle(over(pledge), 1000, means="cheque")

    receipt = receipt_issue_for_pledge(pledge_id=pledge.pk)

    assert receipt is not None
    assert (receipt.form, receipt.article, receipt.payment_method) == ("11580", "238 bis", "Chèque")
    text = pdf_text(receipt_pdf_content(receipt=receipt))
    assert "11580*05" in text and squeeze("Fondation Solidaire du Béarn") in text
    assert receipt_issue_for_pledge(pledge_id=pledge.pk) is None  # once


def test_the_periodic_receipts_job_issues_a_partners_receipt_it_could_not_issue_before() -> None:
    campaign = ready_campaign()
    campaign.organisation.__class__.objects.filter(pk=campaign.organisation_id).update(signatory_name="")
    pledge = pledge_for(campaign)
    paid_gift(campaign, 1000)
    settle(over(pledge), 1000)
    assert receipt_issue_for_pledge(pledge_id=pledge.pk) is None  # the organisation lacks a mention
    campaign.organisation.__class__.objects.filter(pk=campaign.organisation_id).update(signatory_name="Claire")
    from tests.receipts_support import receipts_issue_due

    receipts_issue_due()

    assert TaxReceipt.objects.filter(lines__pledge=pledge).count() == 1


def test_the_payment_is_recorded_only_once_the_pledge_is_over_and_only_once() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)
    paid_gift(campaign, 1000)

    with pytest.raises(PledgeRunning):
        settle(pledge, 1000)
    settle(over(pledge), 1000)
    with pytest.raises(PledgeSettled):
        settle(pledge, 1000)

    assert LedgerEntry.objects.filter(pledge=pledge).count() == 1


def test_a_payment_above_the_cap_is_refused_and_nothing_is_written() -> None:
    campaign = ready_campaign()
    pledge = over(pledge_for(campaign, cap_cents=5000))

    with pytest.raises(ReceivedAboveCap):
        settle(pledge, 5001)

    assert Pledge.objects.get(pk=pledge.pk).status == Pledge.Status.ACTIVE
    assert not LedgerEntry.objects.filter(pledge=pledge).exists()


def test_the_partner_is_asked_once_to_pay_what_its_pledge_matched() -> None:
    campaign = ready_campaign()
    pledge = pledge_for(campaign)
    silent = pledge_for(campaign, partner=FOUNDATION)
    paid_gift(campaign, 1200)
    over(pledge)
    over(silent)
    PledgeMatch.objects.filter(pledge=silent).delete()  # a pledge that matched nothing asks for nothing
    mail.outbox.clear()

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert pledges_call() == 1
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert pledges_call() == 0

    (message,) = mail.outbox
    assert message.to == ["mecenat@lemoine.example"] and "12,00" in message.body


# --- Editing, permissions, audit ------------------------------------------------------------------


def test_managers_record_and_edit_a_pledge_in_the_audit_trail() -> None:
    campaign = ready_campaign()
    author = manager(campaign.organisation)
    pledge = pledge_for(campaign, actor=author)
    paid_gift(campaign, 3000)

    with pytest.raises(CapBelowMatched):
        pledge_update(
            actor=author,
            pledge_id=pledge.pk,
            partner=COMPANY,
            ratio_percent=100,
            cap_cents=2999,
            ends_at=pledge.ends_at,
        )
    pledge_update(
        actor=author,
        pledge_id=pledge.pk,
        partner={**COMPANY, "legal_name": "Lemoine & Fils"},
        ratio_percent=200,
        cap_cents=20_000,
        ends_at=pledge.ends_at,
    )

    pledge.refresh_from_db()
    assert (pledge.partner.legal_name, pledge.ratio_percent, pledge.cap_cents) == ("Lemoine & Fils", 200, 20_000)
    actions = list(AuditEntry.objects.filter(organisation=campaign.organisation).values_list("action", "actor"))
    assert (AuditEntry.Action.PLEDGE_CREATED, author.pk) in actions
    assert (AuditEntry.Action.PLEDGE_CHANGED, author.pk) in actions
    assert last_progress()["match_percent"] == 200


@pytest.mark.parametrize("role", [Membership.Role.TREASURER, Membership.Role.VOLUNTEER])
def test_only_campaign_managers_record_a_pledge(role: str) -> None:
    campaign = ready_campaign()

    with pytest.raises(PermissionDenied):
        pledge_for(campaign, actor=manager(campaign.organisation, role=role))

    assert not Pledge.objects.exists() and not Partner.objects.exists()


def test_another_organisations_manager_is_told_nothing_exists() -> None:
    campaign = ready_campaign()

    with pytest.raises(NotFound):
        pledge_for(campaign, actor=manager(CampaignFactory().organisation))


@pytest.mark.parametrize("role", [Membership.Role.MANAGER, Membership.Role.VOLUNTEER])
def test_only_treasurers_and_admins_record_the_partners_payment(role: str) -> None:
    campaign = ready_campaign()
    pledge = over(pledge_for(campaign))

    with pytest.raises(PermissionDenied):
        settle(pledge, 1000, actor=manager(campaign.organisation, role=role))
    settle(pledge, 1000, actor=manager(campaign.organisation, role=Membership.Role.ADMIN))

    assert Pledge.objects.get(pk=pledge.pk).status == Pledge.Status.SETTLED


def test_a_closed_campaign_takes_no_new_pledge() -> None:
    campaign = ready_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CLOSED)
    campaign.refresh_from_db()

    with pytest.raises(CampaignClosed):
        pledge_for(campaign)


def test_the_gift_itself_is_untouched_by_its_match() -> None:
    campaign = ready_campaign()
    pledge_for(campaign)

    gift = paid_gift(campaign, 2000)

    assert Gift.objects.get(pk=gift.pk).amount_cents == 2000
    assert LedgerEntry.objects.filter(campaign=campaign).count() == 1
