"""How each object travels: the parcel rule (weight, bulky categories, the weight limit, a private
giver never sending to a home) at the model, the form and the API; the manager's corrections; an
object for sale dropped at the organisation before it is listed; the catalogue's delivery filter."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from donations.forms import ItemForm, ReviewForm
from donations.models import Item, ItemStatus, parcel_allowed
from donations.services import (
    ParcelNotAgreed,
    ParcelRefused,
    item_approve,
    item_receive,
    item_update,
    ships_decide,
)
from tests.factories import CampaignFactory, ItemFactory, UserFactory, item_post_data, manager_of
from tests.receipts_support import (
    giver,
    handed_over,
    handed_over_days_ago,
    paid_order,
    ready_campaign,
    receipts_issue_due,
)

pytestmark = pytest.mark.django_db


# --- The rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "weight", "allowed"),
    [
        ("books", 800, True),
        ("books", 20_000, True),  # PARCEL_MAX_GRAMS, included
        ("books", 20_001, False),
        ("books", None, False),  # no weight, no parcel
        ("books", 0, False),
        ("furniture", 800, False),
        ("appliances", 800, False),
        ("bikes", 800, False),
    ],
)
def test_a_parcel_needs_a_weight_within_the_limit_and_a_category_that_is_not_bulky(
    category: str, weight: int | None, allowed: bool
) -> None:
    assert parcel_allowed(category=category, weight_grams=weight) is allowed


def test_asking_for_parcels_is_refused_with_the_reason_and_a_change_turns_them_off_quietly() -> None:
    with pytest.raises(ParcelRefused) as refused:
        ships_decide(asked=True, current=False, category="furniture", weight_grams=3000)
    assert "encombrant" in str(refused.value.detail)
    with pytest.raises(ParcelRefused) as refused:
        ships_decide(asked=True, current=False, category="books", weight_grams=None)
    assert "poids" in str(refused.value.detail)
    with pytest.raises(ParcelRefused) as refused:
        ships_decide(asked=True, current=False, category="books", weight_grams=25_000)
    assert "20 kg" in str(refused.value.detail)
    assert ships_decide(asked=True, current=False, category="books", weight_grams=900) is True
    # A reviewer moving it to a bulky category (asked: nothing): parcels off, no error.
    assert ships_decide(asked=None, current=True, category="furniture", weight_grams=900) is False


def test_a_private_giver_never_sends_to_a_home_the_organisation_may() -> None:
    kept = ItemFactory(postal_code="69001", weight_grams=900, category="books", ships=True)
    at_organisation = ItemFactory(weight_grams=900, category="books", ships=True)
    not_shipping = ItemFactory(postal_code="69001", weight_grams=900, category="books")
    assert kept.delivery_methods == ["collection", "relay"]
    assert at_organisation.delivery_methods == ["collection", "relay", "home"]
    assert not_shipping.delivery_methods == ["collection"]


def test_existing_objects_keep_ships_off() -> None:
    assert ItemFactory(weight_grams=500).ships is False


# --- The donor's form --------------------------------------------------------------------------------


def _form(campaign: Any, **data: Any) -> ItemForm:
    post = item_post_data(campaign, price_cents="35")
    photos = post.pop("photos")
    post.update(data)
    return ItemForm(post, {"photos": photos[0]})


def test_the_donors_form_never_checks_parcels_in_advance() -> None:
    form = ItemForm()
    assert form.fields["ships"].initial is False
    assert 'name="ships"' in str(form["ships"]) and "checked" not in str(form["ships"])
    assert form.fields["keeping"].initial == "keep"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"ships": "on", "category": "furniture", "weight_grams": "3000"}, "encombrant"),
        ({"ships": "on", "category": "books"}, "poids"),
        ({"ships": "on", "category": "books", "weight_grams": "20001"}, "20 kg"),
    ],
)
def test_the_form_says_on_the_parcel_field_why_an_object_cannot_ship(data: dict[str, str], words: str) -> None:
    form = _form(CampaignFactory(), **data)
    assert not form.is_valid()
    assert words in " ".join(form.errors["ships"])


@pytest.mark.parametrize("weight", ["-1", "0", "100001", "1e9", "12,5", "douze", "0x10", "1" * 400])
def test_the_form_refuses_hostile_weights_on_their_field(weight: str) -> None:
    form = _form(CampaignFactory(), weight_grams=weight, ships="on")
    assert not form.is_valid()
    assert "weight_grams" in form.errors


def test_the_form_posts_an_object_that_ships_or_is_dropped_off(client: Client) -> None:
    donor = UserFactory(postal_code="64000", city="Pau")
    campaign = CampaignFactory()
    client.force_login(donor)
    data = item_post_data(campaign, price_cents="35", weight_grams="900", category="books", ships="on")
    assert client.post("/mes-objets/nouveau/", data).status_code == 302
    item = Item.objects.get()
    assert item.ships and item.postal_code == "64000" and item.handover == ""
    assert item.delivery_methods == ["collection", "relay"]

    data = item_post_data(campaign, price_cents="35", keeping="drop_off", title="Théière")
    assert client.post("/mes-objets/nouveau/", data).status_code == 302
    dropped = Item.objects.get(title="Théière")
    assert dropped.handover == Item.Handover.DROP_OFF and dropped.status == ItemStatus.IN_REVIEW


def test_a_bulky_object_asked_as_a_parcel_comes_back_with_the_message_and_nothing_is_written(client: Client) -> None:
    client.force_login(UserFactory())
    data = item_post_data(CampaignFactory(), price_cents="35", category="furniture", weight_grams="9000", ships="on")
    response = client.post("/mes-objets/nouveau/", data)
    assert response.status_code == 400
    assert "trop encombrant pour un colis" in response.content.decode()
    assert not Item.objects.exists()


# --- The API ----------------------------------------------------------------------------------------------


def test_the_api_keeps_ships_only_for_an_object_that_may_travel(api: APIClient) -> None:
    api.force_authenticate(UserFactory(postal_code="75011"))
    campaign = CampaignFactory()
    response = api.post(
        "/api/items/",
        item_post_data(campaign, category="books", weight_grams=900, ships="true"),
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ships"] is True and body["weight_grams"] == 900
    assert body["delivery_methods"] == ["collection", "relay"]  # at a private giver's: never home


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ships": "true", "category": "appliances", "weight_grams": 4000}, "ships"),
        ({"ships": "true", "category": "books"}, "ships"),
        ({"ships": "true", "category": "books", "weight_grams": 20_001}, "ships"),
        ({"ships": "maybe"}, "ships"),
        ({"ships": "2", "weight_grams": 500}, "ships"),
        ({"ships": "<script>", "weight_grams": 500}, "ships"),
        ({"weight_grams": -5}, "weight_grams"),
        ({"weight_grams": "1e9"}, "weight_grams"),
        ({"weight_grams": 10**30}, "weight_grams"),
        ({"handover": "pick_up"}, "handover"),
        ({"handover": "teleport"}, "handover"),
    ],
)
def test_hostile_or_impossible_parcel_fields_are_a_field_error_and_nothing_is_written(
    api: APIClient, overrides: dict[str, Any], field: str
) -> None:
    api.force_authenticate(UserFactory())
    response = api.post("/api/items/", item_post_data(CampaignFactory(), **overrides), format="multipart")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not Item.objects.exists()


def test_patching_parcels_on_without_a_weight_is_refused_and_a_bulky_category_turns_them_off(
    api: APIClient,
) -> None:
    donor = UserFactory()
    item = ItemFactory(owner=donor, status=ItemStatus.IN_REVIEW, category="books")
    api.force_authenticate(donor)
    response = api.patch(f"/api/items/{item.pk}/", {"ships": True}, format="json")
    assert response.status_code == 400
    assert "ships" in response.json()["fields"]
    assert api.patch(f"/api/items/{item.pk}/", {"ships": True, "weight_grams": 800}, format="json").json()["ships"]
    body = api.patch(f"/api/items/{item.pk}/", {"category": "furniture"}, format="json").json()
    assert body["ships"] is False and body["delivery_methods"] == ["collection"]
    item.refresh_from_db()
    assert not item.ships


def test_the_english_api_says_why_in_english(api: APIClient) -> None:
    api.force_authenticate(UserFactory())
    response = api.post(
        "/api/items/",
        item_post_data(CampaignFactory(), ships="true", category="bikes", weight_grams=5000),
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "too bulky" in " ".join(response.json()["fields"]["ships"])


# --- The manager's review --------------------------------------------------------------------------------


def test_a_manager_corrects_weight_and_category_and_parcels_follow() -> None:
    item = ItemFactory(status=ItemStatus.IN_REVIEW, category="books", weight_grams=900, ships=True, postal_code="64000")
    reviewer = manager_of(item.campaign.organisation)
    item = item_approve(item=item, actor=reviewer, changes={"category": "furniture"})
    item.refresh_from_db()
    assert item.status == ItemStatus.LISTED and item.ships is False


def test_only_the_giver_agrees_to_ship_from_home_the_manager_may_turn_it_off() -> None:
    kept = ItemFactory(status=ItemStatus.IN_REVIEW, category="books", weight_grams=900, postal_code="64000")
    reviewer = manager_of(kept.campaign.organisation)
    with pytest.raises(ParcelNotAgreed):
        item_approve(item=kept, actor=reviewer, changes={"ships": True})
    agreed = ItemFactory(
        status=ItemStatus.IN_REVIEW, category="books", weight_grams=900, postal_code="64000", ships=True
    )
    item_approve(item=agreed, actor=manager_of(agreed.campaign.organisation), changes={"ships": False})
    agreed.refresh_from_db()
    assert agreed.ships is False


def test_the_review_form_shows_weight_and_parcels_and_locks_them_for_a_giver_who_did_not_agree() -> None:
    kept = ItemFactory(status=ItemStatus.IN_REVIEW, postal_code="64000", weight_grams=900, category="books")
    form = ReviewForm(item=kept, prefix="x")
    assert form.fields["ships"].disabled and "weight_grams" in form.fields
    standing = ItemFactory(status=ItemStatus.IN_REVIEW, weight_grams=900, category="books")
    assert not ReviewForm(item=standing).fields["ships"].disabled


def test_the_review_page_offers_parcels_checked_for_an_object_the_organisation_will_ship(client: Client) -> None:
    item = ItemFactory(status=ItemStatus.IN_REVIEW, weight_grams=900, category="books", handover="drop_off")
    client.force_login(manager_of(item.campaign.organisation))
    html = client.get("/gestion/relecture/").content.decode()
    assert f'name="item{item.pk}-ships"' in html
    assert "Accepter, en attente de dépôt" in html


# --- Dropped at the organisation before it is listed ------------------------------------------------------


def test_a_dropped_off_object_waits_accepted_then_is_listed_at_the_organisation_and_its_seller_receipted(
    settings: Any,
) -> None:
    settings.RECEIPT_RETURN_PERIOD_DAYS = 14
    seller = giver()  # lives in Pau, 64000
    campaign = ready_campaign()
    item = ItemFactory(
        owner=seller,
        campaign=campaign,
        status=ItemStatus.IN_REVIEW,
        handover=Item.Handover.DROP_OFF,
        postal_code="64000",
        department="64",
        category="books",
        weight_grams=900,
    )
    reviewer = manager_of(campaign.organisation)
    item = item_approve(item=item, actor=reviewer, changes={"ships": True})
    item.refresh_from_db()
    # Accepted, not listed: nobody can buy what the organisation does not hold yet.
    assert item.status == ItemStatus.ACCEPTED and item.ships
    assert not Item.objects.filter(pk=item.pk, status__in=["listed"]).exists()

    item_receive(item=item, actor=reviewer)
    item.refresh_from_db()
    steps = list(item.transitions.order_by("id").values_list("to_status", flat=True))
    assert steps == ["in_review", "accepted", "received", "listed"]
    # It stands at the organisation now: its stock, home delivery possible; still the seller's.
    assert item.postal_code == "" and item.department == campaign.organisation.postal_code[:2]
    assert item.owner == seller and item.received_at is not None
    assert item.delivery_methods == ["collection", "relay", "home"]

    order = paid_order(item)
    item.refresh_from_db()
    assert item.status == ItemStatus.SOLD
    order = handed_over(order)
    handed_over_days_ago(order, 15)
    assert receipts_issue_due() == 1
    from receipts.models import TaxReceipt

    assert TaxReceipt.objects.get().giver == seller


def test_an_object_kept_at_home_cannot_be_marked_received() -> None:
    item = ItemFactory(status=ItemStatus.LISTED, postal_code="64000")
    from donations.services import WrongKind

    with pytest.raises(WrongKind):
        item_receive(item=item, actor=manager_of(item.campaign.organisation))


def test_the_drop_off_choice_through_the_api_and_the_manager_receives_it(api: APIClient) -> None:
    donor = UserFactory(postal_code="64000")
    campaign = CampaignFactory()
    api.force_authenticate(donor)
    body = api.post("/api/items/", item_post_data(campaign, handover="drop_off"), format="multipart").json()
    assert body["handover"] == "drop_off"
    reviewer = manager_of(campaign.organisation)
    api.force_authenticate(reviewer)
    assert api.post(f"/api/items/{body['id']}/approve/", {}, format="json").json()["status"] == "accepted"
    assert api.post(f"/api/items/{body['id']}/receive/").json()["status"] == "listed"


# --- The catalogue's delivery filter --------------------------------------------------------------------


def test_the_catalogue_filters_objects_that_ship_to_relay_points_and_homes(api: APIClient, settings: Any) -> None:
    settings.CATALOGUE_CACHE_SECONDS = 0
    campaign = CampaignFactory()
    standing = ItemFactory(campaign=campaign, weight_grams=900, ships=True, title="Lampe")
    kept = ItemFactory(campaign=campaign, weight_grams=900, ships=True, postal_code="69001", title="Ukulélé")
    ItemFactory(campaign=campaign, title="Buffet", category="furniture")

    def ids(query: str) -> set[int]:
        return {row["id"] for row in api.get(f"/api/items/?{query}").json()["results"]}

    assert ids("delivery=relay") == {standing.pk, kept.pk}
    assert ids("delivery=home") == {standing.pk}
    assert len(ids("delivery=collection")) == 3
    assert api.get("/api/items/?delivery=drone").status_code == 400
    page = Client().get("/objets/?delivery=home").content.decode()
    assert "Lampe" in page and "Ukulélé" not in page and "Buffet" not in page


def test_item_update_by_its_owner_keeps_the_rule() -> None:
    donor = UserFactory()
    item = ItemFactory(owner=donor, status=ItemStatus.IN_REVIEW, category="books", weight_grams=800)
    item_update(item=item, actor=donor, changes={"ships": True})
    item_update(item=item, actor=donor, changes={"weight_grams": 30_000})
    item.refresh_from_db()
    assert item.ships is False
