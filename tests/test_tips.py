"""Tips instead of fees: a gift may carry a voluntary contribution to Trëmma's costs, never
pre-filled, paid in the same payment (gift + tip), credited to the platform's tips account and
never to the campaign: no total, no backer, no receipt, no transfer counts it. A gift refunded in
whole gives its tip back; the operator sees the tips month by month."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import AuditEntry, Campaign, Membership
from donations.models import Gift, PaymentStatus, Refund
from ledger.models import LedgerEntry, Transfer
from ledger.selectors import (
    campaign_progress,
    campaign_public_queryset,
    ledger_differences,
    organisation_balance_cents,
    platform_tips_by_month,
)
from payments import demo_gateway
from payments.events import event_receive
from payments.models import DemoSession
from receipts.models import TaxReceipt
from tests.factories import CampaignFactory, MembershipFactory, OrganisationFactory, UserFactory
from tests.receipts_support import ready_campaign

pytestmark = pytest.mark.django_db

DETAILS = {
    "first_name": "Inès",
    "last_name": "Da Silva",
    "address_line1": "12 avenue des Acacias",
    "postal_code": "31000",
    "city": "Toulouse",
}


def give(api: APIClient, campaign: Campaign, **fields: Any) -> Any:
    body = {"amount_cents": 2000, "email": "don@example.org", "name": "Paul"}
    return api.post(f"/api/campaigns/{campaign.slug}/gifts/", {**body, **fields}, format="json")


def paid(gift: Gift, amount_cents: int | None = None) -> Gift:
    """The provider confirms the payment of ``amount_cents`` (by default: the gift and its tip)."""
    event_receive(
        event=demo_gateway.completed_event(
            kind="gift",
            object_id=gift.pk,
            session_id=gift.provider_session_id or "",
            amount_cents=gift.amount_cents + gift.tip_cents if amount_cents is None else amount_cents,
            currency="EUR",
        )
    )
    return Gift.objects.get(pk=gift.pk)


def tipped_gift(
    api: APIClient, campaign: Campaign, amount_cents: int = 2000, tip_cents: int = 300, **fields: Any
) -> Gift:
    response = give(api, campaign, amount_cents=amount_cents, tip_cents=tip_cents, **fields)
    assert response.status_code == 201, response.content
    return Gift.objects.get(pk=response.json()["gift_id"])


def tips(gift: Gift) -> list[tuple[str, str, int]]:
    entries = LedgerEntry.objects.filter(gift=gift, account=LedgerEntry.Account.PLATFORM_TIPS).order_by("id")
    return list(entries.values_list("kind", "reason", "amount_cents"))


# --- Asked for honestly --------------------------------------------------------------------------


def test_without_a_tip_the_gift_has_none_and_the_checkout_is_the_gift_alone(api: APIClient) -> None:
    response = give(api, CampaignFactory())
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    assert (gift.amount_cents, gift.tip_cents) == (2000, 0)
    session = DemoSession.objects.get(session_id=gift.provider_session_id)
    assert session.amount_cents == 2000 and "Trëmma" not in session.description


def test_a_tip_is_paid_in_the_same_checkout_and_the_gift_stays_the_gift(api: APIClient) -> None:
    gift = tipped_gift(api, CampaignFactory(title="Jardin partagé"), 2000, 300)
    assert (gift.amount_cents, gift.tip_cents, gift.status) == (2000, 300, PaymentStatus.PENDING)
    session = DemoSession.objects.get(session_id=gift.provider_session_id)
    assert session.amount_cents == 2300
    assert session.description == "Don pour « Jardin partagé » + Contribution aux frais de Trëmma"


@pytest.mark.parametrize(
    "tip",
    [-1, -300, "abc", 1.5, "2.5", True, "１２", 10**12, 2**63, 2001, None, [], {"cents": 1}],
)
def test_a_hostile_tip_is_a_field_level_400_and_records_nothing(api: APIClient, tip: Any) -> None:
    response = give(api, CampaignFactory(), amount_cents=2000, tip_cents=tip)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == ["tip_cents"]
    assert not Gift.objects.exists() and not DemoSession.objects.exists()


def test_a_tip_is_at_most_the_gift_and_the_configured_maximum(api: APIClient, settings: Any) -> None:
    campaign = CampaignFactory()
    assert give(api, campaign, amount_cents=500, tip_cents=500).status_code == 201
    over_gift = give(api, campaign, amount_cents=500, tip_cents=501)
    assert over_gift.status_code == 400
    assert over_gift.json()["fields"]["tip_cents"] == [
        "La contribution aux frais de Trëmma va de 0 au montant du don, au plus 100,00\u00a0€."
    ]
    settings.TIP_MAX_CENTS = 200
    response = give(api, campaign, amount_cents=5000, tip_cents=201)
    assert response.status_code == 400 and "2,00" in response.json()["fields"]["tip_cents"][0]
    english = api.post(
        f"/api/campaigns/{campaign.slug}/gifts/",
        {"amount_cents": 5000, "email": "d@example.org", "tip_cents": 201},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert (
        "Trëmma" in english.json()["fields"]["tip_cents"][0] and "va de" not in english.json()["fields"]["tip_cents"][0]
    )
    assert Gift.objects.count() == 1


# --- Paid: the tip is the platform's, never the campaign's ---------------------------------------


def test_a_paid_tip_is_in_the_tips_account_and_never_in_the_campaign_or_the_organisations_money(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = CampaignFactory()
    gift = tipped_gift(api, campaign, 2000, 300)

    with django_capture_on_commit_callbacks(execute=True):
        gift = paid(gift)

    assert gift.status == PaymentStatus.PAID
    assert tips(gift) == [("credit", "payment", 300)]
    entry = LedgerEntry.objects.get(gift=gift, account=LedgerEntry.Account.PLATFORM_TIPS)
    assert (entry.campaign_id, entry.organisation_id) == (None, None)
    assert campaign_progress(campaign_id=campaign.pk) == (2000, 1)
    listed = campaign_public_queryset().get(pk=campaign.pk)
    assert (listed.raised_cents, listed.backers_count) == (2000, 1)
    assert organisation_balance_cents(organisation_id=campaign.organisation_id) == 2000
    assert list(ledger_differences()) == []
    [thanks] = mail.outbox
    assert "3,00\u00a0€ aux frais de Trëmma" in thanks.body and "ne figure pas sur le reçu fiscal" in thanks.body


def test_a_payment_of_the_gift_without_its_tip_is_not_counted(api: APIClient) -> None:
    campaign = CampaignFactory()
    gift = paid(tipped_gift(api, campaign, 2000, 300), amount_cents=2000)
    assert gift.status == PaymentStatus.PENDING
    assert not LedgerEntry.objects.exists() and campaign_progress(campaign_id=campaign.pk) == (0, 0)


def test_the_transfer_to_the_organisation_is_the_gift_alone(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    organisation = OrganisationFactory(stripe_account_id="acct_demo_1", stripe_transfers_active=True)
    gift = tipped_gift(api, CampaignFactory(organisation=organisation), 2000, 300)
    with django_capture_on_commit_callbacks(execute=True):
        paid(gift)
    gift.refresh_from_db()
    assert gift.transfer_id
    assert list(Transfer.objects.values_list("gift_id", "amount_cents")) == [(gift.pk, 2000)]


def test_the_receipt_certifies_the_gift_alone(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    gift = tipped_gift(api, campaign, 2500, 500, receipt=DETAILS)
    url = urlsplit(gift.checkout_url).path
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"card_number": "4242424242424242"}).status_code == 302

    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID and tips(gift) == [("credit", "payment", 500)]
    receipt = TaxReceipt.objects.get()
    assert receipt.amount_cents == 2500
    assert list(receipt.lines.values_list("amount_cents", flat=True)) == [2500]


# --- The campaign page's form --------------------------------------------------------------------


def tip_input(page: str) -> str:
    match = re.search(r'<input[^>]*name="tip"[^>]*>', page)
    assert match is not None
    return match.group(0)


def test_the_form_proposes_an_empty_tip_and_says_what_it_pays_for(client: Client) -> None:
    page = client.get(CampaignFactory().get_absolute_url()).content.decode()
    field = tip_input(page)
    assert "value=" not in field and 'placeholder="0"' in field and "checked" not in field
    assert 'aria-describedby="give-tip-help"' in field
    help_text = re.search(r'<p class="hint" id="give-tip-help">(.*?)</p>', page, re.S)
    assert help_text is not None
    assert "votre don va entièrement au projet" in help_text.group(1)
    assert "Ce n'est pas un don au projet" in help_text.group(1) and "aucun reçu fiscal" in help_text.group(1)
    english = client.get(CampaignFactory().get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Trëmma" in english and "Ce n'est pas un don au projet" not in english


@pytest.mark.parametrize(("typed", "cents"), [("", 0), ("0", 0), ("2,50", 250), ("10", 1000)])
def test_the_form_takes_a_tip_typed_or_none(client: Client, typed: str, cents: int) -> None:
    campaign = CampaignFactory()
    response = client.post(
        f"/campagnes/{campaign.slug}/donner/", {"amount": "10", "email": "d@example.org", "tip": typed}
    )
    assert response.status_code == 303
    gift = Gift.objects.get()
    assert (gift.amount_cents, gift.tip_cents) == (1000, cents)
    assert DemoSession.objects.get().amount_cents == 1000 + cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "Indiquez un montant en euros, par exemple 0, 2 ou 2,50."),
        ("-2", "Indiquez un montant en euros, par exemple 0, 2 ou 2,50."),
        ("1,234", "Indiquez un montant en euros, par exemple 0, 2 ou 2,50."),
        ("10,01", "La contribution aux frais de Trëmma va de 0 au montant du don, au plus 100,00\u00a0€."),
        ("99999999999", "Indiquez un montant en euros, par exemple 0, 2 ou 2,50."),
    ],
)
def test_a_refused_tip_comes_back_beside_its_field(client: Client, typed: str, message: str) -> None:
    campaign = CampaignFactory()
    response = client.post(
        f"/campagnes/{campaign.slug}/donner/", {"amount": "10", "email": "d@example.org", "tip": typed}
    )
    assert response.status_code == 400 and not Gift.objects.exists()
    page = response.content.decode()
    match = re.search(r'<p class="error" id="give-tip-error">(.*?)</p>', page)
    assert match is not None and match.group(1) == message.replace("'", "&#x27;")
    assert 'aria-describedby="give-tip-error give-tip-help"' in tip_input(page)


# --- Refunds ---------------------------------------------------------------------------------------


def treasurer(campaign: Campaign) -> APIClient:
    api = APIClient()
    api.force_authenticate(MembershipFactory(organisation=campaign.organisation, role=Membership.Role.TREASURER).user)
    return api


def test_a_gift_refunded_in_whole_gives_its_tip_back_too(api: APIClient) -> None:
    campaign = CampaignFactory()
    gift = paid(tipped_gift(api, campaign, 2000, 300))

    response = treasurer(campaign).post(f"/api/gifts/{gift.pk}/refund/", {"reason": "Erreur"}, format="json")

    assert response.status_code == 201 and response.json()["amount_cents"] == 2000
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.REFUNDED and gift.refunded_cents == 2000
    # The provider gave back the whole payment: gift and tip.
    assert demo_gateway.DemoGateway().payment_amounts(gift.provider_payment_id) == (2300, 2300)
    assert tips(gift) == [("credit", "payment", 300), ("debit", "refund", 300)]
    assert campaign_progress(campaign_id=campaign.pk) == (0, 0)
    assert list(ledger_differences()) == []
    audit = AuditEntry.objects.get(action=AuditEntry.Action.REFUND)
    assert audit.details["amount_cents"] == 2000 and audit.details["tip_cents"] == 300


def test_a_partial_refund_keeps_the_tip_and_refunding_the_rest_gives_it_back(api: APIClient) -> None:
    campaign = CampaignFactory()
    gift = paid(tipped_gift(api, campaign, 2000, 300))
    manager = treasurer(campaign)

    assert (
        manager.post(f"/api/gifts/{gift.pk}/refund/", {"amount_cents": 500, "reason": "x"}, format="json").status_code
        == 201
    )
    gift.refresh_from_db()
    assert (gift.status, gift.refunded_cents) == (PaymentStatus.PAID, 500)
    assert tips(gift) == [("credit", "payment", 300)]
    assert campaign_progress(campaign_id=campaign.pk) == (1500, 1)
    assert list(ledger_differences()) == []

    assert manager.post(f"/api/gifts/{gift.pk}/refund/", {"reason": "le reste"}, format="json").status_code == 201
    gift.refresh_from_db()
    assert (gift.status, gift.refunded_cents) == (PaymentStatus.REFUNDED, 2000)
    assert tips(gift)[-1] == ("debit", "refund", 300)
    assert list(Refund.objects.values_list("amount_cents", flat=True)) == [500, 1500]
    assert list(ledger_differences()) == []


def test_a_tip_refund_event_replayed_or_older_changes_nothing(api: APIClient) -> None:
    campaign = CampaignFactory()
    gift = paid(tipped_gift(api, campaign, 2000, 300))

    def refunded(event_id: str, cents: int) -> None:
        event_receive(
            event=demo_gateway.PaymentEvent(
                provider="demo",
                id=event_id,
                type="payment.refunded",
                kind="gift",
                object_id=gift.pk,
                payment_id=gift.provider_payment_id,
                amount_cents=2300,
                currency="EUR",
                refunded_cents=cents,
            )
        )

    refunded("evt_all", 2300)
    refunded("evt_all_again", 2300)
    refunded("evt_older", 2100)
    refunded("evt_more_than_paid", 99_999)
    assert tips(gift) == [("credit", "payment", 300), ("debit", "refund", 300)]
    assert Gift.objects.get(pk=gift.pk).refunded_cents == 2000
    assert list(ledger_differences()) == []


def test_the_reconciliation_notices_a_tip_not_credited(api: APIClient) -> None:
    gift = paid(tipped_gift(api, CampaignFactory(), 2000, 300))
    LedgerEntry.objects.filter(gift=gift, account=LedgerEntry.Account.PLATFORM_TIPS).delete()
    assert list(ledger_differences()) == [f"gift {gift.pk}: tip credited 0, tip paid 300"]


# --- The operator's report -----------------------------------------------------------------------


def test_the_operator_sees_the_tips_month_by_month_and_as_csv(api: APIClient, client: Client) -> None:
    campaign = CampaignFactory()
    paid(tipped_gift(api, campaign, 2000, 300))
    paid(tipped_gift(api, campaign, 1000, 150))
    paid(tipped_gift(api, campaign, 1000, 0))
    refunded = paid(tipped_gift(api, campaign, 5000, 500))
    treasurer(campaign).post(f"/api/gifts/{refunded.pk}/refund/", {"reason": "x"}, format="json")

    [month] = platform_tips_by_month()
    assert (month.gifts, month.credited_cents, month.refunded_cents, month.net_cents) == (3, 950, 500, 450)

    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    page = client.get("/gestion/plateforme/contributions/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "9,50\u00a0€" in text and "-5,00\u00a0€" in text and "4,50\u00a0€" in text
    assert "aucun écart" in text
    csv = client.get("/gestion/plateforme/contributions.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert (
        lines[0]
        == "mois;dons avec contribution;contributions reçues (€);remboursées (€);reprises par litige (€);net (€)"
    )
    assert lines[1].endswith(";3;9,50;-5,00;0,00;4,50")


def test_the_tips_report_is_the_operators_only(client: Client) -> None:
    organisation_admin = MembershipFactory(role=Membership.Role.ADMIN).user
    for url in ["/gestion/plateforme/contributions/", "/gestion/plateforme/contributions.csv"]:
        assert client.get(url).status_code == 302  # to the sign-in page
        client.force_login(organisation_admin)
        assert client.get(url).status_code == 404
        client.force_login(UserFactory(is_staff=True))
        assert client.get(url).status_code == 404
        client.logout()


def test_the_organisations_gift_page_never_shows_the_tip(api: APIClient, client: Client) -> None:
    campaign = CampaignFactory()
    gift = paid(tipped_gift(api, campaign, 2000, 345))
    client.force_login(MembershipFactory(organisation=campaign.organisation, role=Membership.Role.TREASURER).user)
    page = client.get(f"/gestion/commandes/don/{gift.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "20,00\u00a0€" in text and "3,45" not in text and "23,45" not in text


def test_a_refund_after_the_transfer_reverses_the_gifts_part_never_counting_the_tip(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    from ledger.models import TransferReversal

    organisation = OrganisationFactory(stripe_account_id="acct_demo_2", stripe_transfers_active=True)
    campaign = CampaignFactory(organisation=organisation)
    gift = tipped_gift(api, campaign, 2000, 300)
    with django_capture_on_commit_callbacks(execute=True):
        paid(gift)
    with django_capture_on_commit_callbacks(execute=True):
        response = treasurer(campaign).post(
            f"/api/gifts/{gift.pk}/refund/", {"amount_cents": 500, "reason": "x"}, format="json"
        )
    assert response.status_code == 201
    # The organisation keeps 15 € of the gift: 5 € of its 20 € transfer come back, whatever the tip.
    assert list(TransferReversal.objects.values_list("amount_cents", flat=True)) == [500]
