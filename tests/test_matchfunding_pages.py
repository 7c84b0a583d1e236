"""Matchfunding in the pages: the campaign page and the window screen show the
partners' promise apart from the money collected, and "votre don est doublé"
while a pledge runs; managers record and edit pledges, treasurers record the
partner's payment, in the workspace; bad or hostile input gets a field-level
error and writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, Membership, Partner, Pledge
from ledger.models import LedgerEntry
from tests.factories import WindowFactory, place_items
from tests.receipts_support import manager, paid_gift, ready_campaign
from tests.test_matchfunding import COMPANY, over, pledge_for

pytestmark = pytest.mark.django_db


def live_campaign() -> Campaign:
    campaign = ready_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.LIVE)
    campaign.refresh_from_db()
    return campaign


def signed_in(client: Client, campaign: Campaign, role: str = Membership.Role.MANAGER) -> Client:
    client.force_login(manager(campaign.organisation, role=role))
    return client


def form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        **COMPANY,
        "ratio_percent": "100",
        "cap_cents": "5000",
        "ends_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    data.update(overrides)
    return data


# --- Public pages ---------------------------------------------------------------------------------


def test_the_campaign_page_shows_the_promise_apart_from_the_money_collected(client: Client) -> None:
    campaign = live_campaign()
    pledge_for(campaign)
    paid_gift(campaign, 2500)

    html = client.get(campaign.get_absolute_url()).content.decode()

    assert "25,00\xa0€</span> collectés" in html
    assert "Abondement promis par Boulangerie Lemoine SAS : <span data-matched>25,00\xa0€</span>" in html
    assert "Votre don est doublé !" in html and "data-match-banner" in html


def test_the_campaign_page_says_nothing_of_a_pledge_over_that_matched_nothing(client: Client) -> None:
    campaign = live_campaign()
    over(pledge_for(campaign))

    html = client.get(campaign.get_absolute_url()).content.decode()

    assert "data-matching" not in html and "doublé" not in html


def test_a_partners_name_is_shown_as_text_never_as_markup(client: Client) -> None:
    campaign = live_campaign()
    pledge_for(campaign, partner={**COMPANY, "legal_name": '<script>alert("x")</script>'})

    html = client.get(campaign.get_absolute_url()).content.decode()

    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_the_window_screen_shows_the_matched_total_and_that_a_gift_is_doubled(client: Client) -> None:
    campaign = live_campaign()
    window = WindowFactory(organisation=campaign.organisation)
    place_items(window, 1, campaign=campaign)
    pledge_for(campaign, ratio_percent=200)
    paid_gift(campaign, 1000)

    html = client.get(f"/windows/{window.pk}/screen/").content.decode()

    assert "+ <span data-matched-amount>20,00\xa0€</span> promis par Boulangerie Lemoine SAS" in html
    assert "Votre don est triplé !" in html


# --- The workspace --------------------------------------------------------------------------------


def test_a_manager_records_a_pledge_from_the_workspace(client: Client) -> None:
    campaign = live_campaign()
    signed_in(client, campaign)

    response = client.post(f"/gestion/campagnes/{campaign.slug}/abondements/nouveau/", form_data(siren="732 829 320"))

    assert response.status_code == 302
    pledge = Pledge.objects.get()
    assert (pledge.cap_cents, pledge.ratio_percent, pledge.partner.siren) == (500_000, 100, "732829320")
    assert timezone.localtime(pledge.ends_at).date() == timezone.localdate() + timedelta(days=30)
    page = client.get(f"/gestion/campagnes/{campaign.slug}/abondements/").content.decode()
    assert "Boulangerie Lemoine SAS" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("siren", "123456789"),  # fails the Luhn check
        ("siren", "73282932"),
        ("siren", "７３２８２９３２０"),
        ("siren", ""),  # a company's is mandatory
        ("kind", "government"),
        ("legal_name", ""),
        ("legal_name", "x" * 201),
        ("contact_email", "not-an-email"),
        ("ratio_percent", "0"),
        ("ratio_percent", "1001"),
        ("ratio_percent", "-100"),
        ("ratio_percent", "1e2"),
        ("cap_cents", "0"),
        ("cap_cents", "-50"),
        ("cap_cents", "12,345"),
        ("cap_cents", "NaN"),
        ("cap_cents", "99999999999"),
        ("ends_on", "2001-01-01"),
        ("ends_on", "31/02/2030"),
        ("ends_on", "' OR 1=1 --"),
    ],
)
def test_bad_pledge_input_gets_a_field_error_and_writes_nothing(client: Client, field: str, value: str) -> None:
    campaign = live_campaign()
    signed_in(client, campaign)

    response = client.post(f"/gestion/campagnes/{campaign.slug}/abondements/nouveau/", form_data(**{field: value}))

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Pledge.objects.exists() and not Partner.objects.exists()


def test_the_cap_cannot_be_edited_below_what_was_already_matched(client: Client) -> None:
    campaign = live_campaign()
    pledge = pledge_for(campaign)
    paid_gift(campaign, 3000)
    signed_in(client, campaign)

    response = client.post(f"/gestion/abondements/{pledge.pk}/", form_data(cap_cents="29,99"))

    assert response.status_code == 400
    assert "30,00" in str(response.context["form"].errors["cap_cents"])
    assert Pledge.objects.get(pk=pledge.pk).cap_cents == 10_000


def test_a_pledge_over_keeps_its_past_end_date_when_edited(client: Client) -> None:
    campaign = live_campaign()
    pledge = over(pledge_for(campaign), days_ago=3)
    signed_in(client, campaign)
    ends_on = timezone.localtime(pledge.ends_at).date().isoformat()

    response = client.post(f"/gestion/abondements/{pledge.pk}/", form_data(ends_on=ends_on, legal_name="Lemoine"))

    assert response.status_code == 302
    assert Pledge.objects.get(pk=pledge.pk).partner.legal_name == "Lemoine"


def test_a_treasurer_marks_the_partners_payment_received(client: Client) -> None:
    campaign = live_campaign()
    pledge = pledge_for(campaign)
    paid_gift(campaign, 2000)
    over(pledge)
    signed_in(client, campaign, role=Membership.Role.TREASURER)
    page = client.get(f"/gestion/campagnes/{campaign.slug}/abondements/").content.decode()
    assert "Enregistrer le versement du partenaire" in page and "Enregistrer un abondement" not in page

    response = client.post(
        f"/gestion/abondements/{pledge.pk}/recu/",
        {
            f"p{pledge.pk}-received_cents": "20",
            f"p{pledge.pk}-received_on": timezone.localdate(),
            f"p{pledge.pk}-means": "cheque",
        },
    )

    assert response.status_code == 302
    assert LedgerEntry.objects.get(pledge=pledge).amount_cents == 2000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("received_cents", "100,01"),  # above the cap
        ("received_cents", "0"),
        ("received_cents", "abc"),
        ("received_on", "2999-01-01"),
        ("received_on", "2001-01-01"),  # before the pledge
        ("means", "cash"),
        ("means", "<b>"),
    ],
)
def test_a_bad_payment_record_gets_a_field_error_and_writes_nothing(client: Client, field: str, value: str) -> None:
    campaign = live_campaign()
    pledge = over(pledge_for(campaign, cap_cents=10_000))
    signed_in(client, campaign, role=Membership.Role.ADMIN)
    data = {"received_cents": "50", "received_on": timezone.localdate().isoformat(), "means": "transfer"}
    data[field] = value

    response = client.post(f"/gestion/abondements/{pledge.pk}/recu/", {f"p{pledge.pk}-{k}": v for k, v in data.items()})

    assert response.status_code == 400
    (shown,) = [row for row in response.context["pledges"] if row.pk == pledge.pk]
    assert field in shown.settle_form.errors
    assert Pledge.objects.get(pk=pledge.pk).status == Pledge.Status.ACTIVE
    assert not LedgerEntry.objects.filter(pledge=pledge).exists()


def test_a_campaign_manager_cannot_record_the_partners_payment(client: Client) -> None:
    campaign = live_campaign()
    pledge = over(pledge_for(campaign))
    signed_in(client, campaign)

    client.post(
        f"/gestion/abondements/{pledge.pk}/recu/",
        {
            f"p{pledge.pk}-received_cents": "20",
            f"p{pledge.pk}-received_on": timezone.localdate(),
            f"p{pledge.pk}-means": "transfer",
        },
    )

    assert Pledge.objects.get(pk=pledge.pk).status == Pledge.Status.ACTIVE


@pytest.mark.parametrize("who", ["volunteer", "other_organisation", "anonymous"])
def test_the_pledges_pages_are_not_found_for_those_who_may_not_see_them(client: Client, who: str) -> None:
    campaign = live_campaign()
    pledge = pledge_for(campaign)
    if who == "volunteer":
        signed_in(client, campaign, role=Membership.Role.VOLUNTEER)
    elif who == "other_organisation":
        signed_in(client, ready_campaign())

    pages = [
        client.get(f"/gestion/campagnes/{campaign.slug}/abondements/"),
        client.get(f"/gestion/abondements/{pledge.pk}/"),
        client.post(f"/gestion/abondements/{pledge.pk}/", form_data(cap_cents="1")),
        client.post(f"/gestion/abondements/{pledge.pk}/recu/", {}),
    ]

    expected = 302 if who == "anonymous" else 404  # the anonymous are sent to sign in
    assert [response.status_code for response in pages] == [expected] * 4
    assert Pledge.objects.get(pk=pledge.pk).cap_cents == 10_000


def test_a_treasurers_home_links_the_pledges_whose_payment_awaits(client: Client) -> None:
    campaign = live_campaign()
    over(pledge_for(campaign))
    pledge_for(ready_campaign(campaign.organisation), partner={**COMPANY, "legal_name": "Encore en cours"})
    signed_in(client, campaign, role=Membership.Role.TREASURER)

    html = client.get("/gestion/").content.decode()

    assert "Versement de Boulangerie Lemoine SAS à enregistrer" in html
    assert f"/gestion/campagnes/{campaign.slug}/abondements/" in html
    assert "Encore en cours" not in html
