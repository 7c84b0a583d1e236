"""Stripe Connect onboarding: an organisation's admins connect its account from
its payments page (Stripe path against the local Stripe-compatible server, and
the demo gateway), the Connect endpoint's signed account.updated events, and
transfers held until the account can receive them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Campaign, Membership, Organisation
from checkout.services import transfers_pay
from donations.models import Gift, PaymentStatus
from payments.models import ProviderEvent
from tests.factories import CampaignFactory, OrganisationFactory, UserFactory, manager_of
from tests.support.payments import (
    CONNECT_WEBHOOK_URL,
    complete_session,
    event,
    onboard_account,
    post_connect_event,
    post_event,
    sign,
    stripe_call,
)

pytestmark = pytest.mark.django_db


def page_of(organisation: Organisation) -> str:
    return f"/gestion/organisations/{organisation.slug}/paiements/"


def new_organisation(**fields: Any) -> Organisation:
    # A unique e-mail finds this test's accounts among the server's (one Stripe-compatible server per session).
    return OrganisationFactory(contact_email=f"{uuid.uuid4().hex[:12]}@example.org", **fields)


def admin_client(organisation: Organisation) -> Client:
    client = Client()
    client.force_login(manager_of(organisation, role=Membership.Role.ADMIN))
    return client


def accounts_of(organisation: Organisation) -> list[dict[str, Any]]:
    listed = stripe_call("GET", "/v1/accounts?limit=100")["data"]
    return [account for account in listed if account["email"] == organisation.contact_email]


def transfers_of(organisation: Organisation, group: str) -> list[dict[str, Any]]:
    """The transfers of ``group`` to ``organisation``'s account. The local Stripe server lives for the whole
    session while our ids start again in each test: ``gift-1`` alone may name another test's gift."""
    account = Organisation.objects.get(pk=organisation.pk).stripe_account_id
    transfers = stripe_call("GET", "/v1/transfers?limit=100")["data"]
    return [t for t in transfers if t["transfer_group"] == group and t["destination"] == account]


def paid_gift(campaign: Campaign, capture: Any, amount_cents: int = 2600) -> Gift:
    """A gift paid through Stripe Checkout and its signed webhook (after-commit work run)."""
    response = APIClient().post(
        f"/api/campaigns/{campaign.slug}/gifts/", {"amount_cents": amount_cents, "email": "don@example.org"}
    )
    assert response.status_code == 201, response.content
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    with capture(execute=True):
        assert post_event(Client(), complete_session(gift.provider_session_id or "")).status_code == 200
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID
    return gift


def connect(client: Client, organisation: Organisation) -> Any:
    response = client.post(page_of(organisation))
    organisation.refresh_from_db()
    return response


# --- Stripe path ------------------------------------------------------------------------------


@pytest.mark.usefixtures("stripe_settings")
def test_an_admin_connects_the_organisation_and_is_sent_to_stripes_onboarding_form() -> None:
    organisation = new_organisation()

    response = connect(admin_client(organisation), organisation)

    assert response.status_code == 303
    account_id = organisation.stripe_account_id
    assert account_id.startswith("acct_")
    assert response["Location"].startswith(f"https://connect.stripe.com/setup/e/{account_id}/")
    [account] = accounts_of(organisation)
    assert account["id"] == account_id and account["type"] == "express" and account["country"] == "FR"
    assert account["business_type"] == "non_profit" and account["capabilities"] == {"transfers": "inactive"}
    assert account["metadata"] == {"tremma_organisation": str(organisation.pk)}
    page = settings.SITE_URL + page_of(organisation)
    [link] = stripe_call("GET", f"/_test/account_links?account={account_id}")["data"]
    assert link == {
        "account": account_id,
        "type": "account_onboarding",
        "refresh_url": f"{page}?lien=expire",
        "return_url": f"{page}?retour=1",
    }
    # What the account still lacks, as Stripe said when creating it: no transfer yet.
    assert not organisation.stripe_transfers_active and not organisation.stripe_details_submitted
    assert "external_account" in organisation.stripe_requirements_due


@pytest.mark.usefixtures("stripe_settings")
def test_a_double_click_creates_one_account_and_a_fresh_link_each_time() -> None:
    organisation = new_organisation()
    client = admin_client(organisation)

    first = connect(client, organisation)
    account_id = organisation.stripe_account_id
    second = connect(client, organisation)

    assert organisation.stripe_account_id == account_id
    assert first["Location"] != second["Location"]  # links are single-use: a new one each time
    assert len(accounts_of(organisation)) == 1


@pytest.mark.usefixtures("stripe_settings")
def test_two_requests_that_both_saw_no_account_get_the_same_account_from_stripe() -> None:
    organisation = new_organisation()
    client = admin_client(organisation)
    connect(client, organisation)
    account_id = organisation.stripe_account_id
    # The second click was read before the first one stored its account: the idempotency key answers.
    Organisation.objects.filter(pk=organisation.pk).update(stripe_account_id="")

    assert connect(client, organisation).status_code == 303

    assert organisation.stripe_account_id == account_id
    assert len(accounts_of(organisation)) == 1


@pytest.mark.usefixtures("stripe_settings")
def test_the_return_page_shows_what_stripe_still_needs_then_that_the_account_is_ready() -> None:
    organisation = new_organisation()
    client = admin_client(organisation)
    connect(client, organisation)

    waiting = client.get(page_of(organisation) + "?retour=1")
    assert waiting.status_code == 200
    assert "Inscription à compléter." in waiting.content.decode()
    assert "coordonnées bancaires (IBAN)" in waiting.content.decode()
    assert "Reprendre l'inscription Stripe" in waiting.content.decode()
    assert "no-store" in waiting["Cache-Control"]

    onboard_account(organisation.stripe_account_id)  # before Stripe's event reaches us
    ready = client.get(page_of(organisation) + "?retour=1")

    assert "Prêt à recevoir les virements." in ready.content.decode()
    assert "Reprendre l'inscription Stripe" not in ready.content.decode()
    organisation.refresh_from_db()
    assert organisation.stripe_transfers_active and organisation.stripe_payouts_enabled
    assert organisation.stripe_requirements_due == []


@pytest.mark.usefixtures("stripe_settings")
def test_an_expired_link_brings_the_admin_back_to_a_page_that_offers_a_new_one() -> None:
    organisation = new_organisation()
    client = admin_client(organisation)
    connect(client, organisation)

    page = client.get(page_of(organisation) + "?lien=expire").content.decode()

    assert "Le lien d'inscription a expiré" in page and "Reprendre l'inscription Stripe" in page


@pytest.mark.usefixtures("stripe_settings")
def test_stripe_unreachable_gives_a_clear_503_and_stores_no_account(settings: Any) -> None:
    organisation = new_organisation()
    client = admin_client(organisation)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = connect(client, organisation)

    assert response.status_code == 503
    assert "Stripe est momentanément indisponible" in response.content.decode()
    assert organisation.stripe_account_id == ""


@pytest.mark.usefixtures("stripe_settings")
def test_transfers_wait_while_the_account_cannot_receive_them_and_go_out_once_stripe_says_it_can(
    django_capture_on_commit_callbacks: Any,
) -> None:
    organisation = new_organisation()
    campaign = CampaignFactory(organisation=organisation)
    connect(admin_client(organisation), organisation)
    gift = paid_gift(campaign, django_capture_on_commit_callbacks, amount_cents=2600)

    # Connected, onboarding not finished: nothing is sent, neither after the payment nor by the worker.
    assert gift.transfer_id == ""
    assert transfers_pay() == 0
    assert transfers_of(organisation, f"gift-{gift.pk}") == []

    updated = onboard_account(organisation.stripe_account_id)
    assert updated["type"] == "account.updated" and updated["account"] == organisation.stripe_account_id
    with django_capture_on_commit_callbacks(execute=True):
        assert post_connect_event(Client(), updated).status_code == 200

    organisation.refresh_from_db()
    assert organisation.stripe_transfers_active and organisation.stripe_details_submitted
    gift.refresh_from_db()
    [transfer] = transfers_of(organisation, f"gift-{gift.pk}")
    assert gift.transfer_id == transfer["id"]
    assert transfer["amount"] == 2600 and transfer["destination"] == organisation.stripe_account_id

    # Replays of the event are recorded once and send nothing more.
    for _attempt in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_connect_event(Client(), updated).status_code == 200
    assert ProviderEvent.objects.filter(event_id=updated["id"]).count() == 1
    assert len(transfers_of(organisation, f"gift-{gift.pk}")) == 1
    assert transfers_pay() == 0


@pytest.mark.usefixtures("stripe_settings")
@pytest.mark.parametrize(
    "how",
    ["platform secret", "unsigned", "stale", "altered"],
)
def test_an_account_updated_not_signed_by_the_connect_endpoint_is_refused_and_writes_nothing(how: str) -> None:
    organisation = new_organisation()
    connect(admin_client(organisation), organisation)
    updated = onboard_account(organisation.stripe_account_id)
    payload = json.dumps(updated).encode()
    headers: dict[str, str] = {}
    if how == "platform secret":
        headers["HTTP_STRIPE_SIGNATURE"] = sign(payload, secret=settings.STRIPE_WEBHOOK_SECRET)
    elif how == "stale":
        headers["HTTP_STRIPE_SIGNATURE"] = sign(
            payload, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET, timestamp=int(time.time()) - 600
        )
    elif how == "altered":
        headers["HTTP_STRIPE_SIGNATURE"] = sign(payload, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET)
        payload = payload.replace(b'"payouts_enabled": true', b'"payouts_enabled": false')

    response = Client().post(CONNECT_WEBHOOK_URL, data=payload, content_type="application/json", **headers)

    assert response.status_code == 400
    assert ProviderEvent.objects.count() == 0
    organisation.refresh_from_db()
    assert not organisation.stripe_transfers_active


@pytest.mark.usefixtures("stripe_settings")
def test_the_platform_endpoint_does_not_take_the_connect_endpoints_events() -> None:
    organisation = new_organisation()
    connect(admin_client(organisation), organisation)
    updated = onboard_account(organisation.stripe_account_id)

    response = post_event(Client(), updated, secret=settings.STRIPE_CONNECT_WEBHOOK_SECRET)

    assert response.status_code == 400
    organisation.refresh_from_db()
    assert not organisation.stripe_transfers_active


@pytest.mark.usefixtures("stripe_settings")
def test_an_account_no_organisation_holds_is_acknowledged_and_ignored() -> None:
    other = new_organisation(stripe_account_id="acct_someone_else", stripe_transfers_active=False)
    unknown = {"id": "acct_unknown_to_us", "object": "account", "capabilities": {"transfers": "active"}}

    response = post_connect_event(Client(), event("account.updated", unknown))

    assert response.status_code == 200
    other.refresh_from_db()
    assert not other.stripe_transfers_active and other.stripe_state_at is None


@pytest.mark.usefixtures("stripe_settings")
def test_an_older_account_updated_delivered_late_never_overwrites_a_newer_state() -> None:
    organisation = new_organisation()
    connect(admin_client(organisation), organisation)
    account = stripe_call("GET", f"/v1/accounts/{organisation.stripe_account_id}")
    older = {**event("account.updated", account, id="evt_older"), "created": int(time.time()) - 60}
    newer = onboard_account(organisation.stripe_account_id)

    assert post_connect_event(Client(), newer).status_code == 200
    assert post_connect_event(Client(), older).status_code == 200

    organisation.refresh_from_db()
    assert organisation.stripe_transfers_active and organisation.stripe_requirements_due == []


@pytest.mark.usefixtures("stripe_settings")
def test_a_submitted_account_under_review_is_shown_as_being_verified_and_holds_transfers() -> None:
    organisation = new_organisation()
    client = admin_client(organisation)
    connect(client, organisation)
    account = stripe_call("GET", f"/v1/accounts/{organisation.stripe_account_id}")
    account.update(details_submitted=True, capabilities={"transfers": "pending"})
    account["requirements"].update(
        currently_due=[],
        past_due=[],
        pending_verification=["company.tax_id"],
        disabled_reason="requirements.pending_verification",
    )

    assert post_connect_event(Client(), event("account.updated", account, id="evt_review")).status_code == 200

    page = client.get(page_of(organisation)).content.decode()
    assert "En cours de vérification par Stripe." in page
    organisation.refresh_from_db()
    assert organisation.stripe_details_submitted and not organisation.stripe_transfers_active
    assert organisation.stripe_disabled_reason == "requirements.pending_verification"


# --- Who may connect ------------------------------------------------------------------------


@pytest.mark.usefixtures("stripe_settings")
def test_only_the_organisations_admins_see_its_payments_page_and_connect_it() -> None:
    organisation = new_organisation()
    other_admin = admin_client(new_organisation())
    manager = Client()
    manager.force_login(manager_of(organisation, role=Membership.Role.MANAGER))
    stranger = Client()
    stranger.force_login(UserFactory())

    for client in (other_admin, manager, stranger):
        assert client.get(page_of(organisation)).status_code == 404
        assert client.post(page_of(organisation)).status_code == 404
    anonymous = Client().post(page_of(organisation))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(settings.LOGIN_URL)

    organisation.refresh_from_db()
    assert organisation.stripe_account_id == ""
    assert accounts_of(organisation) == []


def test_connecting_needs_the_csrf_token() -> None:
    organisation = new_organisation()
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager_of(organisation, role=Membership.Role.ADMIN))

    assert client.post(page_of(organisation)).status_code == 403

    organisation.refresh_from_db()
    assert organisation.stripe_account_id == ""


def test_the_account_id_and_its_state_are_read_only_in_the_admin() -> None:
    organisation = new_organisation(stripe_account_id="acct_typed_before")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(f"/admin/campaigns/organisation/{organisation.pk}/change/").content.decode()

    assert "acct_typed_before" in page
    assert 'name="stripe_account_id"' not in page and 'name="stripe_transfers_active"' not in page


# --- Demo gateway -----------------------------------------------------------------------------


def demo_gift(campaign: Campaign, capture: Any, amount_cents: int = 1500) -> Gift:
    response = APIClient().post(
        f"/api/campaigns/{campaign.slug}/gifts/", {"amount_cents": amount_cents, "email": "don@example.org"}
    )
    gift = Gift.objects.get(pk=response.json()["gift_id"])
    with capture(execute=True):
        Client().post(gift.checkout_url.removeprefix(settings.SITE_URL), {"card_number": "4242 4242 4242 4242"})
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.PAID
    return gift


def test_the_demo_onboarding_page_is_labelled_and_completes_through_account_updated(
    django_capture_on_commit_callbacks: Any,
) -> None:
    organisation = new_organisation()
    campaign = CampaignFactory(organisation=organisation)
    client = admin_client(organisation)
    gift = demo_gift(campaign, django_capture_on_commit_callbacks)
    assert "Aucun compte Stripe n'est connecté" in client.get(page_of(organisation)).content.decode()

    response = connect(client, organisation)
    assert response.status_code == 303 and organisation.stripe_account_id.startswith("demo_acct_")
    onboarding = response["Location"].removeprefix(settings.SITE_URL)
    assert onboarding.startswith("/payments/demo/inscription/")
    assert Gift.objects.get(pk=gift.pk).transfer_id == ""  # held: the account cannot receive yet

    form = client.get(onboarding)
    assert form.status_code == 200
    assert "Démo — aucun compte réel" in form.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(onboarding)
    assert done.status_code == 303 and done["Location"] == settings.SITE_URL + page_of(organisation) + "?retour=1"
    organisation.refresh_from_db()
    assert organisation.stripe_transfers_active and organisation.stripe_requirements_due == []
    assert Gift.objects.get(pk=gift.pk).transfer_id == f"demo_tr_gift-{gift.pk}"
    [record] = ProviderEvent.objects.filter(type="account.updated")
    assert record.provider == "demo" and record.processed_at is not None

    client.post(onboarding)  # submitted twice: a replay
    assert ProviderEvent.objects.filter(type="account.updated").count() == 1
    assert "Prêt à recevoir les virements." in client.get(done["Location"]).content.decode()


def test_the_demo_onboarding_page_is_only_for_the_organisations_admins_and_signed_links() -> None:
    organisation = new_organisation()
    response = connect(admin_client(organisation), organisation)
    onboarding = response["Location"].removeprefix(settings.SITE_URL)

    assert admin_client(new_organisation()).get(onboarding).status_code == 404
    assert admin_client(organisation).get(onboarding[:-3] + "xx/").status_code == 404
    assert admin_client(new_organisation()).post(onboarding).status_code == 404
    organisation.refresh_from_db()
    assert not organisation.stripe_transfers_active


def test_the_connect_webhook_does_not_exist_without_stripe() -> None:
    assert Client().post(CONNECT_WEBHOOK_URL, data=b"{}", content_type="application/json").status_code == 404


def test_the_payments_page_reads_in_english_and_is_linked_from_the_receipts_page() -> None:
    organisation = new_organisation()
    client = admin_client(organisation)

    english = client.get(page_of(organisation), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    receipts = client.get("/gestion/recus/").content.decode()

    assert "Connect the Stripe account" in english and "No Stripe account is connected" in english
    assert f'href="{page_of(organisation)}"' in receipts


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("stripe_settings")
def test_clicks_at_the_same_instant_create_one_account_on_postgresql() -> None:
    from django.db import connection

    from tests.components import require
    from tests.test_checkout_concurrency import race

    require("postgres", connection.vendor == "postgresql", f"database is {connection.vendor}")
    organisation = new_organisation()
    clients = [admin_client(organisation) for _ in range(4)]

    results = race(4, lambda n: clients[n].post(page_of(organisation)).status_code)

    assert results == [303] * 4
    organisation.refresh_from_db()
    [account] = accounts_of(organisation)
    assert organisation.stripe_account_id == account["id"]
