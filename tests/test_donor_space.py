"""The donor's space (``/mon-compte/``) and its API (``/api/me/gifts/``, ``/api/me/orders/``):
only the person's own gifts, purchases, objects and receipts, guest payments with their
address only once it is verified; the yearly-receipt choice; the export's sections; and
the deletion's statement checked against what deletion does."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from campaigns.models import AuditEntry, Membership
from campaigns.services import audit_record
from checkout.services import fulfilment_hand_over, gift_start, order_start
from donations.models import Fulfilment, Gift, Item, ItemPhoto, ItemStatus, Order
from ledger.models import LedgerEntry
from receipts.issuing import receipt_issue_for_gift
from receipts.models import ReceiptPreference, TaxReceipt
from tests.factories import PASSWORD, ItemFactory, MembershipFactory, UserFactory, add_photo
from tests.receipts_support import giver, handed_over, paid_gift, paid_order, pay, ready_campaign

pytestmark = pytest.mark.django_db


def _page(client: Client, user: User) -> str:
    client.force_login(user)
    response = client.get("/mon-compte/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _section(page: str, anchor: str) -> str:
    """The text of one ``<section>`` of the page, by its heading's id."""
    match = re.search(rf'<h2 id="{anchor}">(.*?)</section>', page, re.S)
    assert match is not None, anchor
    return match.group(1)


def part(order: Order) -> Fulfilment:
    """The organisation's part of a one-organisation order: its claim code and page."""
    return Fulfilment.objects.get(order=order)


def test_the_space_needs_a_signed_in_person(client: Client, api: APIClient) -> None:
    response = client.get("/mon-compte/")
    assert response.status_code == 302 and response["Location"].startswith("/comptes/connexion/")
    assert api.get("/api/me/gifts/").json()["code"] == "not_authenticated"
    assert api.get("/api/me/orders/").status_code == 403


def test_the_header_links_to_the_space_for_signed_in_people_only(client: Client) -> None:
    assert 'href="/mon-compte/"' not in client.get("/").content.decode()
    client.force_login(UserFactory())
    assert 'href="/mon-compte/"' in client.get("/").content.decode()


def test_the_space_shows_the_persons_own_gifts_purchases_objects_and_receipts_never_anothers(
    client: Client,
) -> None:
    person, other = giver(), giver(email="autre@example.org")
    campaign = ready_campaign()
    mine = paid_gift(campaign, 4200, user=person)
    receipt = receipt_issue_for_gift(gift_id=mine.pk)
    assert receipt is not None
    theirs = paid_gift(campaign, 7700, user=other)
    receipt_issue_for_gift(gift_id=theirs.pk)
    waiting = paid_order(ItemFactory(campaign=campaign, title="Lampe verte", price_cents=3500), buyer=person)
    collected = paid_order(ItemFactory(campaign=campaign, title="Buffet breton", price_cents=9000), buyer=person)
    handed_over(collected)
    paid_order(ItemFactory(campaign=campaign, title="Vélo de l'autre", price_cents=5100), buyer=other)
    ItemFactory(owner=person, status=ItemStatus.IN_REVIEW, title="Ma chaise", campaign=campaign)
    ItemFactory(owner=other, status=ItemStatus.IN_REVIEW, title="Sa chaise", campaign=campaign)

    page = _page(client, person)

    gifts = _section(page, "dons")
    assert "42,00" in gifts and campaign.title in gifts and "77,00" not in gifts
    assert f"n° {receipt.number} (PDF)" in gifts and "/recus/" in gifts
    purchases = _section(page, "achats")
    assert "Lampe verte" in purchases and part(waiting).claim_code in purchases
    assert f"/retrait/{part(waiting).claim_token}/" in purchases
    assert "Buffet breton" in purchases and "Remis le" in purchases
    assert part(collected).claim_code not in purchases  # handed over: no code any more
    assert f"/retrait/{part(collected).claim_token}/" not in purchases
    assert "Vélo de l'autre" not in page
    objects = _section(page, "objets")
    assert "Ma chaise" in objects and "Sa chaise" not in page
    receipts = _section(page, "recus")
    assert receipts.count("Reçu n°") == 1 and receipt.number in receipts
    # The PDF link on the page works without a session, as in the email.
    pdf_url = re.search(r'href="(http[^"]+\.pdf)"', receipts)
    assert pdf_url is not None
    assert Client().get(pdf_url.group(1).removeprefix(settings.SITE_URL)).content.startswith(b"%PDF")


def test_guest_gifts_and_purchases_with_the_address_appear_only_once_it_is_verified(
    client: Client, api: APIClient
) -> None:
    campaign = ready_campaign()
    guest_gift = paid_gift(campaign, 3300, email="Lou@Example.org")
    guest_order = paid_order(ItemFactory(campaign=campaign, title="Théière"))
    Order.objects.filter(pk=guest_order.pk).update(email="lou@example.org")
    # Someone signed in to another account who typed Lou's address: that gift is theirs, never Lou's.
    paid_gift(campaign, 9900, user=giver(email="intrus@example.org"), email="lou@example.org")
    lou = UserFactory(email="lou@example.org", email_verified_at=None)

    page = _page(client, lou)
    assert "33,00" not in page and "Théière" not in page
    assert "Confirmez votre adresse e-mail pour voir vos reçus fiscaux." in page
    api.force_authenticate(lou)
    assert api.get("/api/me/gifts/").json()["count"] == 0
    assert api.get("/api/me/orders/").json()["count"] == 0

    User.objects.filter(pk=lou.pk).update(email_verified_at=guest_gift.created_at)
    lou.refresh_from_db()
    page = _page(client, lou)
    assert "33,00" in _section(page, "dons") and "99,00" not in page
    assert "Théière" in _section(page, "achats")
    api.force_authenticate(lou)
    assert [g["id"] for g in api.get("/api/me/gifts/").json()["results"]] == [guest_gift.pk]
    assert [o["id"] for o in api.get("/api/me/orders/").json()["results"]] == [guest_order.pk]


def test_unpaid_gifts_and_holds_are_not_listed(api: APIClient) -> None:
    person = giver()
    campaign = ready_campaign()
    gift_start(campaign_slug=campaign.slug, amount_cents=1500, email=person.email, user=person)
    order_start(item_id=ItemFactory(campaign=campaign).pk, email=person.email, user=person)
    api.force_authenticate(person)
    assert api.get("/api/me/gifts/").json()["count"] == 0
    assert api.get("/api/me/orders/").json()["count"] == 0


def test_the_gifts_endpoint_gives_each_gift_with_its_receipt(api: APIClient) -> None:
    person = giver()
    campaign = ready_campaign()
    first = paid_gift(campaign, 2500, user=person)
    receipt = receipt_issue_for_gift(gift_id=first.pk)
    assert receipt is not None
    second = paid_gift(campaign, 1000, user=person)
    api.force_authenticate(person)

    body = api.get("/api/me/gifts/").json()

    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 2
    newest, oldest = body["results"]
    assert (newest["id"], oldest["id"]) == (second.pk, first.pk)
    assert set(oldest) == {
        "id",
        "amount_cents",
        "refunded_cents",
        "currency",
        "status",
        "campaign",
        "organisation",
        "paid_at",
        "receipt",
    }
    assert oldest["amount_cents"] == 2500 and oldest["status"] == "paid" and oldest["currency"] == "EUR"
    assert oldest["campaign"] == {"slug": campaign.slug, "title": campaign.title}
    assert oldest["organisation"] == {"slug": campaign.organisation.slug, "name": campaign.organisation.name}
    assert set(oldest["receipt"]) == {"number", "issued_at", "pdf_url"}
    assert oldest["receipt"]["number"] == receipt.number
    assert oldest["receipt"]["pdf_url"].startswith(f"{settings.SITE_URL}/recus/")
    assert newest["receipt"] is None


def test_the_orders_endpoint_gives_lines_and_the_claim_code_only_while_the_object_waits(api: APIClient) -> None:
    person = giver()
    campaign = ready_campaign()
    item = ItemFactory(campaign=campaign, title="Lampe verte", price_cents=3500)
    order = paid_order(item, buyer=person)
    paid_order(ItemFactory(campaign=campaign), buyer=giver(email="autre@example.org"))
    api.force_authenticate(person)

    [row] = api.get("/api/me/orders/").json()["results"]
    assert set(row) == {
        "id",
        "amount_cents",
        "refunded_cents",
        "currency",
        "status",
        "paid_at",
        "lines",
        "fulfilments",
    }
    assert row["amount_cents"] == 3500 and row["status"] == "paid"
    assert row["lines"] == [
        {
            "item": item.pk,
            "title": "Lampe verte",
            "campaign": {"slug": campaign.slug, "title": campaign.title},
            "amount_cents": 3500,
            "refunded_cents": 0,
        }
    ]
    fulfilment = part(order)
    assert row["fulfilments"] == [
        {
            "organisation": {"slug": campaign.organisation.slug, "name": campaign.organisation.name},
            "status": "awaiting_collection",
            "claim_code": fulfilment.claim_code,
            "claim_url": f"{settings.SITE_URL}/retrait/{fulfilment.claim_token}/",
            "handed_over_at": None,
        }
    ]

    handed_over(order)
    [row] = api.get("/api/me/orders/").json()["results"]
    [after] = row["fulfilments"]
    assert after["status"] == "handed_over" and after["handed_over_at"] is not None
    assert after["claim_code"] is None and after["claim_url"] is None


def basket_of_two_organisations(buyer: User) -> Order:
    """A lamp and a vase of one organisation, a piano of another, paid at once by ``buyer``."""
    ours, theirs = ready_campaign(), ready_campaign()
    items = [
        ItemFactory(campaign=ours, title="Lampe", price_cents=1500),
        ItemFactory(campaign=ours, title="Vase", price_cents=900),
        ItemFactory(campaign=theirs, title="Piano", price_cents=7300),
    ]
    order = order_start(item_ids=[item.pk for item in items], email=buyer.email, user=buyer)
    pay(order)
    return Order.objects.get(pk=order.pk)


def test_a_basket_shows_each_line_and_each_organisations_code_until_its_part_is_collected(
    client: Client, api: APIClient
) -> None:
    person = giver()
    order = basket_of_two_organisations(person)
    first, second = Fulfilment.objects.filter(order=order).order_by("pk")
    # The first organisation hands its part over; the second's still waits.
    fulfilment_hand_over(
        fulfilment=first, claim_code=first.claim_code, actor=MembershipFactory(organisation=first.organisation).user
    )
    api.force_authenticate(person)

    [row] = api.get("/api/me/orders/").json()["results"]
    page = _section(_page(client, person), "achats")

    assert row["amount_cents"] == 9700
    assert [(line["title"], line["amount_cents"]) for line in row["lines"]] == [
        ("Lampe", 1500),
        ("Vase", 900),
        ("Piano", 7300),
    ]
    assert [(f["organisation"]["name"], f["status"], f["claim_code"]) for f in row["fulfilments"]] == [
        (first.organisation.name, "handed_over", None),
        (second.organisation.name, "awaiting_collection", second.claim_code),
    ]
    for title in ("Lampe", "Vase", "Piano"):
        assert title in page
    assert "97,00" in page and "73,00" in page
    assert second.claim_code in page and f"/retrait/{second.claim_token}/" in page
    assert first.claim_code not in page and f"/retrait/{first.claim_token}/" not in page
    assert first.organisation.name in page and second.organisation.name in page and "Remis le" in page

    exported = api.get("/api/me/export/").json()["orders"]
    assert [(line["title"], line["campaign"]) for line in exported[0]["lines"]] == [
        ("Lampe", Item.objects.get(title="Lampe").campaign.slug),
        ("Vase", Item.objects.get(title="Vase").campaign.slug),
        ("Piano", Item.objects.get(title="Piano").campaign.slug),
    ]
    assert [(f["organisation"], f["status"], f["claim_code"]) for f in exported[0]["fulfilments"]] == [
        (first.organisation.name, "handed_over", None),
        (second.organisation.name, "awaiting_collection", second.claim_code),
    ]


def test_the_yearly_receipt_choice_is_saved_from_the_space(client: Client) -> None:
    person = giver()
    client.force_login(person)
    assert re.search(r'value="false"[^>]*checked', client.get("/mon-compte/").content.decode())

    response = client.post("/mon-compte/recus/choix/", {"consolidated": "true"})
    assert response.status_code == 302 and response["Location"] == "/mon-compte/"
    assert ReceiptPreference.objects.get(user=person).consolidated is True
    page = client.get("/mon-compte/").content.decode()
    assert re.search(r'value="true"[^>]*checked', page)

    client.post("/mon-compte/recus/choix/", {"consolidated": "false"})
    assert ReceiptPreference.objects.get(user=person).consolidated is False


@pytest.mark.parametrize("value", ["", "yes", "1" * 500])
def test_a_bad_receipt_choice_is_refused_on_its_field(client: Client, value: str) -> None:
    person = giver()
    client.force_login(person)
    response = client.post("/mon-compte/recus/choix/", {"consolidated": value})
    assert response.status_code == 400
    assert 'class="field invalid"' in response.content.decode()
    assert not ReceiptPreference.objects.filter(user=person).exists()


def test_the_receipt_choice_needs_a_signed_in_person_and_a_post(client: Client) -> None:
    assert client.post("/mon-compte/recus/choix/", {"consolidated": "true"}).status_code == 302
    assert not ReceiptPreference.objects.exists()
    client.force_login(giver())
    assert client.get("/mon-compte/recus/choix/").status_code == 405


def test_the_space_is_in_english_for_an_english_browser(client: Client) -> None:
    client.force_login(giver())
    page = client.get("/mon-compte/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My account" in page and "My gifts" in page and "tax receipts" in page.lower()


def test_the_receipt_email_links_to_the_space(django_capture_on_commit_callbacks: Any) -> None:
    person = giver()
    with django_capture_on_commit_callbacks(execute=True):
        receipt_issue_for_gift(gift_id=paid_gift(ready_campaign(), user=person).pk)
    [message] = [m for m in mail.outbox if "reçu fiscal" in m.subject.lower()]
    assert f"{settings.SITE_URL}/mon-compte/#recus" in message.body


def test_the_export_holds_the_persons_gifts_purchases_and_receipts_only(api: APIClient) -> None:
    person = giver()
    campaign = ready_campaign()
    gift = paid_gift(campaign, 4200, user=person)
    receipt = receipt_issue_for_gift(gift_id=gift.pk)
    assert receipt is not None
    order = paid_order(ItemFactory(campaign=campaign, title="Lampe verte"), buyer=person)
    other = giver(email="autre@example.org")
    receipt_issue_for_gift(gift_id=paid_gift(campaign, 7700, user=other).pk)
    paid_order(ItemFactory(campaign=campaign, title="Vélo"), buyer=other)
    ReceiptPreference.objects.create(user=person, consolidated=True)
    api.force_authenticate(person)

    response = api.get("/api/me/export/")

    assert response["Content-Disposition"] == 'attachment; filename="tremma-mes-donnees.json"'
    data = response.json()
    assert [(g["id"], g["amount_cents"], g["status"]) for g in data["gifts"]] == [(gift.pk, 4200, "paid")]
    assert data["gifts"][0]["campaign"] == campaign.slug and data["gifts"][0]["email"] == person.email
    [exported_order] = data["orders"]
    assert exported_order["id"] == order.pk and exported_order["amount_cents"] == order.amount_cents
    assert [line["title"] for line in exported_order["lines"]] == ["Lampe verte"]
    assert [(f["status"], f["claim_code"]) for f in exported_order["fulfilments"]] == [
        ("awaiting_collection", part(order).claim_code)
    ]
    [exported] = data["receipts"]
    assert exported["number"] == receipt.number and exported["amount_cents"] == 4200
    assert exported["giver"]["last_name"] == "Martin" and exported["giver"]["city"] == "Pau"
    assert data["receipt_preference"] == {"consolidated": True}
    assert data["receipts_waiting"] == {"waiting": 0, "missing": []}
    # The page's download is the same export.
    client = Client()
    client.force_login(person)
    assert client.get("/comptes/profil/export.json").json()["receipts"][0]["number"] == receipt.number


def test_deletion_does_what_its_statement_says(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    person = giver(email="zoe@example.org")
    campaign = ready_campaign()
    membership = MembershipFactory(user=person, role=Membership.Role.MANAGER)
    with transaction.atomic():  # something the person did for their organisation, in its journal
        audit_record(
            organisation_id=membership.organisation_id,
            actor=person,
            action=AuditEntry.Action.ROLE_CHANGED,
            subject="test",
        )
    gift = paid_gift(campaign, 4200, user=person)
    Gift.objects.filter(pk=gift.pk).update(name="Zoé Martin", message="Bravo à toute l'équipe")
    receipt = receipt_issue_for_gift(gift_id=gift.pk)
    assert receipt is not None
    order = paid_order(ItemFactory(campaign=campaign, title="Lampe verte"), buyer=person)
    listed = ItemFactory(owner=person, status=ItemStatus.LISTED, campaign=campaign)
    photo = add_photo(listed)
    sold = ItemFactory(owner=person, status=ItemStatus.SOLD, campaign=campaign)
    someone = paid_gift(campaign, 1000, user=giver(email="autre@example.org"))
    Gift.objects.filter(pk=someone.pk).update(name="Autre", message="Courage")
    entries = list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount_cents", "gift_id", "order_id"))

    # The statement, on the space and on the deletion page.
    space = _page(client, person)
    form = html.unescape(client.get("/comptes/profil/supprimer/").content.decode())
    for page in (space, form):
        assert "le nom et le message affichés avec vos dons" in page
        assert "Votre adresse e-mail est remplacée par une adresse anonyme" in page
        assert "Vos objets pas encore vendus sont retirés de la vente et leurs photos effacées" in page
        assert "pendant six ans" in page and "se conservent dix ans" in page
        assert "le journal des actions sensibles des organisations où vous aviez un rôle" in page
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/comptes/profil/supprimer/", {"password": PASSWORD}).status_code == 302

    # Erased: name, postal address, password, roles, the gift's name and message; the email replaced.
    person.refresh_from_db()
    assert (person.first_name, person.last_name, person.address_line1, person.city) == ("", "", "", "")
    assert person.email == f"supprime-{person.pk}@anonyme.invalid" and not person.has_usable_password()
    assert not Membership.objects.filter(user=person).exists()
    gift.refresh_from_db()
    assert (gift.name, gift.message, gift.anonymous) == ("", "", True)
    assert Item.objects.get(pk=listed.pk).status == ItemStatus.WITHDRAWN
    assert not ItemPhoto.objects.filter(pk=photo.pk).exists() and not default_storage.exists(photo.image.name)
    # Kept: the receipt as issued, the payments with their email, the books; another's gift untouched.
    kept = TaxReceipt.objects.get(pk=receipt.pk)
    assert (kept.status, kept.giver_last_name, kept.giver_city, kept.amount_cents) == ("issued", "Martin", "Pau", 4200)
    assert (gift.email, gift.amount_cents, gift.status) == ("zoe@example.org", 4200, "paid")
    assert Order.objects.get(pk=order.pk).email == "zoe@example.org"
    assert Item.objects.get(pk=sold.pk).status == ItemStatus.SOLD
    assert list(LedgerEntry.objects.order_by("pk").values_list("pk", "amount_cents", "gift_id", "order_id")) == entries
    assert Gift.objects.filter(pk=someone.pk, name="Autre", message="Courage").exists()
    assert AuditEntry.objects.get().actor_email == "zoe@example.org"  # who acted, as the statement says


def test_the_space_takes_the_same_queries_for_one_gift_or_many(client: Client) -> None:
    person = giver()
    campaign = ready_campaign()
    client.force_login(person)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/mon-compte/").status_code == 200
        return len(captured)

    receipt_issue_for_gift(gift_id=paid_gift(campaign, 1000, user=person).pk)
    paid_order(ItemFactory(campaign=campaign), buyer=person)
    one = queries()
    for amount in (2000, 3000, 4000):
        receipt_issue_for_gift(gift_id=paid_gift(campaign, amount, user=person).pk)
        paid_order(ItemFactory(campaign=campaign), buyer=person)
    assert queries() == one
