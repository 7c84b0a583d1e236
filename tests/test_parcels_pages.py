"""The parcels' pages and API: the organisation's /gestion/colis/ (its own parcels only, late
first; labels merged in one PDF; "shipped"; withdrawals confirmed), a private giver's
/mon-compte/colis/, a label to whoever ships it only, the buyer's order page following the
parcel (status, relay point, tracking number, dates; withdrawal), and GET /api/orders/{id}/
with the buyer's X-Order-Token (forged or another order's → 404) or a manager's session (their
organisation's part only, with its label)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from donations.models import Fulfilment, Order, ShipmentStatus, Withdrawal, WithdrawalStatus
from tests.factories import ItemFactory, UserFactory, manager_of
from tests.parcels_support import FakeCarrier, fake_carrier, parcel_basket, track
from tests.receipts_support import ready_campaign, ready_organisation

pytestmark = pytest.mark.django_db

PAGE = "/gestion/colis/"


@pytest.fixture
def carrier(monkeypatch: Any) -> FakeCarrier:
    return fake_carrier(monkeypatch)


@pytest.fixture
def commits(django_capture_on_commit_callbacks: Any) -> Any:
    return django_capture_on_commit_callbacks


def basket(commits: Any) -> tuple[Order, Fulfilment, Fulfilment]:
    pau, nay = ready_organisation(name="Emmaüs Pau"), ready_organisation(name="Recyclerie Nay")
    items = [
        ItemFactory(title="Lampe", price_cents=1500, weight_grams=800, campaign=ready_campaign(pau)),
        ItemFactory(title="Piano jouet", price_cents=2500, weight_grams=1200, campaign=ready_campaign(nay)),
    ]
    order = parcel_basket(items, commits=commits)
    first, second = order.fulfilments.order_by("organisation__name")
    return order, first, second


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- /gestion/colis/ --------------------------------------------------------------------------------


def test_a_member_sees_the_organisations_parcels_to_pack_late_first_and_never_anothers(
    carrier: FakeCarrier, commits: Any
) -> None:
    _order, pau, _nay = basket(commits)
    later = parcel_basket(
        [ItemFactory(title="Vélo enfant", price_cents=3000, weight_grams=5000, campaign=pau.lines.get().campaign)],
        commits=commits,
    )
    Fulfilment.objects.filter(pk=pau.pk).update(ship_by=timezone.now() - timedelta(hours=1))
    html = signed_in(manager_of(pau.organisation, role="volunteer")).get(PAGE).content.decode()

    assert html.index("Lampe") < html.index("Vélo enfant")  # the late one first
    assert "en retard" in html and "Tabac de la Gare" in html and "800 g" in html
    assert "Piano jouet" not in html
    assert later.fulfilments.get().tracking_number in html


def test_the_labels_of_the_parcels_ticked_come_in_one_pdf_and_shipped_moves_them(
    carrier: FakeCarrier, commits: Any
) -> None:
    _order, pau, _nay = basket(commits)
    other = parcel_basket(
        [ItemFactory(title="Vase", price_cents=900, weight_grams=400, campaign=pau.lines.get().campaign)],
        commits=commits,
    )
    second = other.fulfilments.get()
    client = signed_in(manager_of(pau.organisation))

    response = client.post(PAGE, {"action": "labels", "parcels": [pau.pk, second.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert len(PdfReader(io.BytesIO(response.content)).pages) == 2

    with commits(execute=True):
        response = client.post(PAGE, {"action": "shipped", "parcels": [pau.pk]})
    assert response.status_code == 302
    pau.refresh_from_db()
    assert pau.shipment_status == ShipmentStatus.SHIPPED


@pytest.mark.parametrize(
    "data",
    [
        {"action": "shipped", "parcels": ["abc"]},
        {"action": "shipped", "parcels": ["99999999999999999999999"]},
        {"action": "rm -rf", "parcels": ["1"]},
        {"action": "labels"},
        {"withdrawal": "\x00", "decision": "received"},
        {"withdrawal": "1", "decision": "steal"},
    ],
)
def test_hostile_values_get_a_400_and_move_nothing(carrier: FakeCarrier, commits: Any, data: dict[str, Any]) -> None:
    _order, pau, _nay = basket(commits)
    response = signed_in(manager_of(pau.organisation)).post(PAGE, data)
    assert response.status_code == 400
    assert not Fulfilment.objects.filter(shipment_status=ShipmentStatus.SHIPPED).exists()


def test_another_organisations_parcel_cannot_be_shipped_nor_its_label_read(carrier: FakeCarrier, commits: Any) -> None:
    _order, pau, nay = basket(commits)
    client = signed_in(manager_of(pau.organisation))

    assert client.post(PAGE, {"action": "shipped", "parcels": [nay.pk]}).status_code == 400
    assert client.get(f"/gestion/colis/{nay.pk}/etiquette.pdf").status_code == 404
    assert client.get(f"/gestion/colis/{pau.pk}/etiquette.pdf").content.startswith(b"%PDF")
    assert Client().get(f"/gestion/colis/{pau.pk}/etiquette.pdf").status_code == 302  # sign in first
    assert signed_in(UserFactory()).get(PAGE).status_code == 403
    nay.refresh_from_db()
    assert nay.shipment_status == ShipmentStatus.TO_SHIP


def test_a_private_givers_parcels_are_on_their_own_space_only(carrier: FakeCarrier, commits: Any) -> None:
    _order, pau, _nay = basket(commits)
    person = UserFactory()
    Fulfilment.objects.filter(pk=pau.pk).update(giver=person)

    mine = signed_in(person).get("/mon-compte/colis/").content.decode()
    assert "Lampe" in mine and "Mes colis à envoyer" in mine
    assert "Lampe" not in signed_in(manager_of(pau.organisation)).get(PAGE).content.decode()
    assert "Lampe" not in signed_in(UserFactory()).get("/mon-compte/colis/").content.decode()

    with commits(execute=True):
        response = signed_in(person).post("/mon-compte/colis/", {"action": "shipped", "parcels": [pau.pk]})
    assert response.status_code == 302
    assert Fulfilment.objects.get(pk=pau.pk).shipment_status == ShipmentStatus.SHIPPED


def test_the_page_reads_in_english(carrier: FakeCarrier, commits: Any) -> None:
    _order, pau, _nay = basket(commits)
    html = signed_in(manager_of(pau.organisation)).get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Parcels" in html and "Mark as shipped" in html and "Marquer" not in html


# --- The buyer's page ------------------------------------------------------------------------------


def test_the_buyers_page_follows_the_parcel_and_offers_the_withdrawal_once_delivered(
    carrier: FakeCarrier, commits: Any
) -> None:
    _order, pau, _nay = basket(commits)
    page = f"/retrait/{pau.claim_token}/"

    html = Client().get(page).content.decode()
    assert "À expédier" in html and "Tabac de la Gare" in html and "Votre code de retrait" not in html
    assert pau.tracking_number in html or Fulfilment.objects.get(pk=pau.pk).tracking_number in html

    assert track(pau, "delivered", commits=commits)
    html = Client().get(page).content.decode()
    assert "Livré" in html and "Renvoyer des objets" in html

    english = Client().get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Delivered" in english and "Send objects back" in english

    line = pau.lines.get()
    with commits(execute=True):
        response = Client().post(f"{page}retractation/", {"lines": [line.pk], "reason": "<script>x</script>"})
    assert response.status_code == 302
    assert Withdrawal.objects.get().status == WithdrawalStatus.REQUESTED
    assert "Rétractation du" in Client().get(page).content.decode()


def test_the_withdrawal_page_refuses_past_the_window_and_hostile_lines(carrier: FakeCarrier, commits: Any) -> None:
    _order, pau, nay = basket(commits)
    assert track(pau, "delivered", commits=commits)
    page = f"/retrait/{pau.claim_token}/retractation/"

    assert Client().post(page, {"lines": [nay.lines.get().pk]}).status_code == 400
    assert Client().post(page, {"lines": ["x"], "reason": "a" * 5000}).status_code == 400
    Fulfilment.objects.filter(pk=pau.pk).update(delivered_at=timezone.now() - timedelta(days=30))
    html = Client().get(page).content.decode()
    assert "a pris fin" in html
    assert Client().post(page, {"lines": [pau.lines.get().pk]}).status_code == 400
    assert Client().get("/retrait/forged-token-forged-token/retractation/").status_code == 404
    assert not Withdrawal.objects.exists()


def test_confirming_a_withdrawal_on_the_parcels_page_refunds_it(carrier: FakeCarrier, commits: Any) -> None:
    order, pau, _nay = basket(commits)
    assert track(pau, "delivered", commits=commits)
    Client().post(f"/retrait/{pau.claim_token}/retractation/", {"lines": [pau.lines.get().pk]})
    withdrawal = Withdrawal.objects.get()
    client = signed_in(manager_of(pau.organisation))
    assert "Objets reçus : rembourser" in client.get(PAGE).content.decode()

    with commits(execute=True):
        response = client.post(PAGE, {"withdrawal": withdrawal.pk, "decision": "received"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.refunded_cents >= 1500
    # Another organisation's withdrawal is not among the choices: refused, and it stays received.
    stranger = signed_in(manager_of(ready_organisation(name="Autre")))
    assert stranger.post(PAGE, {"withdrawal": withdrawal.pk, "decision": "cancelled"}).status_code == 400
    assert Withdrawal.objects.get().status == WithdrawalStatus.RECEIVED


# --- GET /api/orders/{id}/ -------------------------------------------------------------------------------


def test_the_buyer_follows_every_shipment_with_the_order_token_and_never_sees_a_label(
    carrier: FakeCarrier, commits: Any
) -> None:
    order, pau, nay = basket(commits)
    pau.refresh_from_db()
    response = APIClient().get(f"/api/orders/{order.pk}/", HTTP_X_ORDER_TOKEN=nay.claim_token)
    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == order.pk and body["total_cents"] == order.amount_cents
    shipments = {shipment["fulfilment_id"]: shipment for shipment in body["shipments"]}
    assert shipments[pau.pk]["status"] == "to_ship"
    assert shipments[pau.pk]["tracking_number"] == pau.tracking_number
    assert shipments[pau.pk]["relay_point"]["id"] == "DEMO-75004-00"
    assert all(shipment["label_url"] is None for shipment in body["shipments"])
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    "token",
    ["", "forged-token-forged-token-forged", "x" * 5000, "'; DROP TABLE donations_order; --", "\u0000" * 20, "é" * 30],
)
def test_a_forged_token_gets_the_answer_of_a_missing_order(carrier: FakeCarrier, commits: Any, token: str) -> None:
    order, _pau, _nay = basket(commits)
    response = APIClient().get(f"/api/orders/{order.pk}/", HTTP_X_ORDER_TOKEN=token)
    missing = APIClient().get("/api/orders/999999/", HTTP_X_ORDER_TOKEN=token)
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json() | {"detail": response.json()["detail"]}


def test_another_orders_token_opens_nothing(carrier: FakeCarrier, commits: Any) -> None:
    order, _pau, _nay = basket(commits)
    other = parcel_basket([ItemFactory(price_cents=700, weight_grams=200)], commits=commits)
    token = other.fulfilments.get().claim_token
    assert APIClient().get(f"/api/orders/{order.pk}/", HTTP_X_ORDER_TOKEN=token).status_code == 404


def test_a_manager_sees_their_organisations_part_only_with_its_label(carrier: FakeCarrier, commits: Any) -> None:
    order, pau, _nay = basket(commits)
    api = APIClient()
    api.force_authenticate(manager_of(pau.organisation, role="volunteer"))
    body = api.get(f"/api/orders/{order.pk}/").json()
    assert [shipment["fulfilment_id"] for shipment in body["shipments"]] == [pau.pk]
    assert body["shipments"][0]["label_url"] == f"/gestion/colis/{pau.pk}/etiquette.pdf"
    assert body["items_cents"] == 1500 and body["shipping_cents"] == pau.shipping_cents

    outsider = APIClient()
    outsider.force_authenticate(manager_of(ready_organisation(name="Ailleurs")))
    assert outsider.get(f"/api/orders/{order.pk}/").status_code == 404
    assert APIClient().get(f"/api/orders/{order.pk}/").status_code == 404
    assert APIClient().get("/api/orders/99999999999999999999/").status_code == 404


def test_the_orders_list_says_where_a_parcel_is_not_that_it_waits_to_be_handed_over(
    carrier: FakeCarrier, commits: Any
) -> None:
    order, pau, _nay = basket(commits)
    manager = manager_of(pau.organisation)
    page = signed_in(manager).get(f"/gestion/commandes/commande/{order.pk}/").content.decode()
    assert "Colis : À expédier" in page and "À remettre" not in page
    Fulfilment.objects.filter(pk=pau.pk).update(shipment_status=ShipmentStatus.SHIPPED)
    listing = signed_in(manager).get("/gestion/commandes/").content.decode()
    assert "Colis : Expédié" in listing and "À remettre" not in listing
    english = signed_in(manager).get("/gestion/commandes/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Parcel: Shipped" in english
