"""The shop counter (checkout.services.counter, /gestion/caisse/): sales of catalogue objects
and of objects not in the catalogue, gifts by cash, cheque or card, recorded as money the
organisation already holds: in the campaign's total and the receipts' one numbering, never
transferred; a daily summary and its CSV; corrections; who may; what bad input gets.
(The race of a counter sale with an online hold runs on PostgreSQL: test_counter_concurrency.py.)"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from campaigns.models import AuditEntry, Campaign, Membership, Organisation
from checkout.services import ItemUnavailable, order_start, payment_refund, transfers_pay
from checkout.services.counter import (
    CounterEntryCancelled,
    counter_cancel,
    counter_gift,
    counter_line,
    counter_sale,
)
from checkout.services.payouts import CounterRefundRefused, gift_transfer, organisation_transfers_pay
from donations.models import CounterEntry, Gift, Item, ItemStatus, Order, OrderLine, PaymentStatus, Reservation
from kernel.errors import NotFound, PermissionDenied
from ledger.models import LedgerEntry, Transfer
from ledger.selectors import campaign_progress, ledger_differences, organisation_balance_cents
from ledger.statements import organisation_statement
from receipts.details import ReceiptDetails
from receipts.models import TaxReceipt
from receipts.selectors import lines_due_receipt
from tests.factories import CampaignFactory, ItemFactory, MembershipFactory, UserFactory
from tests.receipts_support import (
    giver,
    handed_over_days_ago,
    paid_gift,
    pdf_text,
    ready_campaign,
    ready_organisation,
    receipts_issue_due,
)

pytestmark = pytest.mark.django_db

DETAILS = ReceiptDetails(
    first_name="Jeanne",
    last_name="Lefèvre",
    address_line1="12 rue du Moulin",
    address_line2="",
    postal_code="64000",
    city="Pau",
    country="FR",
)


def manager(organisation: Organisation, role: str = Membership.Role.MANAGER) -> Any:
    return MembershipFactory(organisation=organisation, role=role).user


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def counter_url(organisation: Organisation, suffix: str = "") -> str:
    return f"/gestion/caisse/{organisation.slug}/{suffix}"


# --- A sale of a catalogue object ------------------------------------------------------------------


def test_a_counter_sale_sells_and_hands_over_the_object_credits_its_campaign_and_tells_its_seller(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = ready_campaign()
    seller = giver(email="vendeuse@example.org")
    item = ItemFactory(campaign=campaign, owner=seller, price_cents=3500)
    person = manager(campaign.organisation)

    with django_capture_on_commit_callbacks(execute=True):
        entry = counter_sale(
            actor=person, organisation_id=campaign.organisation_id, item_id=item.pk, means=CounterEntry.Means.CASH
        )

    order = Order.objects.get(pk=entry.order_id)
    line = OrderLine.objects.select_related("fulfilment").get(order=order)
    assert (order.provider, order.status, order.amount_cents) == ("counter", PaymentStatus.PAID, 3500)
    assert line.fulfilment.handed_over_at is not None and line.campaign == campaign
    assert Item.objects.get(pk=item.pk).status == ItemStatus.HANDED_OVER
    assert campaign_progress(campaign_id=campaign.pk) == (3500, 1)
    credit = LedgerEntry.objects.get()
    assert (credit.kind, credit.reason, credit.order_line_id, credit.amount_cents) == (
        "credit",
        "payment",
        line.pk,
        3500,
    )
    audit = AuditEntry.objects.get(action=AuditEntry.Action.COUNTER_RECORDED)
    assert (audit.actor, audit.details["item"], audit.details["means"]) == (person, item.pk, "cash")
    assert [message.to for message in mail.outbox] == [["vendeuse@example.org"]]
    # The moves an online sale makes, each logged: the claim is the online hold's.
    moves = list(item.transitions.values_list("from_status", "to_status").order_by("id"))[-3:]
    assert moves == [("listed", "reserved"), ("reserved", "sold"), ("sold", "handed_over")]


def test_the_sellers_tax_receipt_follows_as_for_any_sale_once_the_return_period_is_over(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    campaign = ready_campaign()
    seller = giver()
    item = ItemFactory(campaign=campaign, owner=seller, price_cents=4200)
    entry = counter_sale(
        actor=manager(campaign.organisation),
        organisation_id=campaign.organisation_id,
        item_id=item.pk,
        means=CounterEntry.Means.CARD,
    )
    assert not lines_due_receipt(now=timezone.now()).exists()  # the return period first

    handed_over_days_ago(Order.objects.get(pk=entry.order_id), settings.RECEIPT_RETURN_PERIOD_DAYS + 1)
    assert list(lines_due_receipt(now=timezone.now()).values_list("order_id", flat=True)) == [entry.order_id]
    with django_capture_on_commit_callbacks(execute=True):
        receipts_issue_due()

    receipt = TaxReceipt.objects.get()
    assert (receipt.giver, receipt.amount_cents, receipt.nature) == (seller, 4200, "waived_proceeds")
    assert receipt.payment_method == "Sans objet (abandon de produits)"


def test_an_object_held_by_an_online_buyer_cannot_be_sold_at_the_counter_and_vice_versa() -> None:
    campaign = CampaignFactory()
    person = manager(campaign.organisation)
    held, sold_here = ItemFactory(campaign=campaign), ItemFactory(campaign=campaign)
    order_start(item_id=held.pk, email="online@example.org")

    with pytest.raises(ItemUnavailable):
        counter_sale(actor=person, organisation_id=campaign.organisation_id, item_id=held.pk, means="cash")
    counter_sale(actor=person, organisation_id=campaign.organisation_id, item_id=sold_here.pk, means="cash")
    # Sold and handed over, it is no longer public: the one-item checkout answers as for a missing one.
    with pytest.raises(NotFound):
        order_start(item_id=sold_here.pk, email="late@example.org")

    assert CounterEntry.objects.count() == 1 and LedgerEntry.objects.count() == 1
    assert Item.objects.get(pk=held.pk).status == ItemStatus.RESERVED


def test_a_hold_whose_time_is_over_does_not_stop_a_counter_sale() -> None:
    campaign = CampaignFactory()
    item = ItemFactory(campaign=campaign)
    order = order_start(item_id=item.pk, email="online@example.org")
    Reservation.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(seconds=1))

    counter_sale(
        actor=manager(campaign.organisation), organisation_id=campaign.organisation_id, item_id=item.pk, means="cash"
    )

    assert Order.objects.get(pk=order.pk).status == PaymentStatus.EXPIRED
    assert Item.objects.get(pk=item.pk).status == ItemStatus.HANDED_OVER


# --- A free line, a gift ----------------------------------------------------------------------------


def test_a_free_line_sells_an_object_not_in_the_catalogue_with_no_sellers_receipt() -> None:
    campaign = CampaignFactory()
    entry = counter_line(
        actor=manager(campaign.organisation),
        organisation_id=campaign.organisation_id,
        campaign_id=campaign.pk,
        description="Tasse en faïence",
        amount_cents=50,
        means=CounterEntry.Means.CASH,
    )

    line = OrderLine.objects.select_related("item").get(order_id=entry.order_id)
    assert (line.item.title, line.item.owner, line.item.kind, line.item.status) == (
        "Tasse en faïence",
        None,
        Item.Kind.GIFT_IN_KIND,
        ItemStatus.HANDED_OVER,
    )
    assert campaign_progress(campaign_id=campaign.pk) == (50, 1)
    later = timezone.now() + timedelta(days=400)
    assert not lines_due_receipt(now=later).exists()  # the organisation's own object: nobody's gift


def test_a_cheque_gift_takes_the_next_receipt_number_says_cheque_and_is_never_transferred(
    django_capture_on_commit_callbacks: Any,
) -> None:
    organisation = ready_organisation(stripe_account_id="acct_demo_counter")
    campaign = ready_campaign(organisation)
    with django_capture_on_commit_callbacks(execute=True):
        online = paid_gift(campaign, 2000, user=giver())
    first = TaxReceipt.objects.get()
    assert Transfer.objects.filter(gift=online).exists()

    with django_capture_on_commit_callbacks(execute=True):
        entry = counter_gift(
            actor=manager(organisation, Membership.Role.TREASURER),
            organisation_id=organisation.pk,
            campaign_id=campaign.pk,
            amount_cents=15000,
            means=CounterEntry.Means.CHEQUE,
            cheque_number="1234567",
            name="Jeanne Lefèvre",
            email="jeanne@example.org",
            receipt=DETAILS,
        )

    receipt = TaxReceipt.objects.exclude(pk=first.pk).get()
    assert receipt.sequence == first.sequence + 1 and receipt.number.endswith(f"{first.sequence + 1:06d}")
    assert (receipt.payment_method, receipt.amount_cents, receipt.giver_last_name) == ("Chèque", 15000, "Lefèvre")
    with receipt.pdf.open("rb") as pdf:
        assert "Modedeversement:Chèque" in pdf_text(pdf.read())
    assert mail.outbox[-1].to == ["jeanne@example.org"]  # the receipt, sent to the email given
    gift = Gift.objects.get(pk=entry.gift_id)
    assert (gift.provider, gift.status, gift.transfer_id) == ("counter", PaymentStatus.PAID, "")
    assert campaign_progress(campaign_id=campaign.pk) == (17000, 2)

    # Never transferred: not after commit, not by the periodic job, not when the account connects again.
    with django_capture_on_commit_callbacks(execute=True):
        transfers_pay()
        gift_transfer(gift_id=gift.pk)
        organisation_transfers_pay(organisation_id=organisation.pk)
    assert not Transfer.objects.filter(gift=gift).exists()
    # Nothing is owed to the organisation for it: it holds the cheque.
    assert organisation_balance_cents(organisation_id=organisation.pk) == 0
    assert list(ledger_differences()) == []


def test_a_cash_gift_receipt_says_cash_and_one_without_email_is_kept_for_printing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = ready_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        counter_gift(
            actor=manager(campaign.organisation),
            organisation_id=campaign.organisation_id,
            campaign_id=campaign.pk,
            amount_cents=2000,
            means=CounterEntry.Means.CASH,
            receipt=DETAILS,
        )

    receipt = TaxReceipt.objects.get()
    assert receipt.payment_method == "Espèces" and receipt.giver_email == ""
    assert receipt.pdf and receipt.emailed_at is None and mail.outbox == []


def test_a_counter_sale_is_never_transferred_nor_owed_and_the_statement_says_encaisse_au_comptoir(
    django_capture_on_commit_callbacks: Any,
) -> None:
    organisation = ready_organisation(stripe_account_id="acct_demo_counter_2")
    campaign = ready_campaign(organisation)
    item = ItemFactory(campaign=campaign, price_cents=2600)
    with django_capture_on_commit_callbacks(execute=True):
        counter_sale(actor=manager(organisation), organisation_id=organisation.pk, item_id=item.pk, means="cash")
        transfers_pay()

    assert not Transfer.objects.exists()
    assert organisation_balance_cents(organisation_id=organisation.pk) == 0
    now = timezone.localtime()
    statement = organisation_statement(organisation=organisation, year=now.year, month=now.month)
    assert statement.reconciles and statement.closing_cents == 0 and statement.credits_cents == 0
    assert statement.counter_cents == 2600
    [line] = statement.lines
    assert (line.label, line.amount_cents, line.counter_cents) == ("Paiement — encaissé au comptoir", 0, 2600)


def test_a_counter_payment_is_not_refunded_through_the_provider() -> None:
    campaign = CampaignFactory()
    treasurer = manager(campaign.organisation, Membership.Role.TREASURER)
    entry = counter_gift(
        actor=treasurer,
        organisation_id=campaign.organisation_id,
        campaign_id=campaign.pk,
        amount_cents=1000,
        means="cash",
    )

    with (
        mock.patch("payments.demo_gateway.DemoGateway.refund_create") as refund_create,
        pytest.raises(CounterRefundRefused),
    ):
        payment_refund(actor=treasurer, reason="Erreur", gift_id=entry.gift_id)
    refund_create.assert_not_called()


# --- Corrections ------------------------------------------------------------------------------------


def test_cancelling_a_sale_debits_the_campaign_puts_the_object_back_on_sale_and_is_audited() -> None:
    campaign = CampaignFactory()
    person = manager(campaign.organisation)
    item = ItemFactory(campaign=campaign, price_cents=1800)
    entry = counter_sale(actor=person, organisation_id=campaign.organisation_id, item_id=item.pk, means="cash")

    counter_cancel(actor=person, entry_id=entry.pk, reason="Mauvais objet scanné")

    entry.refresh_from_db()
    assert entry.cancelled_at is not None and entry.cancellation_reason == "Mauvais objet scanné"
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    assert Order.objects.get(pk=entry.order_id).status == PaymentStatus.REFUNDED
    assert campaign_progress(campaign_id=campaign.pk) == (0, 0)
    assert list(LedgerEntry.objects.values_list("kind", "reason", "amount_cents")) == [
        ("credit", "payment", 1800),
        ("debit", "refund", 1800),
    ]
    cancelled = AuditEntry.objects.get(action=AuditEntry.Action.COUNTER_CANCELLED)
    assert cancelled.details["reason"] == "Mauvais objet scanné" and cancelled.actor == person
    assert list(ledger_differences()) == []
    # Once: a second correction changes nothing.
    with pytest.raises(CounterEntryCancelled):
        counter_cancel(actor=person, entry_id=entry.pk, reason="Encore")
    assert LedgerEntry.objects.count() == 2
    # Back on sale: it can be bought online again.
    order_start(item_id=item.pk, email="online@example.org")


def test_cancelling_a_receipted_gift_cancels_its_receipt_and_a_free_lines_object_is_withdrawn(
    django_capture_on_commit_callbacks: Any,
) -> None:
    campaign = ready_campaign()
    person = manager(campaign.organisation)
    with django_capture_on_commit_callbacks(execute=True):
        gift = counter_gift(
            actor=person,
            organisation_id=campaign.organisation_id,
            campaign_id=campaign.pk,
            amount_cents=5000,
            means="cheque",
            cheque_number="7654321",
            receipt=DETAILS,
        )
        line = counter_line(
            actor=person,
            organisation_id=campaign.organisation_id,
            campaign_id=campaign.pk,
            description="Lot de livres",
            amount_cents=800,
            means="cash",
        )

    counter_cancel(actor=person, entry_id=gift.pk, reason="Chèque sans provision")
    counter_cancel(actor=person, entry_id=line.pk, reason="Saisi deux fois")

    receipt = TaxReceipt.objects.get()
    assert receipt.status == TaxReceipt.Status.CANCELLED and "Chèque sans provision" in receipt.cancellation_reason
    assert Item.objects.get(order_lines__order_id=line.order_id).status == ItemStatus.WITHDRAWN
    assert campaign_progress(campaign_id=campaign.pk) == (0, 0)
    assert list(ledger_differences()) == []


# --- The day's summary and its CSV -------------------------------------------------------------------


@pytest.fixture
def a_day_at_the_counter() -> tuple[Organisation, Any]:
    campaign = CampaignFactory(title="Toit de la halle")
    organisation = campaign.organisation
    person = manager(organisation)
    item = ItemFactory(campaign=campaign, price_cents=1200, title="Lampe")
    counter_sale(actor=person, organisation_id=organisation.pk, item_id=item.pk, means="card")
    counter_line(
        actor=person,
        organisation_id=organisation.pk,
        campaign_id=campaign.pk,
        description="Vaisselle",
        amount_cents=300,
        means="cash",
    )
    counter_gift(
        actor=person,
        organisation_id=organisation.pk,
        campaign_id=campaign.pk,
        amount_cents=5000,
        means="cheque",
        cheque_number="0012345",
        name="Paul Morel",
    )
    wrong = counter_gift(
        actor=person, organisation_id=organisation.pk, campaign_id=campaign.pk, amount_cents=2000, means="cash"
    )
    counter_cancel(actor=person, entry_id=wrong.pk, reason="Erreur de montant")
    # Another organisation's counter is not in this one's day.
    other = CampaignFactory()
    counter_gift(
        actor=manager(other.organisation),
        organisation_id=other.organisation_id,
        campaign_id=other.pk,
        amount_cents=9900,
        means="cash",
    )
    return organisation, person


def test_the_days_summary_totals_what_stands_by_means_of_payment(
    a_day_at_the_counter: tuple[Organisation, Any], django_assert_max_num_queries: Any
) -> None:
    from checkout.selectors import counter_day

    organisation, person = a_day_at_the_counter
    with django_assert_max_num_queries(3):
        day = counter_day(organisation_id=organisation.pk, day=timezone.localdate())

    assert day.by_means == {"cash": 300, "cheque": 5000, "card": 1200}
    assert (day.total_cents, day.count, day.cancelled_count, len(day.entries)) == (6500, 3, 1, 4)
    assert day.by_kind == {"sale": 1200, "line": 300, "gift": 5000}

    page = signed_in(person).get(counter_url(organisation, "journee/"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Lampe" in text and "Erreur de montant" in text and "Don de Paul Morel" in text
    assert page.headers["Cache-Control"].startswith("private") or "no-store" in page.headers["Cache-Control"]


def test_the_days_csv_lists_each_entry_and_the_totals_by_means(a_day_at_the_counter: tuple[Organisation, Any]) -> None:
    organisation, person = a_day_at_the_counter
    response = signed_in(person).get(counter_url(organisation, f"journee.csv?jour={timezone.localdate().isoformat()}"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["saisie", "heure", "type"]
    entries = [row for row in rows[1:] if row and row[0]]
    assert [(row[2], row[6], row[7], row[8]) for row in entries] == [
        ("vente (catalogue)", "carte (terminal)", "", "12,00"),
        ("vente (hors catalogue)", "espèces", "", "3,00"),
        ("don", "chèque", "0012345", "50,00"),
        ("don", "espèces", "", "20,00"),
    ]
    assert entries[-1][11] == "Erreur de montant"
    totals = {row[2]: row[8] for row in rows if row and not row[0] and len(row) > 8}
    assert totals == {
        "total espèces": "3,00",
        "total chèque": "50,00",
        "total carte (terminal)": "12,00",
        "total": "65,00",
    }


def test_a_bad_day_is_a_field_error_not_a_crash(a_day_at_the_counter: tuple[Organisation, Any]) -> None:
    organisation, person = a_day_at_the_counter
    client = signed_in(person)
    assert client.get(counter_url(organisation, "journee/?jour=2026-02-31")).status_code == 400
    assert client.get(counter_url(organisation, "journee.csv?jour=%00")).status_code == 400
    empty = client.get(counter_url(organisation, "journee/?jour=2001-01-01"))
    assert empty.status_code == 200 and "Aucune saisie ce jour-là." in empty.content.decode()


# --- The pages: who may, what bad input gets -------------------------------------------------------


def test_a_manager_records_a_sale_by_the_objects_number_and_a_gift_from_the_phone_page() -> None:
    campaign = CampaignFactory()
    organisation = campaign.organisation
    client = signed_in(manager(organisation))
    item = ItemFactory(campaign=campaign, price_cents=900, title="Chaise")

    assert client.get("/gestion/caisse/").url == counter_url(organisation)
    assert client.get(counter_url(organisation)).status_code == 200
    sold = client.post(counter_url(organisation, "?saisie=vente"), {"item": f" n° {item.pk} ", "means": "cash"})
    assert sold.status_code == 302, sold.content.decode()[:2000]
    given = client.post(
        counter_url(organisation, "?saisie=don"),
        {"campaign": campaign.pk, "amount": "25,50", "means": "cheque", "cheque_number": "1122334"},
    )
    assert given.status_code == 302
    page = client.get(given.url)
    assert "Don de 25,50" in page.content.decode()
    assert campaign_progress(campaign_id=campaign.pk) == (3450, 2)


def test_an_object_already_held_online_is_said_beside_its_field_with_409() -> None:
    campaign = CampaignFactory()
    item = ItemFactory(campaign=campaign)
    order_start(item_id=item.pk, email="online@example.org")

    response = signed_in(manager(campaign.organisation)).post(
        counter_url(campaign.organisation, "?saisie=vente"), {"item": str(item.pk), "means": "cash"}
    )

    assert response.status_code == 409
    assert "quelqu&#x27;un est en train de l&#x27;acheter en ligne" in response.content.decode()
    assert not CounterEntry.objects.exists()


def test_another_organisations_counter_object_and_entries_are_404_and_a_volunteer_gets_403() -> None:
    campaign, other = CampaignFactory(), CampaignFactory()
    organisation = campaign.organisation
    entry = counter_gift(
        actor=manager(organisation),
        organisation_id=organisation.pk,
        campaign_id=campaign.pk,
        amount_cents=1000,
        means="cash",
    )
    outsider = signed_in(manager(other.organisation))
    volunteer_user = manager(organisation, Membership.Role.VOLUNTEER)
    volunteer = signed_in(volunteer_user)
    pages = [counter_url(organisation), counter_url(organisation, "journee/"), counter_url(organisation, "journee.csv")]
    cancel = counter_url(organisation, f"saisies/{entry.pk}/annuler/")

    for url in [*pages, cancel]:
        assert outsider.get(url).status_code == 404, url
        assert volunteer.get(url).status_code == 403, url
    assert outsider.post(cancel, {"reason": "x"}).status_code == 404
    assert volunteer.post(cancel, {"reason": "x"}).status_code == 403
    assert volunteer.get("/gestion/caisse/").status_code == 403
    # Another organisation's entry, under one's own counter, is as missing as a missing one.
    mine = counter_url(other.organisation, f"saisies/{entry.pk}/annuler/")
    assert outsider.get(mine).status_code == 404
    # One's own counter cannot sell another organisation's object.
    foreign = ItemFactory(campaign=campaign)
    response = outsider.post(
        counter_url(other.organisation, "?saisie=vente"), {"item": str(foreign.pk), "means": "cash"}
    )
    assert response.status_code == 400 and Item.objects.get(pk=foreign.pk).status == ItemStatus.LISTED
    # The services say the same.
    with pytest.raises(NotFound):
        counter_gift(
            actor=UserFactory(),
            organisation_id=organisation.pk,
            campaign_id=campaign.pk,
            amount_cents=1000,
            means="cash",
        )
    with pytest.raises(PermissionDenied):
        counter_gift(
            actor=volunteer_user,
            organisation_id=organisation.pk,
            campaign_id=campaign.pk,
            amount_cents=1000,
            means="cash",
        )
    with pytest.raises(NotFound):
        counter_sale(
            actor=manager(other.organisation), organisation_id=other.organisation_id, item_id=foreign.pk, means="cash"
        )
    assert CounterEntry.objects.get().cancelled_at is None and LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("don", {"amount": "-5", "means": "cash"}, "amount"),
        ("don", {"amount": "0,50", "means": "cash"}, "amount"),
        ("don", {"amount": "99999999999", "means": "cash"}, "amount"),
        ("don", {"amount": "1e9", "means": "cash"}, "amount"),
        ("don", {"amount": "12,345", "means": "cash"}, "amount"),
        ("don", {"amount": "10", "means": "cheque", "cheque_number": ""}, "cheque_number"),
        ("don", {"amount": "10", "means": "cheque", "cheque_number": "12ab34"}, "cheque_number"),
        ("don", {"amount": "10", "means": "cheque", "cheque_number": "<script>alert(1)</script>"}, "cheque_number"),
        ("don", {"amount": "10", "means": "cheque", "cheque_number": "1" * 41}, "cheque_number"),
        ("don", {"amount": "10", "means": "cheque", "cheque_number": "١٢٣٤٥٦٧"}, "cheque_number"),
        ("don", {"amount": "10", "means": "cash", "cheque_number": "1234567"}, "cheque_number"),
        ("don", {"amount": "10", "means": "bitcoin"}, "means"),
        ("don", {"amount": "10", "means": "cash", "name": "Paul\x00"}, "name"),
        ("don", {"amount": "10", "means": "cash", "receipt": "on", "receipt_last_name": "Morel"}, "receipt_city"),
        ("hors-catalogue", {"amount": "-1", "means": "cash", "description": "Tasse"}, "amount"),
        ("hors-catalogue", {"amount": "3", "means": "cash", "description": ""}, "description"),
        ("hors-catalogue", {"amount": "3", "means": "cash", "description": "x" * 121}, "description"),
        ("hors-catalogue", {"amount": "3", "means": "cash", "description": "Tasse\x07"}, "description"),
        ("vente", {"item": "'; DROP TABLE items; --", "means": "cash"}, "item"),
        ("vente", {"item": "999999999999999999999", "means": "cash"}, "item"),
        ("vente", {"item": "", "means": "cash"}, "item"),
    ],
)
def test_hostile_inputs_are_field_errors_and_write_nothing(kind: str, data: dict[str, str], field: str) -> None:
    campaign = CampaignFactory()
    if kind != "vente":
        data = {"campaign": str(campaign.pk), **data}

    response = signed_in(manager(campaign.organisation)).post(
        counter_url(campaign.organisation, f"?saisie={kind}"), data
    )

    assert response.status_code == 400
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not CounterEntry.objects.exists() and not LedgerEntry.objects.exists() and not Gift.objects.exists()


def test_another_organisations_or_a_closed_campaign_is_not_a_choice() -> None:
    campaign = CampaignFactory()
    closed = CampaignFactory(organisation=campaign.organisation, status=Campaign.Status.CLOSED)
    foreign = CampaignFactory()
    client = signed_in(manager(campaign.organisation))

    for other in (closed, foreign):
        response = client.post(
            counter_url(campaign.organisation, "?saisie=don"), {"campaign": other.pk, "amount": "10", "means": "cash"}
        )
        assert response.status_code == 400 and "campaign" in response.context["form"].errors
    with pytest.raises(NotFound):
        counter_gift(
            actor=manager(campaign.organisation),
            organisation_id=campaign.organisation_id,
            campaign_id=foreign.pk,
            amount_cents=1000,
            means="cash",
        )
    assert not Gift.objects.exists()


def test_the_services_refuse_amounts_and_cheque_numbers_the_forms_refuse() -> None:
    from checkout.services.counter import ChequeNumberInvalid, CounterAmountInvalid

    campaign = CampaignFactory()
    person = manager(campaign.organisation)
    base = {"actor": person, "organisation_id": campaign.organisation_id, "campaign_id": campaign.pk}
    for amount in (-100, 0, 99, 5_000_001, 2**63):
        with pytest.raises(CounterAmountInvalid):
            counter_gift(**base, amount_cents=amount, means="cash")
    with pytest.raises(ChequeNumberInvalid):
        counter_gift(**base, amount_cents=1000, means="cheque", cheque_number="12 34 56")
    assert not Gift.objects.exists()


def test_cancelling_without_a_reason_is_a_field_error() -> None:
    campaign = CampaignFactory()
    person = manager(campaign.organisation)
    entry = counter_gift(
        actor=person, organisation_id=campaign.organisation_id, campaign_id=campaign.pk, amount_cents=1000, means="cash"
    )
    client = signed_in(person)
    url = counter_url(campaign.organisation, f"saisies/{entry.pk}/annuler/")

    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": "  "}).status_code == 400
    assert client.post(url, {"reason": "Erreur\x00"}).status_code == 400
    assert CounterEntry.objects.get().cancelled_at is None
    done = client.post(url, {"reason": "Erreur de campagne"})
    assert done.status_code == 302
    assert client.post(url, {"reason": "Encore"}).status_code == 409


def test_the_managers_home_links_the_counter_for_the_roles_that_may_use_it() -> None:
    organisation = CampaignFactory().organisation
    for role, shown in [
        (Membership.Role.MANAGER, True),
        (Membership.Role.TREASURER, True),
        (Membership.Role.VOLUNTEER, False),
    ]:
        page = signed_in(manager(organisation, role)).get("/gestion/")
        assert ('href="/gestion/caisse/"' in page.content.decode().split('<div class="tools">', 1)[-1]) is shown, role
