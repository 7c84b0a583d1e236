"""The managers' orders page (/gestion/commandes/): orders and gifts of their
organisations with their state, filters kept across pages, each one's history
and refund form (the refunds API's service, with its ledger and provider
effects), tenant isolation, and the French CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from campaigns.models import Campaign, Membership
from checkout import manage_orders
from checkout.services import order_start
from donations.models import Fulfilment, Gift, Item, ItemStatus, Order, OrderLine, PaymentStatus, Refund
from ledger.models import LedgerEntry
from ledger.selectors import campaign_progress
from payments import demo_gateway
from payments.gateways import GatewayError
from tests.factories import CampaignFactory, ItemFactory, UserFactory, manager_of
from tests.receipts_support import (
    giver,
    handed_over,
    paid_gift,
    pay,
    ready_campaign,
    receipts_issue_due,
)

pytestmark = pytest.mark.django_db

LIST = "/gestion/commandes/"
CSV = "/gestion/commandes/export.csv"


def order_url(order: Order) -> str:
    return f"/gestion/commandes/commande/{order.pk}/"


def gift_url(gift: Gift) -> str:
    return f"/gestion/commandes/don/{gift.pk}/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def claim_code(order: Order) -> str:
    """The claim code of a one-organisation order (its only fulfilment)."""
    return Fulfilment.objects.get(order=order).claim_code


def only_line(order: Order) -> OrderLine:
    return OrderLine.objects.get(order=order)


def refund(client: Client, order: Order, amount: str, reason: str, *, line: OrderLine | None = None) -> Any:
    """The refund form of one line of the order's page (its only line unless told)."""
    line = line or only_line(order)
    return client.post(order_url(order), {"line": str(line.pk), "amount": amount, "reason": reason})


def line_form(response: Any, line: OrderLine) -> Any:
    """The refund form shown under ``line`` on an order's page, or None."""
    for part in response.context["parts"]:
        for row in part["lines"]:
            if row["managed"].line.pk == line.pk:
                return row["form"]
    raise AssertionError(f"line {line.pk} not on the page")


def sale(campaign: Campaign, price_cents: int = 4000, *, title: str = "", email: str = "buyer@example.org") -> Order:
    item = ItemFactory(campaign=campaign, price_cents=price_cents, **({"title": title} if title else {}))
    order = order_start(item_id=item.pk, email=email)
    pay(order)
    return Order.objects.get(pk=order.pk)


def aged(target: Order | Gift, *, days: int) -> Order | Gift:
    """Created ``days`` days ago (only the date moves: what the filters and the order read)."""
    type(target).objects.filter(pk=target.pk).update(created_at=timezone.now() - timedelta(days=days))
    target.refresh_from_db()
    return target


@pytest.fixture
def campaign() -> Campaign:
    return ready_campaign()


@pytest.fixture
def manager(campaign: Campaign) -> User:
    # A treasurer: the role that reads orders and refunds them (campaigns/permissions.py).
    return manager_of(campaign.organisation, role=Membership.Role.TREASURER)


# --- The list ------------------------------------------------------------------------------------


def test_the_list_shows_orders_and_gifts_of_the_organisation_newest_first_with_their_state(
    campaign: Campaign, manager: User
) -> None:
    gift = aged(paid_gift(campaign, 3000), days=3)
    held = aged(order_start(item_id=ItemFactory(campaign=campaign, title="Lampe").pk, email="h@example.org"), days=2)
    sold = aged(sale(campaign, title="Buffet"), days=1)
    handed = handed_over(sale(campaign, title="Vélo"))
    elsewhere = sale(CampaignFactory(), title="Objet d'ailleurs")

    response = signed_in(manager).get(LIST)

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private") or "no-store" in response["Cache-Control"]
    rows = response.context["rows"]
    assert [(row.kind, row.payment.pk) for row in rows] == [
        ("order", handed.pk),
        ("order", sold.pk),
        ("order", held.pk),
        ("gift", gift.pk),
    ]
    assert [row.state for row in rows] == ["Payé", "Payé", "Réservé, en attente de paiement", "Payé"]
    assert [row.hand_over for row in rows] == ["Remis", "À remettre", "", ""]
    page = response.content.decode()
    assert "Buffet" in page and "Lampe" in page and claim_code(sold) in page
    assert "Objet d&#x27;ailleurs" not in page and claim_code(elsewhere) not in page
    assert order_url(sold) in page and gift_url(gift) in page


def test_partial_and_whole_refunds_and_issued_receipts_show_in_the_list(campaign: Campaign, manager: User) -> None:
    gift = paid_gift(campaign, 5000, user=giver())
    receipts_issue_due()
    partly = sale(campaign, 4000)
    whole = sale(campaign, 2000)
    client = signed_in(manager)
    refund(client, partly, "10", "Rayure")
    refund(client, whole, "20,00", "Annulation")

    rows = {(row.kind, row.payment.pk): row for row in client.get(LIST).context["rows"]}

    assert rows["order", partly.pk].state == "Partiellement remboursé (10,00\u00a0€)"
    assert rows["order", whole.pk].state == "Remboursé"
    assert rows["gift", gift.pk].receipt_issued is True
    assert rows["order", partly.pk].receipt_issued is False


def test_a_signed_in_person_who_manages_nothing_sees_an_empty_list_and_a_visitor_signs_in_first(
    campaign: Campaign,
) -> None:
    sale(campaign)
    assert signed_in(UserFactory()).get(LIST).context["rows"] == []
    response = Client().get(LIST)
    assert response.status_code == 302 and "/comptes/" in response["Location"]


# --- Filters and pagination ---------------------------------------------------------------------


def keys(client: Client, query: dict[str, str]) -> list[tuple[str, int]]:
    response = client.get(LIST, query)
    assert response.status_code == 200, response.context["form"].errors
    return [(row.kind, row.payment.pk) for row in response.context["rows"]]


def test_each_filter_narrows_the_list(campaign: Campaign, manager: User) -> None:
    other = CampaignFactory(organisation=campaign.organisation)
    gift = paid_gift(campaign, 3000, email="alice@example.org")
    sold = sale(campaign, title="Commode en chêne", email="bob@example.org")
    handed = handed_over(sale(other, title="Vélo"))
    refunded = sale(campaign, 1500)
    pending = order_start(item_id=ItemFactory(campaign=other).pk, email="carol@example.org")
    old = aged(paid_gift(other, 2000), days=40)
    client = signed_in(manager)
    refund(client, refunded, "15", "Erreur")

    assert set(keys(client, {"kind": "gift"})) == {("gift", gift.pk), ("gift", old.pk)}
    assert ("gift", gift.pk) not in keys(client, {"kind": "order"})
    assert keys(client, {"status": "handed_over"}) == [("order", handed.pk)]
    assert keys(client, {"status": "handed_over", "kind": "gift"}) == []  # a gift is never handed over
    assert keys(client, {"status": "to_hand_over"}) == [("order", sold.pk)]
    assert keys(client, {"status": "refunded"}) == [("order", refunded.pk)]
    assert keys(client, {"status": "held"}) == [("order", pending.pk)]
    assert set(keys(client, {"campaign": other.slug})) == {
        ("order", handed.pk),
        ("order", pending.pk),
        ("gift", old.pk),
    }
    today = timezone.localdate()
    assert keys(client, {"date_to": str(today - timedelta(days=30))}) == [("gift", old.pk)]
    assert ("gift", old.pk) not in keys(client, {"date_from": str(today - timedelta(days=1))})
    # Search: an email, a claim code typed in lower case with spaces, an object's title.
    assert keys(client, {"q": "ALICE@"}) == [("gift", gift.pk)]
    code = claim_code(sold).lower()
    assert keys(client, {"q": f"{code[:3]} {code[3:]}"}) == [("order", sold.pk)]
    assert keys(client, {"q": "chêne"}) == [("order", sold.pk)]
    # Filters add up.
    assert keys(client, {"kind": "order", "campaign": campaign.slug, "status": "paid"}) == [("order", sold.pk)]


def test_bad_filters_are_said_beside_their_field_and_another_organisations_campaign_is_not_a_choice(
    campaign: Campaign, manager: User
) -> None:
    sale(campaign)
    foreign = sale(CampaignFactory())
    client = signed_in(manager)

    foreign_campaign = only_line(foreign).campaign.slug
    response = client.get(LIST, {"campaign": foreign_campaign, "status": "stolen", "date_from": "2026-13-40"})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"campaign", "status", "date_from"}
    assert response.context["rows"] == []
    assert claim_code(foreign) not in response.content.decode()
    swapped = client.get(LIST, {"date_from": "2026-03-10", "date_to": "2026-03-01"})
    assert swapped.status_code == 400
    assert swapped.context["form"].errors["date_to"] == ["La date de fin est avant la date de début."]
    assert client.get(CSV, {"campaign": only_line(foreign).campaign.slug}).status_code == 400


def test_pages_keep_the_filters(campaign: Campaign, manager: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manage_orders, "PAGE_SIZE", 2)
    gifts = [aged(paid_gift(campaign, 1000 + n), days=n) for n in range(5)]
    sale(campaign)  # not a gift: filtered out
    client = signed_in(manager)

    first = client.get(LIST, {"kind": "gift"})
    page = first.content.decode()
    assert first.context["page"].paginator.count == 5
    assert [row.payment.pk for row in first.context["rows"]] == [gifts[0].pk, gifts[1].pk]
    assert 'href="?kind=gift&amp;page=2" rel="next"' in page
    # The export link carries the filters, without the page.
    assert 'href="/gestion/commandes/export.csv?kind=gift"' in page

    second = client.get(LIST, {"kind": "gift", "page": "2"})
    assert [row.payment.pk for row in second.context["rows"]] == [gifts[2].pk, gifts[3].pk]
    assert 'href="?kind=gift&amp;page=1" rel="prev"' in second.content.decode()
    last = client.get(LIST, {"kind": "gift", "page": "3"})
    assert [row.payment.pk for row in last.context["rows"]] == [gifts[4].pk]
    # A page that is not one shows the nearest one.
    assert client.get(LIST, {"kind": "gift", "page": "99"}).context["page"].number == 3
    assert client.get(LIST, {"kind": "gift", "page": "x"}).context["page"].number == 1


# --- One order or gift: history and refunds --------------------------------------------------------


def test_a_manager_refunds_part_then_the_rest_of_a_sale_from_its_page_and_the_ledger_follows(
    campaign: Campaign, manager: User
) -> None:
    order = sale(campaign, 4000, title="Buffet")
    line = only_line(order)
    client = signed_in(manager)
    page = client.get(order_url(order))
    assert page.status_code == 200
    assert line_form(page, line)["amount"].value() == 40  # the whole of what remains of the line, offered
    assert "Paiement reçu" in page.content.decode() and "Rembourser cette ligne" in page.content.decode()

    first = refund(client, order, "10,50", "Rayure")

    assert first.status_code == 302 and first["Location"] == order_url(order)
    asked = Refund.objects.get()
    assert (asked.order_id, asked.line_id, asked.amount_cents, asked.reason, asked.actor_id) == (
        order.pk,
        line.pk,
        1050,
        "Rayure",
        manager.pk,
    )
    assert asked.status == Refund.Status.SENT and asked.provider_refund_id
    assert campaign_progress(campaign_id=campaign.pk) == (2950, 1)
    assert Item.objects.get(pk=line.item_id).status == ItemStatus.SOLD
    after = client.get(order_url(order))
    text = after.content.decode()
    assert "Remboursement de 10,50\u00a0€ (« Buffet ») envoyé au prestataire de paiement." in text
    assert f"demandé par {manager.email}" in text and "Rayure" in text
    assert after.context["refundable_cents"] == 2950
    assert line_form(after, line)["amount"].value() == Decimal("29.50")

    rest = refund(client, order, "29.50", "Annulation")

    assert rest.status_code == 302
    order.refresh_from_db()
    assert order.status == PaymentStatus.REFUNDED and order.refunded_cents == 4000
    assert OrderLine.objects.get(pk=line.pk).refunded_cents == 4000
    assert campaign_progress(campaign_id=campaign.pk) == (0, 0)
    assert Item.objects.get(pk=line.item_id).status == ItemStatus.LISTED
    assert list(
        LedgerEntry.objects.filter(order=order, reason=LedgerEntry.Reason.REFUND).values_list("amount_cents", flat=True)
    ) == [1050, 2950]
    final = client.get(order_url(order))
    assert line_form(final, line) is None
    assert "Rien à rembourser" in final.content.decode()


def test_a_manager_refunds_a_gift_in_whole_from_its_page(campaign: Campaign, manager: User) -> None:
    gift = paid_gift(campaign, 2500)

    response = signed_in(manager).post(gift_url(gift), {"amount": "25", "reason": "Don en double"})

    assert response.status_code == 302
    gift.refresh_from_db()
    assert gift.status == PaymentStatus.REFUNDED and gift.refunded_cents == 2500
    assert campaign_progress(campaign_id=campaign.pk) == (0, 0)
    assert Refund.objects.get().gift_id == gift.pk


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "supérieure ou égale à 0.01"),
        ("-5", "Saisissez un nombre."),
        ("abc", "Saisissez un nombre."),
        ("12,345", "2 chiffres après la virgule"),
        ("40,01", "Le montant dépasse ce qui reste à rembourser (40,00\u00a0€)."),
        ("99999999999", "Saisissez un nombre."),
        ("", "Ce champ est obligatoire."),
    ],
)
def test_hostile_amounts_get_an_error_beside_the_field_and_refund_nothing(
    campaign: Campaign, manager: User, amount: str, message: str
) -> None:
    order = sale(campaign, 4000)
    line = only_line(order)

    response = refund(signed_in(manager), order, amount, "x")

    assert response.status_code == 400
    errors = line_form(response, line).errors
    assert list(errors) == ["amount"] and message in errors["amount"][0]
    page = response.content.decode()
    assert f'aria-describedby="refund-{line.pk}-amount-error"' in page and f'id="refund-{line.pk}-amount-error"' in page
    assert not Refund.objects.exists()
    assert Order.objects.get(pk=order.pk).refunded_cents == 0


def test_a_refund_needs_a_reason_and_nothing_more_than_what_remains(campaign: Campaign, manager: User) -> None:
    order = sale(campaign, 4000)
    client = signed_in(manager)
    line = only_line(order)
    no_reason = refund(client, order, "5", "   ")
    assert no_reason.status_code == 400 and list(line_form(no_reason, line).errors) == ["reason"]
    too_long = refund(client, order, "5", "x" * 301)
    assert too_long.status_code == 400 and list(line_form(too_long, line).errors) == ["reason"]
    refund(client, order, "30", "Rayure")
    again = refund(client, order, "10,01", "Encore")
    assert again.status_code == 400
    assert line_form(again, line).errors["amount"] == ["Le montant dépasse ce qui reste à rembourser (10,00\u00a0€)."]
    assert Refund.objects.count() == 1


def test_an_order_not_paid_yet_cannot_be_refunded_from_its_page(campaign: Campaign, manager: User) -> None:
    order = order_start(item_id=ItemFactory(campaign=campaign).pk, email="b@example.org")
    line = only_line(order)
    client = signed_in(manager)
    page = client.get(order_url(order))
    assert page.status_code == 200 and line_form(page, line) is None
    assert "Rembourser cette ligne" not in page.content.decode()

    response = refund(client, order, "25", "x")

    assert response.status_code == 400
    assert line_form(response, line).non_field_errors() == [
        "Ce paiement n'est pas reçu, ou déjà remboursé : il n'y a rien à rembourser."
    ]
    assert not Refund.objects.exists()


def test_the_provider_down_is_said_on_the_form_and_the_refund_recorded_as_failed(
    campaign: Campaign, manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = sale(campaign, 4000)

    def down(self: Any, **kwargs: Any) -> str:
        raise GatewayError("down")

    monkeypatch.setattr(demo_gateway.DemoGateway, "refund_create", down)
    response = refund(signed_in(manager), order, "10", "Rayure")

    assert response.status_code == 503
    assert "momentanément indisponible" in str(line_form(response, only_line(order)).non_field_errors())
    assert Refund.objects.get().status == Refund.Status.FAILED
    assert campaign_progress(campaign_id=campaign.pk) == (4000, 1)


# --- Tenant isolation ----------------------------------------------------------------------------


def test_another_organisations_order_or_gift_is_a_404_like_a_missing_one(campaign: Campaign) -> None:
    order = sale(campaign, 4000)
    gift = paid_gift(campaign, 2000)
    stranger = signed_in(manager_of(CampaignFactory().organisation))
    donor = signed_in(UserFactory())

    line = only_line(order)
    for client in (stranger, donor):
        for url in (order_url(order), gift_url(gift), "/gestion/commandes/commande/999999/"):
            assert client.get(url).status_code == 404
            assert client.post(url, {"line": str(line.pk), "amount": "10", "reason": "x"}).status_code == 404
    assert not Refund.objects.exists()
    assert Client().post(order_url(order), {"amount": "10", "reason": "x"}).status_code == 302
    assert not Refund.objects.exists()


def test_the_number_of_an_order_does_not_open_a_gift(campaign: Campaign, manager: User) -> None:
    order = sale(campaign, 4000)
    assert not Gift.objects.filter(pk=order.pk).exists()
    assert signed_in(manager).get(f"/gestion/commandes/don/{order.pk}/").status_code == 404


def test_an_admin_of_the_organisation_refunds_too(campaign: Campaign) -> None:
    admin = manager_of(campaign.organisation, role=Membership.Role.ADMIN)
    order = sale(campaign, 4000)
    assert refund(signed_in(admin), order, "40", "x").status_code == 302
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.REFUNDED


# --- The CSV export -------------------------------------------------------------------------------


def read_csv(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_export_is_a_french_spreadsheet_of_the_filtered_list(campaign: Campaign, manager: User) -> None:
    order = sale(campaign, 1234, title="=Table basse", email="bob@example.org")
    Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 1, 15, 23, 30, tzinfo=ZoneInfo("UTC")))
    refund(signed_in(manager), order, "2,34", "Rayure")
    gift = paid_gift(campaign, 5000, email="alice@example.org")
    sale(CampaignFactory(), 999)  # another organisation's: never exported

    response = signed_in(manager).get(CSV)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="commandes-et-dons.csv"' in response["Content-Disposition"]
    assert b";" in response.content and b"\r\n" in response.content
    header, *rows = read_csv(response.content)
    assert header == manage_orders.CSV_COLUMNS
    assert header[:5] == ["type", "numéro", "ligne", "créé le", "payé le"]
    by_kind = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert len(rows) == 2
    sold = by_kind["commande"]
    assert sold["numéro"] == str(order.pk) and sold["ligne"] == str(only_line(order).pk)
    assert sold["créé le"] == "16/01/2026 00:30:00"  # Europe/Paris, not UTC
    assert sold["objet"] == "'=Table basse"  # a formula is never one
    assert sold["montant (€)"] == "12,34" and sold["remboursé (€)"] == "2,34"
    assert sold["état du paiement"] == "partiellement remboursé"
    assert sold["remise"] == "à remettre" and sold["code de retrait"] == claim_code(order)
    assert sold["organisation"] == campaign.organisation.name and sold["campagne"] == campaign.title
    assert sold["reçu fiscal émis"] == "non"
    given = by_kind["don"]
    assert given["numéro"] == str(gift.pk) and given["ligne"] == "" and given["montant (€)"] == "50,00"
    assert given["e-mail"] == "alice@example.org" and given["nom du donateur"] == "Louise Martin"
    assert given["état du paiement"] == "payé" and given["remise"] == ""

    only_gifts = read_csv(signed_in(manager).get(CSV, {"kind": "gift", "page": "2"}).content)
    assert [row[0] for row in only_gifts[1:]] == ["don"]


def test_the_export_has_every_page_not_just_one(
    campaign: Campaign, manager: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manage_orders, "PAGE_SIZE", 2)
    for n in range(5):
        paid_gift(campaign, 1000 + n)
    _header, *rows = read_csv(signed_in(manager).get(CSV).content)
    assert sorted(row[11] for row in rows) == ["10,00", "10,01", "10,02", "10,03", "10,04"]


def test_the_export_of_someone_who_manages_nothing_is_only_its_header(campaign: Campaign) -> None:
    sale(campaign)
    assert read_csv(signed_in(UserFactory()).get(CSV).content) == [manage_orders.CSV_COLUMNS]


def test_the_pages_in_english(campaign: Campaign, manager: User) -> None:
    order = sale(campaign, 4000)
    client = signed_in(manager)
    client.cookies["django_language"] = "en"
    listing = client.get(LIST, headers={"accept-language": "en"})
    detail = client.get(order_url(order), headers={"accept-language": "en"})
    assert "Orders and gifts" in listing.content.decode()
    assert "Refund this line" in detail.content.decode() and "€40.00" in detail.content.decode()


def test_a_manager_of_objects_reads_orders_but_cannot_refund_them(campaign: Campaign) -> None:
    order = sale(campaign, 4000)
    client = signed_in(manager_of(campaign.organisation, role=Membership.Role.MANAGER))

    page = client.get(order_url(order))
    refused = refund(client, order, "40", "Erreur")

    assert page.status_code == 200 and 'name="reason"' not in page.content.decode()
    assert refused.status_code == 403
    assert not Refund.objects.exists()
    volunteer = signed_in(manager_of(campaign.organisation, role=Membership.Role.VOLUNTEER))
    assert volunteer.get(order_url(order)).status_code == 404  # orders are not a volunteer's


# --- A basket of two organisations: each sees and refunds its own lines only -------------------------


@pytest.fixture
def basket(campaign: Campaign) -> Order:
    """Two objects of ``campaign``'s organisation and one of another organisation, paid at once."""
    other = ready_campaign()
    items = [
        ItemFactory(campaign=campaign, price_cents=1510, title="Lampe"),
        ItemFactory(campaign=campaign, price_cents=2520, title="Buffet"),
        ItemFactory(campaign=other, price_cents=7345, title="Piano droit"),
    ]
    order = order_start(item_ids=[item.pk for item in items], email="panier@example.org")
    pay(order)
    return Order.objects.get(pk=order.pk)


def parts(order: Order) -> tuple[Fulfilment, Fulfilment]:
    """The order's two fulfilments: ours (two lines) first, the other organisation's second."""
    ours, theirs = sorted(Fulfilment.objects.filter(order=order), key=lambda f: -f.lines.count())
    return ours, theirs


def test_each_organisation_sees_its_own_lines_and_amounts_of_a_basket_never_the_others(
    campaign: Campaign, manager: User, basket: Order
) -> None:
    ours, theirs = parts(basket)
    their_manager = manager_of(theirs.organisation, role=Membership.Role.TREASURER)
    client = signed_in(manager)

    listing = client.get(LIST)
    [row] = listing.context["rows"]
    assert (row.payment.pk, row.fulfilment.pk, row.amount_cents, row.title) == (
        basket.pk,
        ours.pk,
        4030,
        "Lampe, Buffet",
    )
    detail = client.get(order_url(basket))
    csv_rows = read_csv(client.get(CSV).content)[1:]
    for page in (listing.content.decode(), detail.content.decode(), "\n".join(";".join(r) for r in csv_rows)):
        assert "Lampe" in page and "Buffet" in page and ours.claim_code in page
        assert "panier@example.org" in page  # the buyer's email is the organisation's to know
        assert "Piano" not in page and theirs.claim_code not in page
        assert "73,45" not in page and "113,75" not in page  # neither their line nor the basket's total
    assert "Paiement reçu : 40,30\u00a0€" in detail.content.decode()
    assert [(r[7], r[11]) for r in csv_rows] == [("Lampe", "15,10"), ("Buffet", "25,20")]
    assert {r[2] for r in csv_rows} == {str(line.pk) for line in ours.lines.all()}

    theirs_listing = signed_in(their_manager).get(LIST)
    [their_row] = theirs_listing.context["rows"]
    assert (their_row.payment.pk, their_row.amount_cents, their_row.title) == (basket.pk, 7345, "Piano droit")
    their_detail = signed_in(their_manager).get(order_url(basket)).content.decode()
    assert "Piano droit" in their_detail and theirs.claim_code in their_detail
    assert "Lampe" not in their_detail and "Buffet" not in their_detail and ours.claim_code not in their_detail
    assert "40,30" not in their_detail and "113,75" not in their_detail


def test_someone_at_both_organisations_sees_a_row_for_each_part(campaign: Campaign, basket: Order) -> None:
    ours, theirs = parts(basket)
    both = manager_of(campaign.organisation, role=Membership.Role.TREASURER)
    Membership.objects.create(user=both, organisation=theirs.organisation, role=Membership.Role.TREASURER)

    rows = signed_in(both).get(LIST).context["rows"]

    assert sorted((row.fulfilment.pk, row.amount_cents) for row in rows) == [(ours.pk, 4030), (theirs.pk, 7345)]
    detail = signed_in(both).get(order_url(basket))
    assert [group["part"].fulfilment.pk for group in detail.context["parts"]] == [ours.pk, theirs.pk]
    assert detail.context["amount_cents"] == 11375
    # Even at both, a basket of two organisations is refunded line by line.
    api = APIClient()
    api.force_authenticate(both)
    whole = api.post(f"/api/orders/{basket.pk}/refund/", {"reason": "Tout"}, format="json")
    assert whole.status_code == 400 and whole.json()["code"] == "line_required"
    assert not Refund.objects.exists()


def test_a_treasurer_refunds_a_line_of_their_organisation_and_never_one_of_the_other(
    campaign: Campaign, manager: User, basket: Order
) -> None:
    ours, theirs = parts(basket)
    [their_line] = theirs.lines.all()
    lamp = ours.lines.get(item__title="Lampe")
    client = signed_in(manager)

    assert refund(client, basket, "73,45", "Pas à nous", line=their_line).status_code == 404
    assert client.post(order_url(basket), {"amount": "5", "reason": "Sans ligne"}).status_code == 404
    assert client.post(order_url(basket), {"line": "x", "amount": "5", "reason": "?"}).status_code == 404
    assert not Refund.objects.exists()

    done = refund(client, basket, "15,10", "Rayure", line=lamp)

    assert done.status_code == 302
    asked = Refund.objects.get()
    assert (asked.line_id, asked.amount_cents) == (lamp.pk, 1510)
    assert OrderLine.objects.get(pk=lamp.pk).refunded_cents == 1510
    assert OrderLine.objects.get(pk=their_line.pk).refunded_cents == 0
    assert Order.objects.get(pk=basket.pk).status == PaymentStatus.PAID
    rows = {row.fulfilment.pk: row for row in signed_in(manager).get(LIST).context["rows"]}
    assert rows[ours.pk].state == "Partiellement remboursé (15,10\u00a0€)"
    # The other organisation's page says nothing of it.
    their_manager = manager_of(theirs.organisation, role=Membership.Role.TREASURER)
    their_page = signed_in(their_manager).get(order_url(basket))
    assert "Rayure" not in their_page.content.decode() and "15,10" not in their_page.content.decode()
    assert [row["managed"].state for row in their_page.context["parts"][0]["lines"]] == ["Payé"]


def test_a_part_refunded_in_whole_is_refunded_while_the_rest_of_the_basket_stays_paid(
    campaign: Campaign, manager: User, basket: Order
) -> None:
    ours, theirs = parts(basket)
    client = signed_in(manager)
    for line in ours.lines.all():
        euros = f"{line.amount_cents // 100},{line.amount_cents % 100:02d}"
        assert refund(client, basket, euros, "Cassé", line=line).status_code == 302
    their_manager = signed_in(manager_of(theirs.organisation, role=Membership.Role.TREASURER))

    assert keys(client, {"status": "refunded"}) == [("order", basket.pk)]
    assert keys(client, {"status": "to_hand_over"}) == []
    assert keys(their_manager, {"status": "refunded"}) == []
    assert keys(their_manager, {"status": "to_hand_over"}) == [("order", basket.pk)]
    assert client.get(LIST).context["rows"][0].state == "Remboursé"
    page = client.get(order_url(basket))
    assert page.context["refundable_cents"] == 0 and "Rien à rembourser" in page.content.decode()


def test_the_refunds_api_refunds_a_line_of_the_callers_organisation_only(
    api: APIClient, campaign: Campaign, manager: User, basket: Order
) -> None:
    ours, theirs = parts(basket)
    [their_line] = theirs.lines.all()
    lamp = ours.lines.get(item__title="Lampe")
    api.force_authenticate(manager)
    path = f"/api/orders/{basket.pk}/refund/"

    theirs_answer = api.post(path, {"reason": "x", "line": their_line.pk}, format="json")
    missing = api.post(path, {"reason": "x", "line": their_line.pk + 1000}, format="json")
    whole = api.post(path, {"reason": "x"}, format="json")
    hostile = [api.post(path, {"reason": "x", "line": value}, format="json") for value in ("abc", -1, 2**40, [1])]

    assert theirs_answer.status_code == missing.status_code == 404
    assert theirs_answer.json() == missing.json()
    assert whole.status_code == 404  # a member of one organisation only: the whole basket is not theirs
    assert [answer.status_code for answer in hostile] == [400, 400, 400, 400]
    assert not Refund.objects.exists()

    done = api.post(path, {"reason": "Rayure", "line": lamp.pk, "amount_cents": 500}, format="json")

    assert done.status_code == 201 and done.json()["amount_cents"] == 500
    assert Refund.objects.get().line_id == lamp.pk
    too_much = api.post(path, {"reason": "Encore", "line": lamp.pk, "amount_cents": 1011}, format="json")
    assert too_much.status_code == 400 and too_much.json()["code"] == "refund_too_large"


def test_the_list_takes_the_same_queries_for_one_basket_or_many(campaign: Campaign, manager: User) -> None:
    client = signed_in(manager)

    def basket_and_gift() -> None:
        items = [ItemFactory(campaign=campaign, price_cents=1000 + n) for n in range(2)]
        items.append(ItemFactory(campaign=ready_campaign(), price_cents=500))
        order = order_start(item_ids=[item.pk for item in items], email="panier@example.org")
        pay(order)
        paid_gift(campaign, 2000)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(LIST).status_code == 200
        return len(captured)

    basket_and_gift()
    client.get(LIST)  # warm-up: the session
    one = queries()
    for _ in range(3):
        basket_and_gift()
    assert queries() == one
    assert len(client.get(LIST).context["rows"]) == 8
