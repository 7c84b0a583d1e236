"""The buyer's basket in the browser's pages (checkout/basket.py): several
objects, possibly of several organisations, kept in the session (a guest's
basket survives signing in), paid once on the provider's page, every object
held or none; cancelling the payment frees them at once."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone

from checkout.services import order_start
from checkout.services.orders import RETURN_SALT
from donations.models import Item, ItemStatus, Order, PaymentStatus, Reservation
from tests.factories import PASSWORD, CampaignFactory, ItemFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def add(client: Client, item: Item, **data: str) -> Any:
    return client.post(f"/panier/ajouter/{item.pk}/", data)


def local(path: str) -> str:
    return path.removeprefix("http://testserver")


def pay_on_demo(client: Client, checkout_url: str, callbacks: Any) -> Any:
    with callbacks(execute=True):
        return client.post(local(checkout_url), {"card_number": "4242 4242 4242 4242"})


def pay_form(client: Client) -> dict[str, Any]:
    """What the basket page's "Payer" form would send, as rendered."""
    html = client.get("/panier/").content.decode()
    return {"items": re.findall(r'name="items" value="(\d+)"', html)}


@pytest.fixture
def two_organisations() -> dict[str, Item]:
    north = CampaignFactory(
        title="Atelier vélo", organisation=OrganisationFactory(name="Emmaüs Nord", address_line1="5 rue Nord")
    )
    south = CampaignFactory(
        title="Toit d'hiver", organisation=OrganisationFactory(name="Emmaüs Sud", address_line1="9 rue Sud")
    )
    return {
        "lamp": ItemFactory(campaign=north, title="Lampe", price_cents=1250),
        "teapot": ItemFactory(campaign=south, title="Théière", price_cents=2400),
        "chair": ItemFactory(campaign=north, title="Chaise", price_cents=800),
    }


def test_a_basket_of_two_organisations_is_paid_once_and_gives_one_claim_code_per_organisation(
    client: Client, two_organisations: dict[str, Item], django_capture_on_commit_callbacks: Any
) -> None:
    lamp, teapot, chair = two_organisations["lamp"], two_organisations["teapot"], two_organisations["chair"]
    for item in (lamp, teapot, chair):
        added = add(client, item, next=item.get_absolute_url())
        assert added.status_code == 303 and added["Location"] == item.get_absolute_url()
    item_page = client.get(lamp.get_absolute_url()).content.decode()
    assert "« Lampe » est dans votre panier." in item_page.replace("&#x27;", "'")
    assert "Dans votre panier" in item_page and "Voir le panier (3 objets)" in item_page
    assert 'data-basket-link>Panier <span class="count">(3)</span>' in item_page

    page = client.get("/panier/")
    html = page.content.decode().replace("&#x27;", "'")
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    # One block per organisation (where the objects are collected), in the order they were added.
    assert html.index("À retirer chez Emmaüs Nord") < html.index("À retirer chez Emmaüs Sud")
    assert "5 rue Nord" in html and "9 rue Sud" in html
    north_block = html.split("À retirer chez Emmaüs Nord")[1].split("À retirer chez Emmaüs Sud")[0]
    assert "Lampe" in north_block and "Chaise" in north_block and "Théière" not in north_block
    assert "Le prix va entièrement au projet « Atelier vélo »." in north_block
    assert "Le prix va entièrement au projet « Toit d'hiver »." in html
    assert "44,50\u00a0€" in html and "Payer 44,50\u00a0€" in html

    response = client.post("/panier/", {"email": "passant@example.org", **pay_form(client)})

    assert response.status_code == 303 and "/payments/demo/" in response["Location"]
    order = Order.objects.get()
    assert order.amount_cents == 4450 and order.status == PaymentStatus.PENDING
    assert sorted(order.lines.values_list("item_id", flat=True)) == sorted([lamp.pk, teapot.pk, chair.pk])
    assert order.fulfilments.count() == 2
    assert set(Item.objects.values_list("status", flat=True)) == {ItemStatus.RESERVED}

    # While paying, the basket says until when the objects are held, and offers to resume or cancel.
    waiting = client.get("/panier/").content.decode().replace("&#x27;", "'")
    until = timezone.localtime(order.expires_at).strftime("%H:%M")
    assert f"Réservé pour vous jusqu'à {until}." in waiting
    assert "data-countdown=" in waiting and "/static/frontend/countdown.js" in waiting
    assert f'href="{order.checkout_url}"' in waiting and "Annuler le paiement" in waiting
    assert "Payer 44,50" not in waiting and waiting.count("Réservé pour vous pendant le paiement.") == 3

    # The payment page lists each object, as Stripe's does.
    demo_page = client.get(response["Location"]).content.decode()
    lines = demo_page.split('class="demo-lines"')[1].split("</ul>")[0]
    assert all(title in lines for title in ("Lampe", "Théière", "Chaise"))

    paid = pay_on_demo(client, response["Location"], django_capture_on_commit_callbacks)
    success = client.get(paid["Location"])
    text = success.content.decode().replace("&#x27;", "'")
    order.refresh_from_db()
    assert order.status == PaymentStatus.PAID
    assert "Votre achat de 3 objets (44,50\u00a0€) est confirmé." in text
    fulfilments = list(order.fulfilments.select_related("organisation").order_by("pk"))
    for fulfilment in fulfilments:
        assert f'<p class="claim-code" translate="no">{fulfilment.claim_code}</p>' in text
        assert f'href="http://testserver/retrait/{fulfilment.claim_token}/"' in text
        assert f"Ma page de retrait chez {fulfilment.organisation.name}" in text
    # Bought: out of the basket.
    assert "Votre panier est vide." in client.get("/panier/").content.decode()
    (receipt,) = [message for message in mail.outbox if message.to == ["passant@example.org"]]
    assert receipt.subject == "Votre achat sur Trëmma : 3 objets"
    for fulfilment in fulfilments:
        assert fulfilment.claim_code in receipt.body
        assert f"http://testserver/retrait/{fulfilment.claim_token}/" in receipt.body
    assert receipt.body.index("Emmaüs Nord") < receipt.body.index("Lampe") < receipt.body.index("Emmaüs Sud")


def test_a_guest_s_basket_is_still_there_after_signing_in(client: Client) -> None:
    person = UserFactory(email="zoe@example.org")
    lamp, teapot = ItemFactory(title="Lampe"), ItemFactory(title="Théière")
    add(client, lamp)
    add(client, teapot)
    guest_session = client.session.session_key

    signed = client.post("/comptes/connexion/", {"username": "zoe@example.org", "password": PASSWORD})

    assert signed.status_code == 302
    assert client.session.session_key != guest_session  # a new key on sign-in (no session fixation)…
    page = client.get("/panier/").content.decode()
    assert "Lampe" in page and "Théière" in page  # … with the basket in it
    assert 'value="zoe@example.org"' in page  # the signed-in person's email, still editable
    assert int(client.session["_auth_user_id"]) == person.pk


def test_adding_refuses_what_cannot_be_bought_and_never_adds_twice(client: Client, settings: Any) -> None:
    settings.BASKET_MAX_ITEMS = 2
    listed, other, third = ItemFactory(), ItemFactory(), ItemFactory()
    reserved = ItemFactory(status=ItemStatus.RESERVED, title="Vase")
    sold = ItemFactory(status=ItemStatus.SOLD)
    draft = ItemFactory(status=ItemStatus.DRAFT)

    assert client.get(f"/panier/ajouter/{listed.pk}/").status_code == 405
    assert add(client, draft).status_code == 404  # not public: as if it did not exist
    assert client.post("/panier/ajouter/999999/").status_code == 404
    refused = add(client, reserved)
    assert refused.status_code == 303
    page = client.get(refused["Location"]).content.decode().replace("&#x27;", "'")
    assert "« Vase » n'est pas disponible en ce moment" in page
    add(client, sold)
    add(client, listed)
    add(client, listed)
    add(client, other)
    full = add(client, third)
    message = client.get(full["Location"]).content.decode()
    assert "Votre panier est plein (2 objets au plus par paiement)" in message
    assert client.session["basket"] == [listed.pk, other.pk]


def test_adding_goes_back_to_a_page_of_this_site_only(client: Client) -> None:
    item = ItemFactory()
    for hostile in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = add(client, item, next=hostile)
        assert response["Location"] == item.get_absolute_url()
    assert add(client, item, next="/vitrines/1/")["Location"] == "/vitrines/1/"


def test_the_basket_s_buttons_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    item = ItemFactory()
    assert add(client, item).status_code == 403
    assert client.post(f"/panier/retirer/{item.pk}/").status_code == 403
    assert client.post("/panier/", {"email": "a@example.org", "items": [item.pk]}).status_code == 403
    assert client.post("/panier/annuler/").status_code == 403
    page = client.get(item.get_absolute_url()).content.decode()
    token = re.search(
        r'action="/panier/ajouter/\d+/"[^>]*><input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', page
    )
    assert token is not None
    assert add(client, item, csrfmiddlewaretoken=token.group(1)).status_code == 303
    assert client.session["basket"] == [item.pk]


def test_an_object_taken_meanwhile_is_marked_and_nothing_is_held(client: Client) -> None:
    lamp, teapot = ItemFactory(title="Lampe"), ItemFactory(title="Théière")
    add(client, lamp)
    add(client, teapot)
    form = pay_form(client)
    # Someone else starts paying for the teapot while this page is open.
    order_start(item_ids=[teapot.pk], email="autre@example.org")

    response = client.post("/panier/", {"email": "passant@example.org", **form})

    html = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 409
    assert "Un objet de votre panier n'est plus disponible : rien n'a été réservé ni payé." in html
    assert f'id="basket-item-{teapot.pk}-error"' in html
    assert "Pas payé : « Théière » n'est plus disponible." in html
    assert f'id="basket-item-{lamp.pk}-error"' not in html
    assert 'value="passant@example.org"' in html  # the form as typed
    assert Item.objects.get(pk=lamp.pk).status == ItemStatus.LISTED
    assert Order.objects.count() == 1  # only the other buyer's
    # Removing it leaves the rest payable.
    client.post(f"/panier/retirer/{teapot.pk}/")
    assert pay_form(client) == {"items": [str(lamp.pk)]}


def test_the_service_s_refusal_marks_the_items_it_names(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from checkout import basket
    from checkout.services import ItemUnavailable

    lamp, teapot = ItemFactory(title="Lampe"), ItemFactory(title="Théière")
    add(client, lamp)
    add(client, teapot)

    def taken(**kwargs: Any) -> Order:
        refused = ItemUnavailable("race")
        refused.unavailable = [teapot.pk]
        raise refused

    monkeypatch.setattr(basket, "order_start", taken)
    response = client.post("/panier/", {"email": "a@example.org", **pay_form(client)})

    assert response.status_code == 409
    html = response.content.decode()
    assert f'id="basket-item-{teapot.pk}-error"' in html and f'id="basket-item-{lamp.pk}-error"' not in html


@pytest.mark.parametrize(
    "items",
    [[], ["abc"], ["-1"], ["999999"], ["1e3"], ["only-the-first"]],
)
def test_a_forged_or_stale_pay_form_holds_nothing(client: Client, items: list[str]) -> None:
    lamp, teapot = ItemFactory(), ItemFactory()
    add(client, lamp)
    add(client, teapot)
    posted = [str(lamp.pk)] if items == ["only-the-first"] else items  # an object added in another tab

    response = client.post("/panier/", {"email": "a@example.org", "items": posted})

    assert response.status_code == 409
    assert "Votre panier a changé" in response.content.decode()
    assert not Order.objects.exists() and not Reservation.objects.exists()


def test_a_wrong_email_is_said_beside_the_field_and_holds_nothing(client: Client) -> None:
    add(client, ItemFactory())
    response = client.post("/panier/", {"email": "pas-un-email", **pay_form(client)})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'aria-describedby="basket-email-error"' in html and 'id="basket-email-error"' in html
    assert not Order.objects.exists()


def test_payment_attempts_are_capped_as_on_the_buy_form(client: Client, settings: Any) -> None:
    settings.PAYMENT_ATTEMPTS_PER_EMAIL = 1
    add(client, ItemFactory())
    first = client.post("/panier/", {"email": "a@example.org", **pay_form(client)})
    client.post("/panier/annuler/")
    second = client.post("/panier/", {"email": "a@example.org", **pay_form(client)})
    assert first.status_code == 303
    assert second.status_code == 429 and "Trop de tentatives de paiement" in second.content.decode()


def test_a_session_s_basket_of_another_shape_reads_as_empty_or_cleaned(client: Client) -> None:
    item = ItemFactory(title="Lampe")
    for stored in ("x", {"a": 1}, [True, "3", -4, None, 999999, item.pk, item.pk]):
        session = client.session
        session["basket"] = stored
        session["basket_order"] = "nope"
        session.save()
        page = client.get("/panier/")
        assert page.status_code == 200
    assert page.content.decode().count("Lampe") >= 1
    assert client.session["basket"] == [item.pk] and "basket_order" not in client.session


def test_sold_or_withdrawn_objects_stay_shown_as_such_and_can_be_removed(client: Client) -> None:
    lamp, teapot, vase = ItemFactory(title="Lampe"), ItemFactory(title="Théière"), ItemFactory(title="Vase")
    for item in (lamp, teapot, vase):
        add(client, item)
    order_start(item_ids=[lamp.pk], email="autre@example.org")
    Item.objects.filter(pk=teapot.pk).update(status=ItemStatus.SOLD)
    Item.objects.filter(pk=vase.pk).update(status=ItemStatus.WITHDRAWN)

    html = client.get("/panier/").content.decode().replace("&#x27;", "'")

    assert "Réservé : quelqu'un est en train de le payer." in html
    assert "Vendu : cet objet n'est plus disponible." in html
    assert "Retiré de la vente : cet objet n'est plus disponible." in html
    assert "Aucun objet de votre panier n'est disponible en ce moment." in html and "Payer" not in html
    assert 'aria-label="Retirer « Théière » du panier"' in html
    removed = client.post(f"/panier/retirer/{teapot.pk}/")
    assert removed.status_code == 303 and removed["Location"] == "/panier/"
    assert client.session["basket"] == [lamp.pk, vase.pk]


def test_cancelling_on_the_provider_s_page_frees_the_objects_at_once_and_keeps_the_basket(
    client: Client, two_organisations: dict[str, Item]
) -> None:
    lamp, teapot = two_organisations["lamp"], two_organisations["teapot"]
    add(client, lamp)
    add(client, teapot)
    client.post("/panier/", {"email": "a@example.org", **pay_form(client)})
    order = Order.objects.get()
    demo = client.get(local(order.checkout_url)).content.decode()
    cancel_url = re.search(r'<a href="([^"]+)">Annuler et revenir</a>', demo)
    assert cancel_url is not None

    assert client.head(local(cancel_url.group(1).replace("&amp;", "&"))).status_code == 200
    assert Item.objects.get(pk=lamp.pk).status == ItemStatus.RESERVED  # a link checker cancels nothing
    page = client.get(local(cancel_url.group(1).replace("&amp;", "&")))

    html = page.content.decode()
    assert page.status_code == 200 and "Paiement annulé" in html
    assert "ils sont de nouveau disponibles" in html
    assert "Votre panier garde ses 2 objets" in html and 'href="/panier/">Retour au panier' in html
    assert set(Item.objects.filter(pk__in=[lamp.pk, teapot.pk]).values_list("status", flat=True)) == {"listed"}
    assert not Reservation.objects.filter(status=Reservation.Status.HELD).exists()
    order.refresh_from_db()
    assert order.status != PaymentStatus.PENDING
    # The basket has its objects, payable again; the demo page no longer takes the payment.
    assert len(pay_form(client)["items"]) == 2
    assert "Annuler le paiement" not in client.get("/panier/").content.decode()
    assert "Payer" not in client.get(local(order.checkout_url)).content.decode().split("</h1>")[1]


def test_cancelling_from_the_basket_page_frees_the_objects(client: Client) -> None:
    lamp = ItemFactory(title="Lampe")
    add(client, lamp)
    client.post("/panier/", {"email": "a@example.org", **pay_form(client)})
    assert Item.objects.get(pk=lamp.pk).status == ItemStatus.RESERVED

    cancelled = client.post("/panier/annuler/")

    assert cancelled.status_code == 303 and cancelled["Location"] == "/panier/"
    assert Item.objects.get(pk=lamp.pk).status == ItemStatus.LISTED
    page = client.get("/panier/").content.decode()
    assert "Paiement annulé : rien n'a été payé" in page.replace("&#x27;", "'") and "Payer 25,00" in page


def test_the_basket_page_is_a_few_queries_whatever_its_size(client: Client, django_assert_max_num_queries: Any) -> None:
    campaign = CampaignFactory()
    for _n in range(6):
        add(client, ItemFactory(campaign=campaign))
    add(client, ItemFactory())
    with django_assert_max_num_queries(5):  # session, items, photos, (auth, messages: none for a guest)
        assert client.get("/panier/").status_code == 200


def test_the_basket_page_is_in_english_for_an_english_browser(client: Client) -> None:
    add(client, ItemFactory(price_cents=1250))
    html = client.get("/panier/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in html and "My basket" in html and "Pay €12.50" in html
    assert "Mon panier" not in html
    empty = Client().get("/panier/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your basket is empty." in empty


def test_the_window_page_adds_to_the_basket_and_comes_back(client: Client) -> None:
    from tests.factories import WindowFactory, place_items

    window = WindowFactory()
    first, _second = place_items(window, 2)
    html = client.get(f"/vitrines/{window.pk}/").content.decode()
    assert html.count('action="/panier/ajouter/') == 2
    assert f'aria-label="Ajouter au panier : {first.item.title}"' in html

    back = add(client, first.item, next=f"/vitrines/{window.pk}/")

    assert back["Location"] == f"/vitrines/{window.pk}/"
    again = client.get(back["Location"]).content.decode()
    assert "est dans votre panier" in again and again.count('action="/panier/ajouter/') == 1


def test_a_return_page_of_a_paid_basket_empties_it_even_before_the_basket_is_seen(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    lamp, teapot = ItemFactory(), ItemFactory()
    add(client, lamp)
    add(client, teapot)
    client.post("/panier/", {"email": "a@example.org", **pay_form(client)})
    order = Order.objects.get()
    add(client, ItemFactory(title="Ajouté après"))  # while paying, another object goes in the basket
    paid = pay_on_demo(client, order.checkout_url, django_capture_on_commit_callbacks)
    client.get(paid["Location"])

    page = client.get("/panier/").content.decode()
    assert "Ajouté après" in page and client.session["basket"] == [Item.objects.get(title="Ajouté après").pk]
    ref = signing.dumps({"kind": "order", "id": order.pk}, salt=RETURN_SALT)
    assert client.get(f"/paiement/merci/?{urlencode({'ref': ref})}").status_code == 200


@pytest.mark.parametrize("pk", ["99999999999999999999999", "9223372036854775808", "0"])
def test_an_id_out_of_any_range_is_simply_not_found(client: Client, pk: str) -> None:
    assert client.post(f"/panier/ajouter/{pk}/").status_code == 404
    assert client.post(f"/panier/retirer/{pk}/").status_code == 303
    assert client.get("/panier/").status_code == 200
