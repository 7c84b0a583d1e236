"""Monthly gifts with the demo gateway: ``interval: "month"`` (API and the campaign
page's form), the demo provider's subscription and its monthly charges played
through the same event processing as Stripe's invoices, each charge a gift of its
own (ledger, thanks email with the signed management link), one yearly receipt
for the months of the year, the giver's changes from the signed link or their
space, and failed charges shown to managers."""

from __future__ import annotations

import re
import time
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign, Membership
from checkout.services.recurring import MANAGE_SALT, recurring_manage_signed
from donations.models import Gift, PaymentStatus, RecurringGift
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from payments import demo_gateway
from payments.events import event_receive
from payments.gateways import PaymentEvent
from payments.models import DemoSession, DemoSubscription, ProviderEvent
from receipts.issuing import receipts_issue_consolidated
from receipts.models import TaxReceipt
from tests.factories import MembershipFactory, UserFactory
from tests.receipts_support import ready_campaign, receipts_issue_due

pytestmark = pytest.mark.django_db

DETAILS = {
    "first_name": "Inès Marie",
    "last_name": "Da Silva",
    "address_line1": "12 avenue des Acacias",
    "postal_code": "31000",
    "city": "Toulouse",
    "country": "FR",
}


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def give_monthly(api: APIClient, campaign: Campaign, **fields: Any) -> Any:
    body = {"amount_cents": 2000, "email": "ines@example.org", "name": "Inès", "interval": "month", **fields}
    return api.post(f"/api/campaigns/{campaign.slug}/gifts/", body, format="json")


def start_and_pay(api: APIClient, client: Client, campaign: Campaign, capture: Any, **fields: Any) -> RecurringGift:
    """A monthly gift given through the API and its first month paid on the demo page."""
    response = give_monthly(api, campaign, **fields)
    assert response.status_code == 201, response.content
    with capture(execute=True):
        paid = client.post(local(response.json()["checkout_url"]), {"card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 302
    return RecurringGift.objects.get(charges__pk=response.json()["gift_id"])


def next_month(recurring: RecurringGift, capture: Any, *, fail: bool = False) -> None:
    recurring.refresh_from_db()
    with capture(execute=True):
        assert demo_gateway.subscription_charge_next(recurring.provider_subscription_id or "", fail=fail)


def manage_link(message: Any) -> str:
    match = re.search(r"https?://\S+/dons/mensuel/\S+/", message.body)
    assert match, message.body
    return local(match.group(0))


def test_three_months_of_a_monthly_gift_are_three_gifts_and_one_yearly_receipt(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    recurring = start_and_pay(api, client, campaign, django_capture_on_commit_callbacks, receipt=DETAILS)
    next_month(recurring, django_capture_on_commit_callbacks)
    next_month(recurring, django_capture_on_commit_callbacks)

    recurring.refresh_from_db()
    assert recurring.status == RecurringGift.Status.ACTIVE
    assert recurring.provider_subscription_id.startswith("demo_sub_")
    charges = list(recurring.charges.order_by("pk"))
    assert [(gift.status, gift.amount_cents) for gift in charges] == [(PaymentStatus.PAID, 2000)] * 3
    assert len({gift.provider_invoice_id for gift in charges}) == 3
    assert all(gift.receipt_requested and gift.receipt_city == "Toulouse" for gift in charges)
    credits = LedgerEntry.objects.filter(gift__recurring=recurring, kind=LedgerEntry.Kind.CREDIT)
    assert sorted(credits.values_list("amount_cents", flat=True)) == [2000, 2000, 2000]
    assert campaign_progress(campaign_id=campaign.pk) == (6000, 1)  # one backer, giving every month
    # Each month is thanked, with the link to change or stop the gift.
    thanks = [message for message in mail.outbox if "Merci pour votre don" in message.subject]
    assert len(thanks) == 3 and all("/dons/mensuel/" in message.body for message in thanks)

    # Not one receipt a month: one for the year, covering the three months.
    assert receipts_issue_due() == 0 and not TaxReceipt.objects.exists()
    [receipt] = receipts_issue_consolidated(year=timezone.localtime().year)
    assert receipt.amount_cents == 6000
    assert sorted(receipt.lines.values_list("gift_id", flat=True)) == [gift.pk for gift in charges]
    assert receipts_issue_consolidated(year=timezone.localtime().year) == []


def test_a_replayed_charge_counts_once_even_under_another_event_id(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    recurring = start_and_pay(api, client, ready_campaign(), django_capture_on_commit_callbacks)
    recorded = ProviderEvent.objects.get(type="subscription.charge_succeeded")
    snapshot = (Gift.objects.count(), LedgerEntry.objects.count())

    assert event_receive(event=PaymentEvent(**recorded.event)) is False
    # The same invoice told again under a new event id (as Stripe's invoice.paid and a retry could).
    assert event_receive(event=PaymentEvent(**{**recorded.event, "id": "demo_evt_other"})) is True

    assert (Gift.objects.count(), LedgerEntry.objects.count()) == snapshot
    assert recurring.charges.count() == 1


def test_a_guest_stops_the_monthly_gift_from_the_signed_link_of_the_email(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    recurring = start_and_pay(api, client, ready_campaign(), django_capture_on_commit_callbacks)
    link = manage_link(mail.outbox[-1])

    page = client.get(link)
    assert page.status_code == 200 and "Arrêter mon don mensuel" in page.content.decode()
    assert "no-store" in page["Cache-Control"] and page["X-Robots-Tag"] == "noindex"
    with django_capture_on_commit_callbacks(execute=True):
        stopped = client.post(link, {"action": "stop"})

    assert stopped.status_code == 303
    recurring.refresh_from_db()
    assert (recurring.status, recurring.stopped_by) == (RecurringGift.Status.STOPPED, "giver")
    assert DemoSubscription.objects.get().status == DemoSubscription.Status.CANCELED
    # No next month any more; the month given stays given.
    assert demo_gateway.subscription_charge_next(recurring.provider_subscription_id or "") is False
    assert recurring.charges.get().status == PaymentStatus.PAID
    assert "Arrêté" in client.get(link).content.decode()
    assert client.post(link, {"action": "stop"}).status_code == 303  # twice: nothing more


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda good: good[:-3] + ("abc" if not good.endswith("abc") else "xyz"), id="altered"),
        pytest.param(lambda good: signing.dumps({"id": 1, "t": "x"}, salt="another-salt"), id="other-salt"),
        pytest.param(lambda good: signing.dumps({"id": "1"}, salt=MANAGE_SALT), id="bad-shape"),
        pytest.param(lambda good: "nimportequoi", id="garbage"),
    ],
)
def test_a_forged_or_altered_management_link_is_a_404_and_changes_nothing(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any, forge: Any
) -> None:
    recurring = start_and_pay(api, client, ready_campaign(), django_capture_on_commit_callbacks)
    forged = forge(recurring_manage_signed(recurring))

    assert client.get(f"/dons/mensuel/{forged}/").status_code == 404
    assert client.post(f"/dons/mensuel/{forged}/", {"action": "stop"}).status_code == 404
    assert RecurringGift.objects.get().status == RecurringGift.Status.ACTIVE


def test_a_link_of_another_token_is_refused() -> None:
    """A link signed for a token the monthly gift no longer has (or never had) opens nothing."""
    campaign = ready_campaign()
    recurring = RecurringGift.objects.create(
        campaign=campaign, email="a@example.org", amount_cents=1000, provider="demo"
    )
    stale = signing.dumps({"id": recurring.pk, "t": "not-its-token"}, salt=MANAGE_SALT, compress=True)
    assert Client().get(f"/dons/mensuel/{stale}/").status_code == 404


def test_the_giver_changes_the_amount_from_the_next_month_on(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    recurring = start_and_pay(api, client, ready_campaign(), django_capture_on_commit_callbacks)
    link = manage_link(mail.outbox[-1])

    refused = client.post(link, {"action": "amount", "amount": "0,50"})
    assert refused.status_code == 400 and "Le don minimum est de 1 €." in refused.content.decode()
    assert client.post(link, {"action": "amount", "amount": "douze"}).status_code == 400
    changed = client.post(link, {"action": "amount", "amount": "35"})
    assert changed.status_code == 303
    recurring.refresh_from_db()
    assert recurring.amount_cents == 3500 and recurring.amount_changes == 1
    assert DemoSubscription.objects.get().amount_cents == 3500

    next_month(recurring, django_capture_on_commit_callbacks)
    assert list(recurring.charges.order_by("pk").values_list("amount_cents", flat=True)) == [2000, 3500]


def test_a_failed_charge_is_shown_to_the_organisations_managers_until_a_charge_succeeds(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    manager = MembershipFactory(organisation=campaign.organisation, role=Membership.Role.MANAGER).user
    stranger = MembershipFactory(role=Membership.Role.ADMIN).user
    recurring = start_and_pay(api, client, campaign, django_capture_on_commit_callbacks)

    next_month(recurring, django_capture_on_commit_callbacks, fail=True)

    recurring.refresh_from_db()
    assert recurring.failed_charges == 1 and recurring.failing and recurring.next_attempt_at is not None
    assert recurring.charges.count() == 1  # no gift, no money for a failed month
    client.force_login(manager)
    page = client.get("/gestion/commandes/").content.decode()
    assert "prélèvement échoué" in page and "ines@example.org" in page
    client.force_login(stranger)
    assert "prélèvement échoué" not in client.get("/gestion/commandes/").content.decode()

    # The retry of that month's invoice succeeds: one more gift, nothing failing any more.
    next_month(recurring, django_capture_on_commit_callbacks)
    recurring.refresh_from_db()
    assert not recurring.failing and recurring.charges.count() == 2
    client.force_login(manager)
    assert "prélèvement échoué" not in client.get("/gestion/commandes/").content.decode()


@pytest.mark.parametrize("interval", ["week", "year", "", "MONTH", "month\x00", 1, True, [], ["month"], {"a": 1}])
def test_a_hostile_interval_is_a_400_on_its_field_and_writes_nothing(api: APIClient, interval: Any) -> None:
    campaign = ready_campaign()
    response = give_monthly(api, campaign, interval=interval)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "interval" in response.json()["fields"]
    assert not Gift.objects.exists() and not RecurringGift.objects.exists() and not DemoSession.objects.exists()


def test_a_gift_without_interval_or_a_null_one_is_given_once(api: APIClient) -> None:
    campaign = ready_campaign()
    for fields in ({"interval": None}, {}):
        body = {"amount_cents": 1500, "email": "a@example.org", **fields}
        assert api.post(f"/api/campaigns/{campaign.slug}/gifts/", body, format="json").status_code == 201
    assert not RecurringGift.objects.exists()
    assert set(DemoSession.objects.values_list("interval", flat=True)) == {""}


def test_the_campaign_pages_form_gives_monthly_and_refuses_another_frequency(client: Client) -> None:
    campaign = ready_campaign()
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "Tous les mois" in page and "Une fois" in page
    form = {"amount": "15", "email": "b@example.org"}

    refused = client.post(f"/campagnes/{campaign.slug}/donner/", {**form, "interval": "week"})
    assert refused.status_code == 400 and not RecurringGift.objects.exists()
    given = client.post(f"/campagnes/{campaign.slug}/donner/", {**form, "interval": "month"})

    assert given.status_code == 303
    recurring = RecurringGift.objects.get()
    assert (recurring.amount_cents, recurring.status) == (1500, RecurringGift.Status.PENDING)
    session = DemoSession.objects.get()
    assert (session.interval, session.subscription_kind, session.subscription_object_id) == (
        "month",
        "recurring",
        recurring.pk,
    )
    assert "par mois" in client.get(local(given["Location"])).content.decode()


def test_the_demo_subscription_page_plays_the_next_months_charge(
    api: APIClient, client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    recurring = start_and_pay(api, client, ready_campaign(), django_capture_on_commit_callbacks)
    manage = client.get(manage_link(mail.outbox[-1])).content.decode()
    demo_url = demo_gateway.subscription_page_url(recurring.provider_subscription_id or "")
    assert demo_url in manage and "Simuler le prochain prélèvement" in manage

    page = client.get(demo_url)
    assert page.status_code == 200 and "Démo — aucun paiement réel" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        played = client.post(demo_url, {"action": "pay"})
    assert played.status_code == 302 and recurring.charges.count() == 2
    assert client.post(demo_url, {"action": "steal"}).status_code == 400
    assert client.get("/payments/demo/abonnement/inconnu/").status_code == 404
    settings.PAYMENT_GATEWAY = "stripe"
    assert client.get(demo_url).status_code == 404


def test_the_donors_space_lists_their_monthly_gifts_with_their_management_page(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    donor = UserFactory(email="ines@example.org")
    client.force_login(donor)
    api = APIClient()
    api.force_authenticate(donor)
    recurring = start_and_pay(api, client, ready_campaign(), django_capture_on_commit_callbacks)
    assert recurring.user == donor

    # The link is signed with the second it is made in: the page's and the expected one, the same second.
    same_second = signing.b62_encode(int(time.time()))
    with mock.patch.object(signing.TimestampSigner, "timestamp", return_value=same_second):
        page = client.get("/mon-compte/").content.decode()
        expected = recurring_manage_signed(recurring)

    assert "Mes dons mensuels" in page and "20,00 € par mois" in page.replace("\xa0", " ")
    assert f"/dons/mensuel/{expected}/" in page


def test_an_abandoned_first_checkout_never_starts_the_monthly_gift(api: APIClient) -> None:
    response = give_monthly(api, ready_campaign())
    session = DemoSession.objects.get()

    demo_gateway.session_expire(session.session_id)

    recurring = RecurringGift.objects.get()
    assert recurring.status == RecurringGift.Status.STOPPED and recurring.started_at is None
    assert Gift.objects.get(pk=response.json()["gift_id"]).status == PaymentStatus.EXPIRED
