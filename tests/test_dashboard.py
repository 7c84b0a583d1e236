from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkout.services import gift_start, order_start
from ledger.models import LedgerEntry
from ledger.selectors import dashboard_series
from payments.events import event_receive
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, UserFactory
from tests.receipts_support import pay
from tests.test_ledger_totals import paid

pytestmark = pytest.mark.django_db


def signed_in(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_the_dashboard_asks_anonymous_visitors_to_sign_in(client: Client) -> None:
    response = client.get("/gestion/tableau-de-bord/")
    assert response.status_code == 302
    assert response["Location"].startswith("/comptes/connexion/")


def test_a_person_who_manages_nothing_is_refused(client: Client) -> None:
    assert signed_in(client, UserFactory()).get("/gestion/tableau-de-bord/").status_code == 403


def test_a_manager_sees_totals_feed_and_holds_of_their_organisations_only(client: Client) -> None:
    membership = MembershipFactory()
    mine = CampaignFactory(organisation=membership.organisation, title="Un toit pour l'hiver", goal_cents=100_000)
    theirs = CampaignFactory(title="Camion de collecte")
    gift = gift_start(campaign_slug=mine.slug, amount_cents=2_500, email="d@example.org", name="Louise")
    event_receive(event=paid(gift))
    other_gift = gift_start(campaign_slug=theirs.slug, amount_cents=9_900, email="e@example.org", name="Secret")
    event_receive(event=paid(other_gift))
    held = ItemFactory(campaign=mine, title="Buffet en chêne")
    order_start(item_id=held.pk, email="buyer@example.org")

    html = signed_in(client, membership.user).get("/gestion/tableau-de-bord/").content.decode()

    assert "Un toit pour l&#x27;hiver" in html
    assert "Camion de collecte" not in html and "Secret" not in html
    assert "25,00\u00a0€" in html  # the total raised, from the ledger
    assert "don de Louise" in html  # today's feed
    assert "Buffet en chêne" in html  # a payment in progress
    assert 'data-stream="/ws/dashboard/"' in html


def test_the_dashboard_costs_the_same_number_of_queries_whatever_the_activity(client: Client) -> None:
    membership = MembershipFactory()
    client = signed_in(client, membership.user)

    def queries_with(gifts: int) -> int:
        campaign = CampaignFactory(organisation=membership.organisation)
        for n in range(gifts):
            gift = gift_start(campaign_slug=campaign.slug, amount_cents=100 + n, email=f"g{n}@example.org")
            event_receive(event=paid(gift))
        client.get("/gestion/tableau-de-bord/")  # warm-up: sessions, short codes
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/gestion/tableau-de-bord/").status_code == 200
        return len(queries)

    assert queries_with(1) == queries_with(6)


def test_the_chart_series_accumulates_the_ledger_day_by_day() -> None:
    campaign = CampaignFactory()
    for amount in (1_000, 500):
        event_receive(event=paid(gift_start(campaign_slug=campaign.slug, amount_cents=amount, email="a@example.org")))
    LedgerEntry.objects.filter(amount_cents=1_000).update(created_at=timezone.now() - timedelta(days=3))

    series = dashboard_series(campaign_ids=[campaign.pk], days=5, now=timezone.now())[campaign.pk]

    assert [value for _day, value in series] == [0, 1_000, 1_000, 1_000, 1_500]


def test_a_basket_of_two_organisations_shows_each_its_own_sales_in_the_feed(client: Client) -> None:
    membership = MembershipFactory()
    mine = CampaignFactory(organisation=membership.organisation)
    theirs = CampaignFactory()
    items = [
        ItemFactory(campaign=mine, title="Lampe", price_cents=1_500),
        ItemFactory(campaign=mine, title="Vase", price_cents=900),
        ItemFactory(campaign=theirs, title="Piano", price_cents=7_300),
    ]
    order = order_start(item_ids=[item.pk for item in items], email="panier@example.org")
    pay(order)

    html = signed_in(client, membership.user).get("/gestion/tableau-de-bord/").content.decode()

    assert "vente : Lampe" in html and "vente : Vase" in html
    assert "15,00\u00a0€" in html and "9,00\u00a0€" in html
    assert "Piano" not in html and "73,00" not in html and "97,00" not in html
