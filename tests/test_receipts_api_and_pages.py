"""The giver's receipts in the API (the public API's shape), what their pending receipts
wait for, the hand-over of a sold object, and the managers' pages: list with
filters and CSV, the yearly declaration, legal details for admins only."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Membership, Organisation
from donations.models import Item, ItemStatus, Order
from payments.events import event_receive
from receipts.changes import receipt_cancel
from receipts.issuing import receipt_issue_for_gift
from receipts.models import TaxReceipt
from receipts.selectors import receipts_declaration
from tests.factories import ItemFactory, UserFactory
from tests.receipts_support import (
    giver,
    manager,
    paid_gift,
    paid_order,
    pdf_text,
    ready_campaign,
    ready_organisation,
    refund_event,
)

pytestmark = pytest.mark.django_db


def test_a_giver_lists_their_receipts_with_the_fields_of_the_api_and_downloads_the_pdf(
    api: APIClient, client: Client
) -> None:
    person = giver()
    campaign = ready_campaign()
    receipt = receipt_issue_for_gift(gift_id=paid_gift(campaign, 4200, user=person).pk)
    receipt_issue_for_gift(gift_id=paid_gift(campaign, 1000, user=giver(email="someone@example.org")).pk)
    assert receipt is not None

    assert api.get("/api/me/receipts/").status_code in {401, 403}
    api.force_authenticate(person)
    body = api.get("/api/me/receipts/").json()

    assert body["count"] == 1 and set(body) == {"count", "next", "previous", "results"}
    [row] = body["results"]
    assert set(row) == {"number", "issued_at", "amount_cents", "organisation", "status", "pdf_url"}
    assert row["number"] == receipt.number and row["amount_cents"] == 4200 and row["status"] == "issued"
    assert row["organisation"] == {"slug": campaign.organisation.slug, "name": campaign.organisation.name}
    assert row["issued_at"].endswith(("+01:00", "+02:00", "Z"))
    pdf = client.get(row["pdf_url"].removeprefix("http://127.0.0.1:8000"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_cancelled_receipt_shows_as_cancelled_and_its_pdf_says_so(api: APIClient, client: Client) -> None:
    person = giver()
    gift = paid_gift(ready_campaign(), 4200, user=person)
    receipt_issue_for_gift(gift_id=gift.pk)
    event_receive(event=refund_event(gift, 4200))
    api.force_authenticate(person)
    [row] = api.get("/api/me/receipts/").json()["results"]
    assert row["status"] == "cancelled"
    pdf = client.get(row["pdf_url"].removeprefix("http://127.0.0.1:8000"))
    assert "ANNULÉ" in pdf_text(pdf.content)


def test_the_account_shows_what_a_waiting_receipt_needs(api: APIClient) -> None:
    person = UserFactory(first_name="Louise", last_name="")
    receipt_issue_for_gift(gift_id=paid_gift(ready_campaign(), user=person).pk)
    api.force_authenticate(person)
    body = api.get("/api/me/receipts/status/").json()
    assert body == {
        "waiting": 1,
        "missing": ["last_name", "address_line1", "postal_code", "city"],
        "consolidated": False,
    }


def test_a_manager_hands_over_a_sold_object_with_the_buyers_claim_code(api: APIClient) -> None:
    item = ItemFactory(price_cents=3000, campaign=ready_campaign())
    order = paid_order(item)
    api.force_authenticate(manager(item.campaign.organisation))

    wrong = api.post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": "NOPE"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["code"] == "claim_code_invalid"
    claim_code = order.fulfilments.get().claim_code
    done = api.post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": claim_code.lower()}, format="json")
    assert done.status_code == 200 and done.json()["items"] == [item.pk]
    assert Item.objects.get(pk=item.pk).status == ItemStatus.HANDED_OVER
    assert Order.objects.get(pk=order.pk).fulfilments.get().handed_over_at is not None
    again = api.post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": claim_code}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_handable"

    stranger = APIClient()
    stranger.force_authenticate(manager(ready_organisation()))
    assert stranger.post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": "X"}, format="json").status_code == 404


def receipts_for(organisation: Organisation, amounts: list[int]) -> list[TaxReceipt]:
    campaign = ready_campaign(organisation)
    issued = []
    for n, amount in enumerate(amounts):
        receipt = receipt_issue_for_gift(
            gift_id=paid_gift(campaign, amount, user=giver(email=f"g{organisation.pk}-{n}@example.org")).pk
        )
        assert receipt is not None
        issued.append(receipt)
    return issued


def test_the_yearly_declaration_equals_the_receipts_of_the_year_minus_cancellations(client: Client) -> None:
    organisation = ready_organisation()
    issued = receipts_for(organisation, [1000, 2550, 10000, 777])
    receipts_for(ready_organisation(), [99900])  # another organisation's
    admin = manager(organisation, Membership.Role.ADMIN)
    receipt_cancel(receipt_id=issued[2].pk, actor=admin, reason="Erreur")
    year = timezone.localtime().year

    declaration = receipts_declaration(organisation=organisation, year=year)
    every = TaxReceipt.objects.filter(organisation=organisation, year=year)
    cancelled = every.filter(status=TaxReceipt.Status.CANCELLED)
    assert declaration.total_cents == sum(r.amount_cents for r in every) - sum(r.amount_cents for r in cancelled)
    assert declaration.total_cents == 1000 + 2550 + 777 and declaration.receipts_count == 3
    assert (declaration.cancelled_count, declaration.cancelled_cents) == (1, 10000)

    client.force_login(manager(organisation, Membership.Role.TREASURER))
    page = client.get(f"/gestion/recus/{organisation.slug}/declaration/{year}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "43,27" in html and 'id="receipts-count">3<' in html
    assert "Martin" not in html  # no identities
    exported = client.get(page.request["PATH_INFO"] + "?format=csv").content.decode().removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(exported), delimiter=";"))
    assert rows[0] == ["organisation", "SIREN", "RNA", "année", "nombre de reçus", "montant total (€)"]
    assert rows[1][3:] == [str(year), "3", "43,27"]


def test_treasurers_see_and_export_only_their_organisations_receipts_with_filters(client: Client) -> None:
    mine, other = ready_organisation(), ready_organisation()
    issued = receipts_for(mine, [1000, 2000])
    receipts_for(other, [3000])
    receipt_cancel(receipt_id=issued[0].pk, actor=manager(mine, Membership.Role.ADMIN), reason="Erreur")
    client.force_login(manager(mine, Membership.Role.TREASURER))

    page = client.get("/gestion/recus/")
    assert page.status_code == 200
    assert issued[1].number in page.content.decode() and "30,00" not in page.content.decode()
    # Each number opens its PDF, by the signed link the giver gets (the cancelled one too, marked as such).
    links = dict(re.findall(r'<a href="([^"]+)" type="application/pdf">([^<]+)</a>', page.content.decode()))
    assert sorted(links.values()) == sorted(receipt.number for receipt in issued)
    for link, number in links.items():
        pdf = client.get(urlsplit(html.unescape(link)).path)
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf", number
        assert pdf["Content-Disposition"] == f'inline; filename="recu-fiscal-{number}.pdf"'

    exported = client.get("/gestion/recus/?format=csv&status=cancelled")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode().removeprefix("\ufeff")), delimiter=";"))
    assert [(row["numéro"], row["statut"], row["motif d'annulation"]) for row in rows] == [
        (issued[0].number, "Annulé", "Erreur")
    ]
    assert rows[0]["organisation"] == mine.slug and rows[0]["nom"] == "Martin"

    assert client.get(f"/gestion/recus/{other.slug}/declaration/2026/").status_code == 404
    assert client.get("/gestion/recus/?year=abc").status_code == 400


def test_legal_details_are_edited_by_the_organisations_admins_only(client: Client, settings: Any) -> None:
    organisation = ready_organisation()
    url = f"/gestion/organisations/{organisation.slug}/mentions-legales/"
    client.force_login(manager(organisation))
    assert client.get(url).status_code == 404
    assert client.post(url, {"signatory_name": "Pirate"}).status_code == 404

    client.force_login(manager(organisation, Membership.Role.ADMIN))
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "purpose": "Réemploi et insertion",
            "tax_regime": Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY,
            "qualifying_status": "Association reconnue d'utilité publique",
            "signatory_name": "Jeanne Petit",
            "signatory_title": "Trésorière",
            "receipts_consolidated": "on",
        },
    )
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.signatory_name == "Jeanne Petit" and organisation.receipts_consolidated
    assert organisation.tax_regime == Organisation.TaxRegime.PEOPLE_IN_DIFFICULTY
    bad = client.post(url, {"tax_regime": "zero", "signatory_name": "X"})
    assert bad.status_code == 400


def test_the_list_of_receipts_costs_the_same_queries_for_one_or_many(api: APIClient) -> None:
    person = giver()
    campaign = ready_campaign()
    api.force_authenticate(person)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/me/receipts/").status_code == 200
        return len(captured)

    receipt_issue_for_gift(gift_id=paid_gift(campaign, user=person).pk)
    one = queries()
    for _n in range(4):
        receipt_issue_for_gift(gift_id=paid_gift(ready_campaign(), user=person).pk)
    assert queries() == one


def test_an_admin_cancels_a_receipt_from_the_managers_page_and_a_manager_cannot(client: Client) -> None:
    organisation = ready_organisation()
    [receipt] = receipts_for(organisation, [1500])
    client.force_login(manager(organisation))
    refused = client.post("/gestion/recus/", {"receipt": receipt.pk, "reason": "Erreur"})
    assert refused.status_code == 403
    assert TaxReceipt.objects.get(pk=receipt.pk).status == TaxReceipt.Status.ISSUED

    client.force_login(manager(organisation, Membership.Role.ADMIN))
    assert "Annuler ce reçu" in client.get("/gestion/recus/").content.decode()
    assert client.post("/gestion/recus/", {"receipt": receipt.pk, "reason": ""}).status_code == 400
    done = client.post("/gestion/recus/", {"receipt": receipt.pk, "reason": "Nom mal orthographié"})
    assert done.status_code == 302
    receipt.refresh_from_db()
    assert receipt.status == TaxReceipt.Status.CANCELLED and receipt.cancellation_reason == "Nom mal orthographié"


def test_the_receipts_export_never_lets_a_cell_start_a_formula(client: Client) -> None:
    organisation = ready_organisation()
    (receipt,) = receipts_for(organisation, [1000])
    # What a giver typed as their name ends up in the treasurer's spreadsheet.
    TaxReceipt.objects.filter(pk=receipt.pk).update(
        giver_last_name='=HYPERLINK("http://evil.example","x")', giver_first_names="+33 6", giver_city="@SUM(1)"
    )
    client.force_login(manager(organisation, Membership.Role.TREASURER))
    exported = client.get("/gestion/recus/?format=csv").content.decode().removeprefix("\ufeff")
    (row,) = list(csv.DictReader(io.StringIO(exported), delimiter=";"))
    assert row["nom"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["prénoms"] == "'+33 6"
    assert row["adresse"].endswith("@SUM(1)")  # not at the start of the cell: left alone
    assert row["montant (€)"] == "10,00"  # numbers stay numbers
