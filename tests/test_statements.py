"""The treasurer's monthly statement of an organisation: totals that
reconcile, the page and its month picker, the CSV for a French spreadsheet,
and nobody else's statement."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign, Membership, Organisation
from checkout.services import fulfilment_hand_over, order_start, payment_refund
from donations.models import Gift, Item, Order
from ledger.models import LedgerEntry, PaymentFee
from ledger.selectors import organisation_balance_cents
from ledger.statements import month_bounds, organisation_statement
from payments import demo_gateway
from payments.events import event_receive
from payments.gateways import PaymentEvent
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, OrganisationFactory, UserFactory
from tests.test_payments_refunds import paid_gift

pytestmark = pytest.mark.django_db


def this_month() -> tuple[int, int]:
    today = timezone.localdate()
    return today.year, today.month


def url(organisation: Organisation, year: int, month: int, suffix: str = "/") -> str:
    return f"/gestion/releves/{organisation.slug}/{year:04d}-{month:02d}{suffix}"


def refund(gift: Gift, amount_cents: int) -> Any:
    api = APIClient()
    api.force_authenticate(
        MembershipFactory(organisation=gift.campaign.organisation, role=Membership.Role.TREASURER).user
    )
    response = api.post(
        f"/api/gifts/{gift.pk}/refund/", {"amount_cents": amount_cents, "reason": "Erreur"}, format="json"
    )
    assert response.status_code == 201, response.content
    return response


def paid_basket(*items: Item) -> Order:
    order = order_start(item_ids=[item.pk for item in items], email="buyer@example.org")
    event_receive(
        event=demo_gateway.completed_event(
            kind="order",
            object_id=order.pk,
            session_id=order.provider_session_id or "",
            amount_cents=order.amount_cents,
            currency="EUR",
        )
    )
    return Order.objects.get(pk=order.pk)


def sale_of(campaign: Campaign, price_cents: int) -> Item:
    return ItemFactory(campaign=campaign, price_cents=price_cents)


def lost_dispute(gift: Gift) -> None:
    for type, status in (("dispute.opened", "needs_response"), ("dispute.closed", "lost")):
        event_receive(
            event=PaymentEvent(
                provider="demo",
                id=f"evt_{type}_{gift.pk}",
                type=type,
                payment_id=gift.provider_payment_id,
                amount_cents=gift.amount_cents,
                currency="EUR",
                dispute_id=f"dp_{gift.pk}",
                dispute_status=status,
            )
        )


@pytest.fixture
def month_of_activity(django_capture_on_commit_callbacks: Any) -> Organisation:
    """Last month: a sale not handed over yet (owed, not transferred). This month: a gift
    transferred then partly refunded, and one transferred then lost in a dispute."""
    organisation = OrganisationFactory(stripe_account_id="acct_demo_statement")
    campaign = CampaignFactory(organisation=organisation, title="Atelier vélo")
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_basket(sale_of(campaign, 4000))
    start, _end = month_bounds(*this_month())
    last_month = start - timedelta(hours=1)
    LedgerEntry.objects.filter(order=order).update(created_at=last_month)
    PaymentFee.objects.filter(order=order).update(created_at=last_month)
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(campaign, 2000)
        disputed = paid_gift(campaign, 1000)
    with django_capture_on_commit_callbacks(execute=True):  # after the transfers
        refund(gift, 500)
        lost_dispute(disputed)
    return organisation


def test_the_months_totals_reconcile_with_the_ledger_transfers_and_reversals(month_of_activity: Organisation) -> None:
    statement = organisation_statement(organisation=month_of_activity, year=this_month()[0], month=this_month()[1])

    assert statement.opening_cents == 4000  # the sale of last month, not transferred yet
    assert (statement.credits_cents, statement.refunds_cents, statement.disputes_cents) == (3000, 500, 1000)
    assert (statement.transfers_cents, statement.reversals_cents) == (3000, 1500)
    assert statement.closing_cents == 4000 + 3000 - 500 - 1000 - 3000 + 1500 == 4000
    assert statement.reconciles and statement.recomputed_closing_cents == statement.closing_cents
    # The organisation is owed exactly what was received and not transferred.
    assert statement.closing_cents == organisation_balance_cents(organisation_id=month_of_activity.pk)
    # Fees, for information: 1.5 % + 25 cents of 20 € and 10 €; Stripe keeps the refunded gift's.
    assert (statement.fees_cents, statement.fees_kept_on_refunds_cents) == (55 + 40, 55)
    kinds = [line.kind for line in statement.lines]
    assert sorted(kinds) == sorted(
        ["payment", "payment", "refund", "dispute", "transfer", "transfer", "reversal", "reversal", "fee", "fee"]
    )
    assert sum(line.amount_cents for line in statement.lines) == statement.closing_cents - statement.opening_cents


def test_each_months_closing_balance_is_the_next_months_opening(month_of_activity: Organisation) -> None:
    year, month = this_month()
    previous = (year, month - 1) if month > 1 else (year - 1, 12)

    before = organisation_statement(organisation=month_of_activity, year=previous[0], month=previous[1])
    now = organisation_statement(organisation=month_of_activity, year=year, month=month)

    assert (before.opening_cents, before.credits_cents, before.closing_cents) == (0, 4000, 4000)
    assert before.closing_cents == now.opening_cents
    assert before.reconciles and now.reconciles


def test_an_entry_at_half_past_midnight_in_paris_on_the_first_belongs_to_that_month() -> None:
    organisation = OrganisationFactory()
    gift = paid_gift(CampaignFactory(organisation=organisation), 1500)
    LedgerEntry.objects.filter(gift=gift).update(created_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))

    october = organisation_statement(organisation=organisation, year=2026, month=10)
    november = organisation_statement(organisation=organisation, year=2026, month=11)

    assert (october.credits_cents, november.credits_cents, november.opening_cents) == (0, 1500, 0)


def test_the_statement_takes_a_fixed_number_of_queries(
    month_of_activity: Organisation, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(11):
        organisation_statement(organisation=month_of_activity, year=this_month()[0], month=this_month()[1])
    for _more in range(3):
        paid_gift(CampaignFactory(organisation=month_of_activity), 1000)
    with django_assert_num_queries(11):
        organisation_statement(organisation=month_of_activity, year=this_month()[0], month=this_month()[1])


def test_managers_see_their_statement_with_its_totals_and_a_month_picker(
    client: Client, month_of_activity: Organisation
) -> None:
    client.force_login(MembershipFactory(organisation=month_of_activity).user)
    year, month = this_month()

    response = client.get(url(month_of_activity, year, month))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Solde dû à la fin du mois" in page and "40,00\u00a0€" in page
    assert "Annulation de virement" in page and "Atelier vélo" in page
    assert f'type="month" id="id_mois" name="mois" value="{year:04d}-{month:02d}"' in page
    assert url(month_of_activity, year, month, ".csv") in page


def test_the_statement_speaks_english_to_an_english_reader(client: Client, month_of_activity: Organisation) -> None:
    client.force_login(MembershipFactory(organisation=month_of_activity).user)

    page = client.get(url(month_of_activity, *this_month()), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    bad = client.get(f"/gestion/releves/{month_of_activity.slug}/", {"mois": "x"}, HTTP_ACCEPT_LANGUAGE="en")

    assert "Balance owed at the end of the month" in page and "€40.00" in page and "Transfer reversal" in page
    assert "Choose a month, for example 2026-11." in bad.content.decode()


def test_the_month_picker_goes_to_the_chosen_month_and_explains_a_bad_one(
    client: Client, month_of_activity: Organisation
) -> None:
    client.force_login(MembershipFactory(organisation=month_of_activity).user)
    base = f"/gestion/releves/{month_of_activity.slug}/"

    assert client.get(base, {"mois": "2026-03"})["Location"] == url(month_of_activity, 2026, 3)
    year, month = this_month()
    assert client.get(base)["Location"] == url(month_of_activity, year, month)
    bad = client.get(base, {"mois": "mars"})
    assert bad.status_code == 400 and "Choisissez un mois, par exemple 2026-11." in bad.content.decode()
    assert 'aria-invalid="true"' in bad.content.decode()
    assert client.get(base, {"mois": "2026-13"}).status_code == 400


@pytest.mark.parametrize("suffix", ["/", ".csv"])
def test_another_organisations_statement_is_not_found_like_a_missing_one(
    client: Client, month_of_activity: Organisation, suffix: str
) -> None:
    year, month = this_month()
    assert client.get(url(month_of_activity, year, month, suffix)).status_code == 302  # sign in first
    client.force_login(MembershipFactory().user)  # a manager of another organisation
    assert client.get(url(month_of_activity, year, month, suffix)).status_code == 404
    assert client.get(f"/gestion/releves/{month_of_activity.slug}/").status_code == 404
    client.force_login(UserFactory())
    assert client.get(url(month_of_activity, year, month, suffix)).status_code == 404
    manager = MembershipFactory(organisation=month_of_activity).user
    client.force_login(manager)
    assert client.get(url(OrganisationFactory.build(slug="absente"), year, month, suffix)).status_code == 404
    assert client.get(url(month_of_activity, year, 13, suffix)).status_code == 404
    assert client.get(url(month_of_activity, year, month, suffix)).status_code == 200


def test_a_managers_profile_links_to_the_statements(client: Client, month_of_activity: Organisation) -> None:
    client.force_login(MembershipFactory(organisation=month_of_activity).user)

    assert 'href="/gestion/releves/"' in client.get("/comptes/profil/").content.decode()


def test_the_index_lists_only_the_organisations_the_user_manages(
    client: Client, month_of_activity: Organisation
) -> None:
    other = OrganisationFactory(name="Ressourcerie voisine")
    client.force_login(MembershipFactory(organisation=month_of_activity).user)

    page = client.get("/gestion/releves/").content.decode()

    assert month_of_activity.name in page and other.name not in page


def read_csv(response: Any) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


def test_the_csv_is_for_a_french_spreadsheet_and_matches_the_page(
    client: Client, month_of_activity: Organisation
) -> None:
    client.force_login(MembershipFactory(organisation=month_of_activity).user)
    year, month = this_month()

    response = client.get(url(month_of_activity, year, month, ".csv"))

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="releve-{month_of_activity.slug}-{year:04d}-{month:02d}.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:2] == ["date", "opération"] and rows[0][5] == "montant dû à l'organisation (€)"
    lines = rows[1 : rows.index([])]
    assert len(lines) == 10
    refund_line = next(row for row in lines if row[1] == "Remboursement")
    assert refund_line[5] == "-5,00" and refund_line[2] == "Atelier vélo"
    fee_lines = [row for row in lines if row[6] not in ("", "0,00")]
    assert sorted(row[6] for row in fee_lines) == ["0,40", "0,55"]
    totals = {row[1]: (row[5], row[6]) for row in rows[rows.index([]) + 1 :]}
    assert totals["Solde dû au début du mois"][0] == "40,00"
    assert totals["Solde dû à la fin du mois"][0] == "40,00"
    assert totals["Virements envoyés"][0] == "-30,00" and totals["Annulations de virements"][0] == "15,00"
    assert totals["dont frais conservés sur les paiements remboursés"][1] == "0,55"


def test_csv_times_are_paris_local_times() -> None:
    organisation = OrganisationFactory()
    gift = paid_gift(CampaignFactory(organisation=organisation), 1500)
    LedgerEntry.objects.filter(gift=gift).update(created_at=datetime(2026, 7, 14, 10, 0, tzinfo=UTC))
    client = Client()
    client.force_login(MembershipFactory(organisation=organisation).user)

    rows = read_csv(client.get(url(organisation, 2026, 7, ".csv")))

    assert rows[1][0] == "14/07/2026 12:00:00"  # summer time: UTC+2


def test_a_hostile_campaign_title_is_text_in_the_csv_never_a_formula(client: Client) -> None:
    campaign = CampaignFactory(title="=cmd()|' /C calc'!A0")
    paid_gift(campaign, 1200)
    client.force_login(MembershipFactory(organisation=campaign.organisation).user)

    rows = read_csv(client.get(url(campaign.organisation, *this_month(), ".csv")))

    assert rows[1][2] == "'=cmd()|' /C calc'!A0"
    assert rows[1][5] == "12,00"  # a number stays a number


def test_the_fee_of_a_late_payment_refunded_at_once_is_counted_as_kept(django_capture_on_commit_callbacks: Any) -> None:
    from checkout.services import order_start, reservations_release_expired
    from donations.models import Reservation
    from payments import demo_gateway
    from tests.factories import ItemFactory

    def pay(order: Order) -> None:
        event_receive(
            event=demo_gateway.completed_event(
                kind="order",
                object_id=order.pk,
                session_id=order.provider_session_id or "",
                amount_cents=order.amount_cents,
                currency="EUR",
            )
        )

    item = ItemFactory(price_cents=2000)
    late = order_start(item_id=item.pk, email="lent@example.org")
    Reservation.objects.filter(order=late).update(expires_at=late.created_at)
    reservations_release_expired()
    winner = order_start(item_id=item.pk, email="rapide@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        pay(winner)
        pay(late)
    assert Order.objects.get(pk=late.pk).refund_reason == "item_unavailable"

    statement = organisation_statement(
        organisation=item.campaign.organisation, year=this_month()[0], month=this_month()[1]
    )

    assert (statement.credits_cents, statement.refunds_cents, statement.closing_cents) == (2000, 0, 2000)
    assert (statement.fees_cents, statement.fees_kept_on_refunds_cents) == (55 + 55, 55)


def hand_over(order: Order, organisation: Organisation) -> None:
    part = order.fulfilments.get(organisation=organisation)
    fulfilment_hand_over(
        fulfilment=part, claim_code=part.claim_code, actor=MembershipFactory(organisation=organisation).user
    )


def test_a_basket_is_in_each_organisations_statement_line_by_line_under_its_own_campaigns(
    django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    # Two organisations, three objects, one payment: each statement shows its own lines only, each
    # credit under its own campaign; the transfer of an organisation's part names that part's campaigns.
    workshop = OrganisationFactory(stripe_account_id="acct_demo_workshop")
    shop = OrganisationFactory(stripe_account_id="acct_demo_shop")
    bikes = CampaignFactory(organisation=workshop, title="Atelier vélo")
    repairs = CampaignFactory(organisation=workshop, title="Repair café")
    clothes = CampaignFactory(organisation=shop, title="Friperie")
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_basket(sale_of(bikes, 3000), sale_of(repairs, 2000), sale_of(clothes, 1500))
    with django_capture_on_commit_callbacks(execute=True):
        hand_over(order, workshop)
    year, month = this_month()

    mine = organisation_statement(organisation=workshop, year=year, month=month)
    theirs = organisation_statement(organisation=shop, year=year, month=month)

    payments = sorted((line.campaign, line.amount_cents) for line in mine.lines if line.kind == "payment")
    assert payments == [("Atelier vélo", 3000), ("Repair café", 2000)]
    [transfer] = [line for line in mine.lines if line.kind == "transfer"]
    assert (transfer.campaign, transfer.amount_cents) == ("Atelier vélo, Repair café", -5000)
    assert transfer.reference == f"commande {order.pk}"
    # One fee for the whole payment, on the statement of the basket's first organisation.
    [fee] = [line for line in mine.lines if line.kind == "fee"]
    assert fee.campaign == "Atelier vélo, Repair café"
    assert (mine.credits_cents, mine.transfers_cents, mine.closing_cents) == (5000, 5000, 0) and mine.reconciles
    assert [(line.kind, line.campaign, line.amount_cents) for line in theirs.lines] == [("payment", "Friperie", 1500)]
    assert theirs.closing_cents == 1500 == organisation_balance_cents(organisation_id=shop.pk)
    assert organisation_balance_cents(organisation_id=workshop.pk) == 0

    # One line refunded after the transfer: its campaign debited, the transfer partly reversed.
    treasurer = MembershipFactory(organisation=workshop, role=Membership.Role.TREASURER).user
    line = order.lines.get(campaign=repairs)
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(actor=treasurer, reason="Cassé", order_id=order.pk, line_id=line.pk)

    after = organisation_statement(organisation=workshop, year=year, month=month)
    [refunded] = [line for line in after.lines if line.kind == "refund"]
    assert (refunded.campaign, refunded.amount_cents) == ("Repair café", -2000)
    [reversal] = [line for line in after.lines if line.kind == "reversal"]
    assert (reversal.campaign, reversal.amount_cents) == ("Atelier vélo, Repair café", 2000)
    assert after.closing_cents == 0 and after.reconciles
    assert organisation_statement(organisation=shop, year=year, month=month).lines == theirs.lines

    # Whatever the number of baskets, a fixed number of queries.
    with django_assert_num_queries(14):
        organisation_statement(organisation=workshop, year=year, month=month)
    with django_capture_on_commit_callbacks(execute=True):
        for _more in range(2):
            hand_over(paid_basket(sale_of(bikes, 1000), sale_of(clothes, 900)), workshop)
    with django_assert_num_queries(14):
        organisation_statement(organisation=workshop, year=year, month=month)
