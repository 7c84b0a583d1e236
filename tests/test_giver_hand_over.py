"""A private giver keeps a sold object at home and hands it over in person: the buyer is told the
giver's first name and town (never an address), and the giver's space ("Remettre un objet") takes
the buyer's claim code, which starts the same clock as the organisation's hand-over. The item page
says how each object can reach its buyer, with parcel prices from the carrier's tariff."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.core import mail, signing
from django.core.cache import cache
from django.test import Client

from checkout.selectors import fulfilment_claim_url
from checkout.services import fulfilment_hand_over, order_start
from delivery.carriers import CarrierError
from delivery.demo_carrier import DemoCarrier
from donations.models import Fulfilment, Item, ItemStatus
from tests.factories import ItemFactory, manager_of
from tests.receipts_support import giver, pay, ready_campaign

pytestmark = pytest.mark.django_db

HAND_OVER = "/mon-compte/remettre/"


def kept_sale(django_capture_on_commit_callbacks: Any, *, seller: Any = None, **item_fields: Any) -> Fulfilment:
    """An object its private giver keeps in Pau, bought and paid: the part of the order the giver hands over."""
    seller = seller or giver(first_name="Louise", address_line1="3 rue des Lilas", postal_code="64000", city="Pau")
    item_fields.setdefault("campaign", ready_campaign())
    item = ItemFactory(
        owner=seller, postal_code="64000", title=item_fields.pop("title", "Théière en fonte"), **item_fields
    )
    order = order_start(item_ids=[item.pk], email="buyer@example.org")
    # Order creation puts the objects a private giver keeps in that giver's own part of the order
    # (one fulfilment per sender); said here so this test stands on its own.
    Fulfilment.objects.filter(order=order).update(giver=seller)
    with django_capture_on_commit_callbacks(execute=True):
        pay(order)
    return Fulfilment.objects.select_related("order", "giver", "organisation").get(order=order)


def test_the_giver_confirms_the_hand_over_with_the_buyers_code(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    part = kept_sale(django_capture_on_commit_callbacks)
    client.force_login(part.giver)
    page = client.get("/mon-compte/").content.decode()
    assert "Remettre un objet" in page and "Théière en fonte" in page and "buyer@example.org" in page

    typed = " " + "-".join([part.claim_code[:4].lower(), part.claim_code[4:]]) + " "
    response = client.post(HAND_OVER, {"code": typed})
    assert response.status_code == 302 and response["Location"].endswith("/mon-compte/#remettre")
    part.refresh_from_db()
    assert part.handed_over_at is not None  # the return period starts, as at the organisation's
    assert Item.objects.get(title="Théière en fonte").status == ItemStatus.HANDED_OVER
    assert "Remise enregistrée" in client.get("/mon-compte/").content.decode()


def test_a_wrong_code_is_a_field_error_and_nothing_is_handed_over(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    part = kept_sale(django_capture_on_commit_callbacks)
    client.force_login(part.giver)
    for typed in ("WRONG1", "", "é" * 30, "x" * 41, "' OR 1=1 --"):
        response = client.post(HAND_OVER, {"code": typed})
        assert response.status_code == 400, typed
        assert 'id="id_code_error"' in response.content.decode() or "errorlist" in response.content.decode()
    part.refresh_from_db()
    assert part.handed_over_at is None


def test_another_givers_code_or_the_organisations_finds_nothing(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    mine = kept_sale(django_capture_on_commit_callbacks)
    other = kept_sale(django_capture_on_commit_callbacks, seller=giver(first_name="Paul"), title="Vase")
    organisations_part = Fulfilment.objects.get(order=order_start(item_ids=[ItemFactory().pk], email="b@example.org"))
    client.force_login(mine.giver)
    for code in (other.claim_code, organisations_part.claim_code):
        response = client.post(HAND_OVER, {"code": code})
        assert response.status_code == 400
        assert "Code inconnu" in response.content.decode()
    other.refresh_from_db()
    assert other.handed_over_at is None


def test_failed_codes_are_throttled_then_even_the_right_one_waits(
    client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SIGN_IN_FAILURES_PER_EMAIL = 3
    part = kept_sale(django_capture_on_commit_callbacks)
    client.force_login(part.giver)
    for _attempt in range(3):
        assert client.post(HAND_OVER, {"code": "NOPE"}).status_code == 400
    response = client.post(HAND_OVER, {"code": part.claim_code})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    part.refresh_from_db()
    assert part.handed_over_at is None


def test_signing_in_is_needed_and_a_get_is_not_a_hand_over(client: Client) -> None:
    assert client.post(HAND_OVER, {"code": "ABC"}).status_code == 302  # to the sign-in page
    client.force_login(giver())
    assert client.get(HAND_OVER).status_code == 405


def test_the_organisation_still_sees_it_and_may_hand_it_over(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    part = kept_sale(django_capture_on_commit_callbacks)
    member = manager_of(part.organisation)
    client.force_login(member)
    page = client.get("/gestion/retraits/").content.decode()
    assert "Théière en fonte" in page and "Chez le donateur, qui le remet en main propre" in page
    fulfilment_hand_over(fulfilment=part, claim_code=part.claim_code, actor=member)
    part.refresh_from_db()
    assert part.handed_over_at is not None


def test_nobody_else_hands_over_a_givers_part() -> None:
    from kernel.errors import NotFound, PermissionDenied

    part_owner = giver()
    item = ItemFactory(owner=part_owner, postal_code="64000")
    order = order_start(item_ids=[item.pk], email="buyer@example.org")
    Fulfilment.objects.filter(order=order).update(giver=part_owner)
    pay(order)
    part = Fulfilment.objects.get(order=order)
    with pytest.raises((PermissionDenied, NotFound)):
        fulfilment_hand_over(fulfilment=part, claim_code=part.claim_code, actor=giver(first_name="Paul"))


# --- What the buyer is told ------------------------------------------------------------------------------


def test_the_buyer_is_told_the_givers_first_name_and_town_never_an_address(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    part = kept_sale(django_capture_on_commit_callbacks)
    claim = client.get(fulfilment_claim_url(part).removeprefix("http://testserver")).content.decode()
    assert "Louise" in claim and "Pau" in claim
    assert "3 rue des Lilas" not in claim and part.organisation.address_line1 not in claim
    assert "vous attendent" not in claim and "à retirer chez" not in claim
    assert part.claim_code in claim

    (receipt,) = [m for m in mail.outbox if m.to == ["buyer@example.org"]]
    assert "Remis en main propre par Louise à Pau" in receipt.body
    assert "3 rue des Lilas" not in receipt.body and "présentez ce code à" not in receipt.body
    (sold,) = [m for m in mail.outbox if m.to == [part.giver.email]]
    assert "/mon-compte/#remettre" in sold.body and "buyer@example.org" in sold.body


def test_the_thanks_page_says_who_hands_it_over(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    part = kept_sale(django_capture_on_commit_callbacks)
    ref = signing.dumps({"kind": "order", "id": part.order_id}, salt="tremma.payment-return")
    html = client.get(f"/paiement/merci/?{urlencode({'ref': ref})}").content.decode()
    assert "Remis en main propre par Louise à Pau" in html
    assert "3 rue des Lilas" not in html and "À retirer chez" not in html
    english = client.get(f"/paiement/merci/?{urlencode({'ref': ref})}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Handed over in person by Louise in Pau" in english


# --- The item page -----------------------------------------------------------------------------------------


def test_the_item_page_says_each_way_with_parcel_prices(client: Client) -> None:
    cache.clear()
    seller = giver(first_name="Louise", postal_code="64000", city="Pau")
    kept = ItemFactory(owner=seller, postal_code="64000", category="books", weight_grams=900, ships=True)
    html = client.get(kept.get_absolute_url()).content.decode()
    assert "Remise en main propre par le donateur à Pau" in html
    assert "Envoi en point relais" in html and "dès 4,90" in html  # the demo tariff up to 1 kg
    assert "Livraison à domicile" not in html and "3 rue" not in html

    standing = ItemFactory(category="books", weight_grams=1500, ships=True)
    html = client.get(standing.get_absolute_url()).content.decode()
    assert f"Retrait à {standing.campaign.organisation.name}" in html
    assert "Livraison à domicile" in html and "dès 8,90" in html

    bulky = ItemFactory(category="furniture", weight_grams=30_000)
    html = client.get(bulky.get_absolute_url()).content.decode()
    assert "Retrait à" in html and "Envoi en point relais" not in html


def test_the_item_page_in_english(client: Client) -> None:
    cache.clear()
    seller = giver(postal_code="64000", city="Pau")
    kept = ItemFactory(owner=seller, postal_code="64000", category="books", weight_grams=900, ships=True)
    html = client.get(kept.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Handed over in person by the giver in Pau" in html
    assert "Sent to a relay point" in html and "from €4.90" in html
    assert "How to get it" in html


def test_a_carrier_that_is_down_costs_the_page_only_its_price_and_is_not_asked_at_every_view(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.clear()
    calls: list[int] = []

    def down(self: DemoCarrier, **kwargs: Any) -> int:
        calls.append(kwargs["weight_grams"])
        raise CarrierError("connection refused")

    monkeypatch.setattr(DemoCarrier, "quote_cents", down)
    item = ItemFactory(category="books", weight_grams=900, ships=True)
    for _view in range(3):
        response = client.get(item.get_absolute_url())
        assert response.status_code == 200
        html = response.content.decode()
        assert "Envoi en point relais" in html and "dès" not in html
        assert "frais de port calculés dans le panier" in html
    assert len(calls) == 2  # relay and home once each, then remembered for a minute


def test_a_quote_is_asked_once_per_weight_and_method(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.clear()
    calls: list[str] = []
    original = DemoCarrier.quote_cents

    def counted(self: DemoCarrier, **kwargs: Any) -> int:
        calls.append(kwargs["method"])
        return original(self, **kwargs)

    monkeypatch.setattr(DemoCarrier, "quote_cents", counted)
    first, second = (ItemFactory(category="books", weight_grams=900, ships=True) for _ in range(2))
    client.get(first.get_absolute_url())
    client.get(second.get_absolute_url())
    assert sorted(calls) == ["home", "relay"]


def test_the_buyers_space_says_who_hands_it_over(client: Client) -> None:
    seller = giver(first_name="Louise", postal_code="64000", city="Pau")
    buyer = giver(first_name="Paul", email="paul@example.org")
    item = ItemFactory(owner=seller, postal_code="64000", campaign=ready_campaign())
    order = order_start(item_ids=[item.pk], email=buyer.email, user=buyer)
    Fulfilment.objects.filter(order=order).update(giver=seller)
    pay(order)
    client.force_login(buyer)
    page = client.get("/mon-compte/").content.decode()
    assert "Remis en main propre par Louise à Pau" in page and "3 rue des Lilas" not in page
