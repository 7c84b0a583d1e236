"""Buying and giving from the pages, through the demo gateway."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from donations.models import Gift, Item, ItemStatus, Order, PaymentStatus
from kernel.money import euros_to_cents
from ledger.selectors import campaign_progress
from tests.factories import CampaignFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "cents"),
    [("20", 2000), ("12,5", 1250), ("12.50 €", 1250), (" 0,99 ", 99), ("1,234", None), ("-5", None), ("dix", None)],
)
def test_euros_typed_by_a_person_become_integer_cents(text: str, cents: int | None) -> None:
    assert euros_to_cents(text) == cents


def test_buying_from_the_item_page_reserves_then_pays_on_the_demo_page(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory(price_cents=6400)
    page = client.get(item.get_absolute_url()).content.decode()
    assert "Acheter cet objet" in page

    response = client.post(f"/objets/{item.pk}/acheter/", {"email": "passant@example.org"})

    assert response.status_code == 303 and "/payments/demo/" in response["Location"]
    assert Item.objects.get(pk=item.pk).status == ItemStatus.RESERVED
    reserved_page = client.get(item.get_absolute_url()).content.decode()
    assert "disabled>Acheter cet objet</button>" in reserved_page  # kept in place, greyed out while someone pays
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(response["Location"].removeprefix("http://testserver"), {"card_number": "4242424242424242"})
    assert "Merci" in client.get(paid["Location"]).content.decode()
    assert Order.objects.get().status == PaymentStatus.PAID
    assert campaign_progress(campaign_id=item.campaign_id) == (6400, 1)


def test_cancelling_a_one_object_purchase_puts_it_back_on_sale_at_once(client: Client) -> None:
    item = ItemFactory(price_cents=6400)
    response = client.post(f"/objets/{item.pk}/acheter/", {"email": "passant@example.org"})
    order = Order.objects.get()
    assert order.lines.get().item_id == item.pk and order.fulfilments.count() == 1
    demo = client.get(response["Location"].removeprefix("http://testserver")).content.decode()
    cancel = re.search(r'<a href="http://testserver([^"]+)">Annuler et revenir</a>', demo)
    assert cancel is not None

    page = client.get(cancel.group(1).replace("&amp;", "&"))

    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED  # not in 30 minutes: now
    assert f'href="{item.get_absolute_url()}">Retour à l' in html and 'href="/panier/">Retour au panier' in html
    assert (
        "disabled" not in client.get(item.get_absolute_url()).content.decode().split("data-buy")[1].split("</form>")[0]
    )
    # Going back again changes nothing more.
    assert client.get(cancel.group(1).replace("&amp;", "&")).status_code == 200
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED


def test_a_cancel_page_reached_after_paying_shows_the_receipt_instead(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    item = ItemFactory()
    response = client.post(f"/objets/{item.pk}/acheter/", {"email": "passant@example.org"})
    demo = client.get(response["Location"].removeprefix("http://testserver")).content.decode()
    cancel = re.search(r'<a href="http://testserver([^"]+)">Annuler et revenir</a>', demo)
    assert cancel is not None
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"].removeprefix("http://testserver"), {"card_number": "4242424242424242"})

    back = client.get(cancel.group(1).replace("&amp;", "&"))

    assert back.status_code == 302 and back["Location"].startswith("/paiement/merci/?ref=")
    assert Order.objects.get().status == PaymentStatus.PAID
    assert Item.objects.get(pk=item.pk).status == ItemStatus.SOLD


def test_a_second_buyer_on_the_page_is_told_the_item_is_taken(client: Client) -> None:
    item = ItemFactory()
    client.post(f"/objets/{item.pk}/acheter/", {"email": "a@example.org"})

    response = client.post(f"/objets/{item.pk}/acheter/", {"email": "b@example.org"})

    assert response.status_code == 409 and "plus disponible" in response.content.decode()


def test_a_buyer_on_a_page_left_open_while_the_item_sold_is_told_in_their_language(client: Client) -> None:
    item = ItemFactory(status=ItemStatus.SOLD)

    french = client.post(f"/objets/{item.pk}/acheter/", {"email": "b@example.org"})
    english = client.post(f"/objets/{item.pk}/acheter/", {"email": "b@example.org"}, HTTP_ACCEPT_LANGUAGE="en")

    assert french.status_code == 409 and "plus disponible" in french.content.decode()
    assert english.status_code == 409 and "no longer available" in english.content.decode()
    assert not Order.objects.exists()


def email_inputs(page: str) -> list[str]:
    """The buy form's and the gift form's e-mail fields, as rendered."""
    return re.findall(r'<input[^>]*name="email"[^>]*>', page)


def test_the_buy_and_gift_forms_carry_the_signed_in_person_s_email(client: Client) -> None:
    item = ItemFactory(price_cents=6400)
    client.force_login(UserFactory(email="zoe@example.org"))

    for url in (item.get_absolute_url(), item.campaign.get_absolute_url()):
        [field] = email_inputs(client.get(url).content.decode())
        assert 'value="zoe@example.org"' in field and "readonly" not in field and "disabled" not in field

    # Still editable: the e-mail typed is the one used.
    response = client.post(f"/campagnes/{item.campaign.slug}/donner/", {"amount": "5", "email": "autre@example.org"})
    assert response.status_code == 303 and Gift.objects.get().email == "autre@example.org"


def test_a_visitor_s_buy_and_gift_forms_have_an_empty_email(client: Client) -> None:
    item = ItemFactory(price_cents=6400)
    for url in (item.get_absolute_url(), item.campaign.get_absolute_url()):
        [field] = email_inputs(client.get(url).content.decode())
        assert "value=" not in field


def test_giving_from_the_campaign_page_raises_the_campaign_by_exactly_the_amount(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = CampaignFactory(goal_cents=100_000)
    assert "Faire un don" in client.get(campaign.get_absolute_url()).content.decode()

    response = client.post(
        f"/campagnes/{campaign.slug}/donner/",
        {"amount": "12,50", "email": "don@example.org", "name": "Zoé", "anonymous": "on"},
    )
    assert response.status_code == 303
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"].removeprefix("http://testserver"), {"card_number": "4242 4242 4242 4242"})

    gift = Gift.objects.get()
    assert gift.amount_cents == 1250 and gift.anonymous and gift.status == PaymentStatus.PAID
    assert campaign_progress(campaign_id=campaign.pk) == (1250, 1)
    assert "<span data-raised>12,50\u00a0€</span> collectés" in client.get(campaign.get_absolute_url()).content.decode()


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0,50", "Le don minimum est de 1 €."),
        ("0", "Le don minimum est de 1 €."),
        ("-5", "Indiquez un montant en euros, par exemple 20 ou 12,50."),
        ("1,234", "Indiquez un montant en euros, par exemple 20 ou 12,50."),
    ],
)
def test_a_refused_amount_comes_back_on_the_form_beside_the_field(client: Client, amount: str, message: str) -> None:
    campaign = CampaignFactory()
    response = client.post(f"/campagnes/{campaign.slug}/donner/", {"amount": amount, "email": "d@example.org"})

    page = response.content.decode()
    assert response.status_code == 400 and response.templates[0].name == "checkout/give.html"
    assert f'<p class="error" id="give-amount-error">{message}</p>' in page
    assert f'name="amount" value="{amount}"' in page and 'aria-describedby="give-amount-error"' in page
    assert "checkout/problem.html" not in [t.name for t in response.templates]
    assert not Gift.objects.exists()


def test_a_gift_of_less_than_one_euro_from_the_page_is_explained(client: Client) -> None:
    campaign = CampaignFactory()
    response = client.post(f"/campagnes/{campaign.slug}/donner/", {"amount": "0,50", "email": "d@example.org"})
    assert response.status_code == 400 and "Le don minimum est de 1 €." in response.content.decode()
    assert not Gift.objects.exists()
