"""The buyer's claim page (claim code, claim QR, where to collect) and the
hand-over page the claim QR opens on a manager's phone."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core import mail, signing
from django.test import Client

from donations.models import Item, ItemStatus, ItemTransition, Order
from receipts.models import TaxReceipt
from tests.factories import ItemFactory, UserFactory, manager_of
from tests.receipts_support import giver, paid_gift, paid_order, ready_campaign
from tests.support.decoding import decode, svg_to_image

pytestmark = pytest.mark.django_db


def claim_url(order: Order) -> str:
    return f"/retrait/{order.claim_token}/"


def hand_over_url(order: Order) -> str:
    return f"/retrait/{order.claim_token}/remise/"


@pytest.fixture
def order() -> Order:
    return paid_order(ItemFactory(title="Lampe de bureau", price_cents=2450))


def test_paying_on_the_demo_page_lands_on_a_success_page_with_the_claim_code_qr_and_lasting_link(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory(title="Lampe de bureau", price_cents=2450)
    checkout = client.post(f"/objets/{item.pk}/acheter/", {"email": "passant@example.org"})
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(checkout["Location"].removeprefix("http://testserver"), {"card_number": "4242424242424242"})

    success = client.get(paid["Location"])
    html = success.content.decode()
    assert "no-store" in success["Cache-Control"]

    order = Order.objects.get()
    assert f'<p class="claim-code" translate="no">{order.claim_code}</p>' in html
    assert f'src="/retrait/{order.claim_token}/qr.svg"' in html
    assert f'href="http://testserver/retrait/{order.claim_token}/"' in html
    assert "24,50\u00a0€" in html and "Lampe de bureau" in html
    # The confirmation email carries the same lasting link.
    (receipt,) = [message for message in mail.outbox if message.to == ["passant@example.org"]]
    assert f"http://testserver/retrait/{order.claim_token}/" in receipt.body and order.claim_code in receipt.body


def test_the_claim_page_says_what_was_bought_where_to_collect_it_and_that_a_purchase_is_no_gift(
    client: Client, order: Order
) -> None:
    response = client.get(claim_url(order))

    html = response.content.decode()
    organisation = order.campaign.organisation
    assert response.status_code == 200
    assert "Lampe de bureau" in html and "24,50\u00a0€" in html
    assert order.claim_code in html and f"/retrait/{order.claim_token}/qr.svg" in html
    assert organisation.address_line1 in html and organisation.city in html
    assert "n'ouvre pas droit à un reçu fiscal" in html.replace("&#x27;", "'")
    assert "/recus/" not in html  # a buyer is never receipted
    assert html.count("<h1") == 1
    # The address is the secret: nobody caches or indexes it.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"


def test_the_claim_qr_decodes_to_the_hand_over_address_and_is_drawn_once(
    client: Client, order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qr import rendering

    drawn: list[str] = []
    real_svg = rendering._svg
    monkeypatch.setattr(rendering, "_svg", lambda data: drawn.append(data) or real_svg(data))

    first = client.get(f"{claim_url(order)}qr.svg")
    second = client.get(f"{claim_url(order)}qr.svg")

    assert first.status_code == 200 and first["Content-Type"] == "image/svg+xml"
    assert second.content == first.content and len(drawn) == 1
    (barcode,) = decode(svg_to_image(first.content))
    assert barcode.text == f"{settings.SITE_URL}/retrait/{order.claim_token}/remise/"


def test_a_made_up_token_or_another_orders_token_shows_nothing_of_this_order(client: Client, order: Order) -> None:
    other = paid_order(ItemFactory(title="Tabouret"))

    assert client.get("/retrait/AAAAAAAAAAAAAAAAAAAAAA/").status_code == 404
    assert client.get("/retrait/AAAAAAAAAAAAAAAAAAAAAA/qr.svg").status_code == 404
    assert client.get(f"/retrait/{order.claim_code}/").status_code == 404  # the code is not the token
    page = client.get(claim_url(other)).content.decode()
    assert "Tabouret" in page and order.claim_code not in page and "Lampe de bureau" not in page


def test_an_unpaid_order_has_no_code_and_no_qr_yet(client: Client) -> None:
    from checkout.services import order_start

    pending = order_start(item_id=ItemFactory().pk, email="a@example.org")

    html = client.get(claim_url(pending)).content.decode()

    assert pending.claim_code not in html and "en cours de confirmation" in html
    assert client.get(f"{claim_url(pending)}qr.svg").status_code == 404


def test_a_manager_of_the_organisation_confirms_the_hand_over_from_the_scanned_address(
    client: Client, order: Order, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(manager_of(order.campaign.organisation))
    page = client.get(hand_over_url(order))
    assert page.status_code == 200 and order.claim_code in page.content.decode()
    assert "Confirmer la remise" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(hand_over_url(order))

    assert done.status_code == 302 and done["Location"] == hand_over_url(order)
    order.refresh_from_db()
    assert order.handed_over_at is not None
    assert Item.objects.get(pk=order.item_id).status == ItemStatus.HANDED_OVER
    after = client.get(hand_over_url(order)).content.decode()
    assert "Remise enregistrée" in after and "Objet déjà remis" in after and "Confirmer la remise" not in after
    # The buyer's page now says it is done, and shows no code to use again.
    buyer_page = client.get(claim_url(order)).content.decode()
    assert "Objet remis le" in buyer_page and "qr.svg" not in buyer_page


def test_confirming_twice_changes_nothing_and_says_why(client: Client, order: Order) -> None:
    client.force_login(manager_of(order.campaign.organisation))
    client.post(hand_over_url(order))
    handed_over_at = Order.objects.get(pk=order.pk).handed_over_at

    again = client.post(hand_over_url(order))

    assert again.status_code == 409
    assert "déjà remis" in again.content.decode()
    assert Order.objects.get(pk=order.pk).handed_over_at == handed_over_at
    assert ItemTransition.objects.filter(item_id=order.item_id, to_status=ItemStatus.HANDED_OVER).count() == 1


def test_a_manager_of_another_organisation_or_a_buyer_cannot_open_or_confirm(client: Client, order: Order) -> None:
    stranger = manager_of(ready_campaign().organisation)
    for person in (stranger, UserFactory()):
        client.force_login(person)
        assert client.get(hand_over_url(order)).status_code == 404
        assert client.post(hand_over_url(order)).status_code == 404
    client.logout()
    anonymous = client.post(hand_over_url(order))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/comptes/connexion/")
    assert Order.objects.get(pk=order.pk).handed_over_at is None
    assert Item.objects.get(pk=order.item_id).status == ItemStatus.SOLD


def test_the_hand_over_needs_the_csrf_token(order: Order) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager_of(order.campaign.organisation))

    assert client.post(hand_over_url(order)).status_code == 403
    page = client.get(hand_over_url(order)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    assert client.post(hand_over_url(order), {"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    assert Order.objects.get(pk=order.pk).handed_over_at is not None


def test_the_claim_and_hand_over_pages_are_in_english_for_an_english_browser(client: Client, order: Order) -> None:
    html = client.get(claim_url(order), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html
    assert "Your collection code" in html and "€24.50" in html
    assert "Votre code de retrait" not in html

    client.force_login(manager_of(order.campaign.organisation))
    page = client.get(hand_over_url(order), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Confirm the hand-over" in page and "Confirmer la remise" not in page


def test_a_giver_back_from_paying_finds_the_link_to_their_tax_receipt(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gift = paid_gift(ready_campaign(), 5000, user=giver())
    assert TaxReceipt.objects.filter(lines__gift=gift).exists()
    ref = signing.dumps({"kind": "gift", "id": gift.pk}, salt="tremma.payment-return")

    html = client.get(f"/paiement/merci/?{urlencode({'ref': ref})}").content.decode()

    link = re.search(r'href="http://testserver(/recus/[^"]+\.pdf)"', html)
    assert link is not None and "reçu fiscal" in html
    pdf = client.get(link.group(1))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_existing_order_its_own_claim_token() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = ("donations", "0004_merge_20261127_1315"), ("donations", "0005_order_claim_token")
    first, second = paid_order(ItemFactory()), paid_order(ItemFactory())
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    assert "claim_token" not in {
        f.name for f in executor.loader.project_state([before]).apps.get_model("donations", "Order")._meta.fields
    }

    executor = MigrationExecutor(connection)
    executor.migrate([after])
    # Back to the latest state of every app, whatever migrations come after this one.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    tokens = list(Order.objects.values_list("claim_token", flat=True))
    assert len(tokens) == 2 and len(set(tokens)) == 2 and all(len(token) >= 22 for token in tokens)
    assert {first.pk, second.pk} == set(Order.objects.values_list("pk", flat=True))
