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

from checkout.services import order_start
from donations.models import Fulfilment, Item, ItemStatus, ItemTransition, Order
from receipts.models import TaxReceipt
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, UserFactory, manager_of
from tests.receipts_support import giver, paid_gift, paid_order, pay, ready_campaign
from tests.support.decoding import decode, svg_to_image

pytestmark = pytest.mark.django_db


def claim_url(part: Fulfilment) -> str:
    return f"/retrait/{part.claim_token}/"


def hand_over_url(part: Fulfilment) -> str:
    return f"/retrait/{part.claim_token}/remise/"


@pytest.fixture
def part() -> Fulfilment:
    """The one organisation's part of a paid one-object order."""
    return paid_order(ItemFactory(title="Lampe de bureau", price_cents=2450)).fulfilments.select_related("order").get()


def paid_basket(*items: Item) -> Order:
    order = order_start(item_ids=[item.pk for item in items], email="passant@example.org")
    pay(order)
    return Order.objects.get(pk=order.pk)


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

    part = Fulfilment.objects.get()
    assert f'<p class="claim-code" translate="no">{part.claim_code}</p>' in html
    assert f'src="/retrait/{part.claim_token}/qr.svg"' in html
    assert f'href="http://testserver/retrait/{part.claim_token}/"' in html
    assert "24,50\u00a0€" in html and "Lampe de bureau" in html
    assert html.count("<h1") == 1 and html.count('class="claim-code"') == 1
    # The confirmation email carries the same lasting link.
    (receipt,) = [message for message in mail.outbox if message.to == ["passant@example.org"]]
    assert f"http://testserver/retrait/{part.claim_token}/" in receipt.body and part.claim_code in receipt.body
    assert receipt.subject == "Votre achat sur Trëmma : Lampe de bureau"


def test_a_basket_of_two_organisations_has_one_claim_page_each_with_only_its_own_objects(client: Client) -> None:
    north = CampaignFactory(title="Atelier vélo", organisation=OrganisationFactory(name="Emmaüs Nord"))
    south = CampaignFactory(title="Toit d'hiver", organisation=OrganisationFactory(name="Emmaüs Sud"))
    lamp = ItemFactory(campaign=north, title="Lampe", price_cents=1250)
    chair = ItemFactory(campaign=north, title="Chaise", price_cents=800)
    teapot = ItemFactory(campaign=south, title="Théière", price_cents=2400)
    order = paid_basket(lamp, teapot, chair)
    nord = order.fulfilments.get(organisation=north.organisation)
    sud = order.fulfilments.get(organisation=south.organisation)

    page = client.get(claim_url(nord)).content.decode().replace("&#x27;", "'")

    assert "Vos objets à retirer chez Emmaüs Nord" in page
    assert "« Lampe », 12,50\u00a0€" in page and "« Chaise », 8,00\u00a0€" in page and "Théière" not in page
    assert "Le prix va entièrement au projet « Atelier vélo »." in page
    assert nord.claim_code in page and sud.claim_code not in page  # the other part is not this page's
    assert f"/retrait/{nord.claim_token}/qr.svg" in page and sud.claim_token not in page
    other = client.get(claim_url(sud)).content.decode()
    assert "Votre objet à retirer chez Emmaüs Sud" in other and "Lampe" not in other and sud.claim_code in other
    (barcode,) = decode(svg_to_image(client.get(f"{claim_url(sud)}qr.svg").content))
    assert barcode.text == f"{settings.SITE_URL}/retrait/{sud.claim_token}/remise/"


def test_a_line_refunded_on_its_own_is_marked_on_the_claim_page(client: Client) -> None:
    campaign = CampaignFactory()
    lamp, chair = ItemFactory(campaign=campaign, title="Lampe"), ItemFactory(campaign=campaign, title="Chaise")
    order = paid_basket(lamp, chair)
    line = order.lines.get(item=chair)
    type(line).objects.filter(pk=line.pk).update(refunded_cents=line.amount_cents)

    page = client.get(claim_url(order.fulfilments.get())).content.decode()

    chair_line = page.split(f'data-line="{line.pk}"')[1].split("</li>")[0]
    assert "Chaise" in chair_line and "remboursé" in chair_line
    assert "remboursé" not in page.split(f'data-line="{order.lines.get(item=lamp).pk}"')[1].split("</li>")[0]


def test_the_claim_page_says_what_was_bought_where_to_collect_it_and_that_a_purchase_is_no_gift(
    client: Client, part: Fulfilment
) -> None:
    response = client.get(claim_url(part))

    html = response.content.decode()
    organisation = part.organisation
    assert response.status_code == 200
    assert "Lampe de bureau" in html and "24,50\u00a0€" in html
    assert part.claim_code in html and f"/retrait/{part.claim_token}/qr.svg" in html
    assert organisation.address_line1 in html and organisation.city in html
    assert "n'ouvre pas droit à un reçu fiscal" in html.replace("&#x27;", "'")
    assert "/recus/" not in html  # a buyer is never receipted
    assert html.count("<h1") == 1
    # The address is the secret: nobody caches or indexes it.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"


def test_the_claim_qr_decodes_to_the_hand_over_address_and_is_drawn_once(
    client: Client, part: Fulfilment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qr import rendering

    drawn: list[str] = []
    real_svg = rendering._svg
    monkeypatch.setattr(rendering, "_svg", lambda data: drawn.append(data) or real_svg(data))

    first = client.get(f"{claim_url(part)}qr.svg")
    second = client.get(f"{claim_url(part)}qr.svg")

    assert first.status_code == 200 and first["Content-Type"] == "image/svg+xml"
    assert second.content == first.content and len(drawn) == 1
    (barcode,) = decode(svg_to_image(first.content))
    assert barcode.text == f"{settings.SITE_URL}/retrait/{part.claim_token}/remise/"


def test_a_made_up_token_or_another_orders_token_shows_nothing_of_this_order(client: Client, part: Fulfilment) -> None:
    other = paid_order(ItemFactory(title="Tabouret")).fulfilments.get()

    assert client.get("/retrait/AAAAAAAAAAAAAAAAAAAAAA/").status_code == 404
    assert client.get("/retrait/AAAAAAAAAAAAAAAAAAAAAA/qr.svg").status_code == 404
    assert client.get(f"/retrait/{part.claim_code}/").status_code == 404  # the code is not the token
    page = client.get(claim_url(other)).content.decode()
    assert "Tabouret" in page and part.claim_code not in page and "Lampe de bureau" not in page


def test_an_unpaid_order_has_no_code_and_no_qr_yet(client: Client) -> None:
    pending = order_start(item_ids=[ItemFactory().pk], email="a@example.org").fulfilments.get()

    html = client.get(claim_url(pending)).content.decode()

    assert pending.claim_code not in html and "en cours de confirmation" in html
    assert client.get(f"{claim_url(pending)}qr.svg").status_code == 404


def test_a_manager_of_the_organisation_confirms_the_hand_over_from_the_scanned_address(
    client: Client, part: Fulfilment, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(manager_of(part.organisation))
    page = client.get(hand_over_url(part))
    assert page.status_code == 200 and "Confirmer la remise" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(hand_over_url(part))

    assert done.status_code == 302 and done["Location"] == hand_over_url(part)
    part.refresh_from_db()
    assert part.handed_over_at is not None
    item_id = part.lines.get().item_id
    assert Item.objects.get(pk=item_id).status == ItemStatus.HANDED_OVER
    assert "Remise enregistrée" in client.get(hand_over_url(part)).content.decode()
    # The buyer's page now says it is done, and shows no code to use again.
    buyer_page = client.get(claim_url(part)).content.decode()
    assert "Remis le" in buyer_page and "qr.svg" not in buyer_page and part.claim_code not in buyer_page


def test_confirming_twice_changes_nothing_and_says_why(client: Client, part: Fulfilment) -> None:
    client.force_login(manager_of(part.organisation))
    client.post(hand_over_url(part))
    handed_over_at = Fulfilment.objects.get(pk=part.pk).handed_over_at

    again = client.post(hand_over_url(part))

    assert again.status_code == 409
    assert "déjà remis" in again.content.decode()
    assert Fulfilment.objects.get(pk=part.pk).handed_over_at == handed_over_at
    item_id = part.lines.get().item_id
    assert ItemTransition.objects.filter(item_id=item_id, to_status=ItemStatus.HANDED_OVER).count() == 1


def test_a_manager_of_another_organisation_or_a_buyer_cannot_open_or_confirm(client: Client, part: Fulfilment) -> None:
    stranger = manager_of(ready_campaign().organisation)
    for person in (stranger, UserFactory()):
        client.force_login(person)
        assert client.get(hand_over_url(part)).status_code == 404
        assert client.post(hand_over_url(part)).status_code == 404
    client.logout()
    anonymous = client.post(hand_over_url(part))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/comptes/connexion/")
    assert Fulfilment.objects.get(pk=part.pk).handed_over_at is None
    assert Item.objects.get(pk=part.lines.get().item_id).status == ItemStatus.SOLD


def test_the_hand_over_needs_the_csrf_token(part: Fulfilment) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager_of(part.organisation))

    assert client.post(hand_over_url(part)).status_code == 403
    page = client.get(hand_over_url(part)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    assert client.post(hand_over_url(part), {"csrfmiddlewaretoken": token.group(1)}).status_code == 302
    assert Fulfilment.objects.get(pk=part.pk).handed_over_at is not None


def test_the_claim_and_hand_over_pages_are_in_english_for_an_english_browser(client: Client, part: Fulfilment) -> None:
    html = client.get(claim_url(part), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html
    assert "Your collection code" in html and "€24.50" in html
    assert f"Your item to collect at {part.organisation.name}" in html
    assert "Votre code de retrait" not in html

    client.force_login(manager_of(part.organisation))
    page = client.get(hand_over_url(part), HTTP_ACCEPT_LANGUAGE="en").content.decode()
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
