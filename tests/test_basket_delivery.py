"""The basket page's delivery (checkout/basket.py): per part, the ways all its objects
allow; a relay point found by postal code and chosen from a list, a home address, each
a plain form round trip (keyboard, no JavaScript); the price of each parcel and the total
before "Payer"; errors beside their fields, in French and English; the choice kept while
the basket changes; and the thanks page saying where each parcel goes."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from accounts.models import User
from delivery.carriers import CarrierError
from delivery.demo_carrier import DemoCarrier
from donations.models import Item, ItemStatus, Order, Reservation
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = "passant@example.org"
ADDRESS = {"name": "Camille Martin", "address_line1": "3 rue des Lilas", "postal_code": "64000", "city": "Pau"}


def add(client: Client, *items: Item) -> None:
    for item in items:
        client.post(f"/panier/ajouter/{item.pk}/")


def local(path: str) -> str:
    return path.removeprefix("http://testserver")


def page_form(html: str) -> dict[str, Any]:
    """What the page's "Payer" form sends as rendered: its items and the shipping it shows."""
    return {
        "items": re.findall(r'name="items" value="(\d+)"', html),
        "shipping_cents": re.search(r'name="shipping_cents" value="(\d+)"', html).group(1),  # type: ignore[union-attr]
    }


def text(response: Any) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


@pytest.fixture
def parts() -> dict[str, Any]:
    """A lamp collected at Emmaüs Nord, a teapot La Boucle ships, a book a private giver ships."""
    north = OrganisationFactory(name="Emmaüs Nord")
    boucle = OrganisationFactory(name="Ressourcerie La Boucle")
    giver = UserFactory()
    return {
        "north": north,
        "boucle": boucle,
        "giver": giver,
        "lamp": ItemFactory(campaign=CampaignFactory(organisation=north), title="Lampe", price_cents=1250),
        "teapot": ItemFactory(
            campaign=CampaignFactory(organisation=boucle),
            title="Théière",
            price_cents=2400,
            ships=True,
            weight_grams=800,
        ),
        "book": ItemFactory(
            campaign=CampaignFactory(organisation=north),
            title="Livre",
            price_cents=500,
            ships=True,
            weight_grams=400,
            owner=giver,
            donor=giver,
            postal_code="33000",
        ),
    }


def slug(organisation_id: int, giver: User | None = None) -> str:
    return f"o{organisation_id}" if giver is None else f"o{organisation_id}-g{giver.pk}"


def test_each_part_offers_the_ways_all_its_objects_allow(client: Client, parts: dict[str, Any]) -> None:
    add(client, parts["lamp"], parts["teapot"], parts["book"])

    html = text(client.get("/panier/"))

    north, boucle, book = slug(parts["north"].pk), slug(parts["boucle"].pk), slug(parts["north"].pk, parts["giver"])
    assert re.findall(rf'name="{north}-method" id="[^"]+" value="(\w+)"', html) == ["collection"]
    assert re.findall(rf'name="{boucle}-method" id="[^"]+" value="(\w+)"', html) == ["collection", "relay", "home"]
    # A private giver never ships to a home: no one private ever holds a buyer's address.
    assert re.findall(rf'name="{book}-method" id="[^"]+" value="(\w+)"', html) == ["collection", "relay"]
    assert "Chez un particulier (33000), au profit de Emmaüs Nord" in html
    assert "Payer 41,50\u00a0€" in html


def test_a_relay_point_is_found_by_postal_code_chosen_from_a_list_and_paid_with_its_shipping(
    client: Client, parts: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    add(client, parts["lamp"], parts["teapot"])
    boucle = slug(parts["boucle"].pk)
    base = page_form(text(client.get("/panier/")))

    # 1. The way, and the postal code: the relay points near it, as radio buttons.
    found = client.post(
        "/panier/",
        {
            **base,
            "email": EMAIL,
            "action": "update",
            f"{boucle}-method": "relay",
            f"{boucle}-relay_postal_code": "64 000",
        },
    )
    html = text(found)
    assert found.status_code == 200
    ids = re.findall(rf'name="{boucle}-relay_point_id" id="[^"]+" value="([^"]+)"', html)
    assert len(ids) == 10 and ids[0] == "DEMO-64000-00"
    assert "Frais de port : calculés dès que la livraison est choisie" in html
    assert f'value="{EMAIL}"' in html  # what was typed stays

    # 2. A relay point: its price, and the total before paying.
    chosen = client.post(
        "/panier/",
        {
            **base,
            "email": EMAIL,
            "action": "update",
            f"{boucle}-method": "relay",
            f"{boucle}-relay_postal_code": "64000",
            f"{boucle}-relay_point_id": "DEMO-64000-02",
        },
    )
    html = text(chosen)
    assert "Frais de port : 4,90\u00a0€" in html and "Payer 41,40\u00a0€" in html
    assert re.search(r'value="DEMO-64000-02" checked', html)
    form = page_form(html)
    assert form["shipping_cents"] == "490"

    # 3. Kept while the basket changes.
    add(client, ItemFactory(title="Tasse", price_cents=300, campaign=parts["lamp"].campaign))
    assert "Frais de port : 4,90\u00a0€" in text(client.get("/panier/"))

    # 4. Paid: one payment, items and shipping; the thanks page says where the parcel goes.
    form = page_form(text(client.get("/panier/")))
    paying = client.post(
        "/panier/",
        {
            **form,
            "email": EMAIL,
            f"{boucle}-method": "relay",
            f"{boucle}-relay_postal_code": "64000",
            f"{boucle}-relay_point_id": "DEMO-64000-02",
        },
    )
    assert paying.status_code == 303, text(paying)
    order = Order.objects.get()
    assert (order.amount_cents, order.shipping_cents) == (1250 + 300 + 2400 + 490, 490)
    parcel = order.fulfilments.get(method="relay")
    point = DemoCarrier().relay_point("DEMO-64000-02")
    assert point is not None and parcel.relay_point["name"] == point.name
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(local(paying["Location"]), {"card_number": "4242 4242 4242 4242"}, follow=True)
    thanks = text(paid)
    assert "Envoyé par Ressourcerie La Boucle" in thanks and "Livré au point relais" in thanks
    assert point.name in thanks and point.address_line1 in thanks
    assert "À retirer chez Emmaüs Nord" in thanks
    assert "Dont 4,90\u00a0€ de frais de port." in thanks


def test_paying_without_a_relay_point_is_an_error_beside_the_list_and_holds_nothing(
    client: Client, parts: dict[str, Any]
) -> None:
    add(client, parts["teapot"])
    boucle = slug(parts["boucle"].pk)
    form = page_form(text(client.get("/panier/")))

    response = client.post(
        "/panier/", {**form, "email": EMAIL, f"{boucle}-method": "relay", f"{boucle}-relay_postal_code": "64000"}
    )

    assert response.status_code == 400
    html = text(response)
    assert f'id="{boucle}-relay_point_id-error">Choisissez un point relais dans la liste.' in html
    assert not Reservation.objects.exists() and not Order.objects.exists()


def test_a_home_address_is_checked_field_by_field_in_the_buyers_language(client: Client, parts: dict[str, Any]) -> None:
    add(client, parts["teapot"])
    boucle = slug(parts["boucle"].pk)
    form = page_form(text(client.get("/panier/")))
    body = {
        **form,
        "email": EMAIL,
        f"{boucle}-method": "home",
        f"{boucle}-name": "Camille\x00",
        f"{boucle}-postal_code": "6400",
    }

    french = text(client.post("/panier/", body))
    assert f'id="{boucle}-postal_code-error">Un code postal français a cinq chiffres, par exemple 64000.' in french
    assert f'id="{boucle}-address_line1-error">Ce champ est nécessaire pour livrer le colis.' in french
    assert f'id="{boucle}-name-error">' in french

    english = text(client.post("/panier/", body, HTTP_ACCEPT_LANGUAGE="en"))
    assert f'id="{boucle}-address_line1-error">This field is needed to deliver the parcel.' in english
    assert not Order.objects.exists()


def test_a_home_parcel_is_paid_with_its_price(client: Client, parts: dict[str, Any]) -> None:
    add(client, parts["teapot"])
    boucle = slug(parts["boucle"].pk)
    fields = {f"{boucle}-method": "home", **{f"{boucle}-{name}": value for name, value in ADDRESS.items()}}
    shown = text(client.post("/panier/", {**page_form(text(client.get("/panier/"))), "action": "update", **fields}))
    assert "Frais de port : 6,90\u00a0€" in shown

    response = client.post("/panier/", {**page_form(shown), "email": EMAIL, **fields})

    assert response.status_code == 303
    part = Order.objects.get().fulfilments.get()
    assert part.method == "home" and part.address == {**ADDRESS, "address_line2": "", "country": "FR"}


def test_a_total_the_buyer_did_not_see_is_never_paid(client: Client, parts: dict[str, Any]) -> None:
    add(client, parts["teapot"])
    boucle = slug(parts["boucle"].pk)
    form = page_form(text(client.get("/panier/")))  # shows no shipping: collection

    response = client.post(
        "/panier/",
        {**form, "email": EMAIL, f"{boucle}-method": "relay", f"{boucle}-relay_point_id": "DEMO-64000-02"},
    )

    assert response.status_code == 409
    html = text(response)
    assert "Les frais de port ont changé : vérifiez le nouveau total, puis payez." in html
    assert "Payer 28,90\u00a0€" in html
    assert not Order.objects.exists() and Item.objects.get(pk=parts["teapot"].pk).status == ItemStatus.LISTED


@pytest.mark.parametrize(
    "fields",
    [
        {"-method": "pigeon"},
        {"-method": "home", "-name": ["a", "b"]},
        {"-method": "relay", "-relay_postal_code": "<script>"},
        {"-method": "relay", "-relay_postal_code": "٦٤٠٠٠"},
        {"-method": "relay", "-relay_point_id": "DEMO-99999-99"},
        {"-method": "relay", "-relay_point_id": "x" * 5000},
        {"-method": "relay", "-relay_point_id": "DEMO\x00"},
    ],
)
def test_hostile_delivery_fields_are_errors_beside_them_never_a_500(
    client: Client, parts: dict[str, Any], fields: dict[str, Any]
) -> None:
    add(client, parts["book"])
    prefix = slug(parts["north"].pk, parts["giver"])
    form = page_form(text(client.get("/panier/")))
    body = {**form, "email": EMAIL, **{f"{prefix}{name}": value for name, value in fields.items()}}

    assert client.post("/panier/", {**body, "action": "update"}).status_code == 200
    paying = client.post("/panier/", body)
    assert paying.status_code in (400, 409)
    assert 'class="error"' in text(paying)
    assert not Order.objects.exists()


def test_a_private_givers_book_cannot_be_sent_home_even_by_a_forged_form(client: Client, parts: dict[str, Any]) -> None:
    add(client, parts["book"])
    prefix = slug(parts["north"].pk, parts["giver"])
    form = page_form(text(client.get("/panier/")))
    fields = {f"{prefix}-method": "home", **{f"{prefix}-{name}": value for name, value in ADDRESS.items()}}

    response = client.post("/panier/", {**form, "email": EMAIL, **fields})

    assert response.status_code == 400
    assert "Ce mode de livraison n'est pas possible pour ces objets." in text(response)
    assert not Order.objects.exists()


def test_the_carrier_down_is_said_beside_the_postal_code(client: Client, parts: dict[str, Any]) -> None:
    add(client, parts["teapot"])
    boucle = slug(parts["boucle"].pk)
    form = page_form(text(client.get("/panier/")))

    with mock.patch.object(DemoCarrier, "relay_points", side_effect=CarrierError("timeout")):
        response = client.post(
            "/panier/",
            {**form, "action": "update", f"{boucle}-method": "relay", f"{boucle}-relay_postal_code": "64000"},
        )

    assert response.status_code == 200
    assert f'id="{boucle}-relay_postal_code-error">Le calcul des frais de port est momentanément indisponible' in text(
        response
    )


def test_a_session_choice_of_another_shape_reads_as_nothing(client: Client, parts: dict[str, Any]) -> None:
    add(client, parts["teapot"])
    session = client.session
    session["basket_delivery"] = {"o1": ["relay"], 5: {}, slug(parts["boucle"].pk): {"method": 3}}
    session.save()
    response = client.get("/panier/")
    assert response.status_code == 200 and "Payer 24,00\u00a0€" in text(response)
