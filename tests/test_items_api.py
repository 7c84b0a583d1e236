"""Donors post, edit and withdraw their objects; managers approve or reject them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from campaigns.models import Campaign
from donations.models import Item, ItemStatus, ItemTransition
from tests.factories import CampaignFactory, ItemFactory, UserFactory, item_post_data, manager_of, upload

pytestmark = pytest.mark.django_db

PUBLIC_FIELDS = {
    "id",
    "title",
    "description",
    "price_cents",
    "currency",
    "status",
    "condition",
    "campaign",
    "photos",
    "url",
    "short_url",
}


def test_posting_an_object_creates_it_in_review_with_its_photos(api: APIClient) -> None:
    donor = UserFactory()
    campaign = CampaignFactory(slug="un-toit")
    api.force_authenticate(donor)

    response = api.post("/api/items/", item_post_data(campaign), format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= PUBLIC_FIELDS
    assert body["status"] == "in_review"
    assert body["campaign"] == {"slug": "un-toit", "title": campaign.title}
    assert body["price_cents"] == 3500 and body["currency"] == "EUR"
    assert [(p["width"], p["height"]) for p in body["photos"]] == [(640, 480)]
    assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [("draft", "in_review")]
    item = Item.objects.get()
    assert item.owner == donor and item.kind == Item.Kind.SALE
    assert ItemTransition.objects.get(item=item, to_status="in_review").actor == donor


def test_posting_needs_a_signed_in_person(api: APIClient) -> None:
    response = api.post("/api/items/", item_post_data(CampaignFactory()), format="multipart")
    assert response.status_code in (401, 403)
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price_cents": 0}, "price_cents"),
        ({"price_cents": "12.50"}, "price_cents"),
        ({"title": ""}, "title"),
        ({"condition": "mint"}, "condition"),
        ({"campaign": "nope"}, "campaign"),
    ],
)
def test_bad_fields_are_reported_on_their_field_and_nothing_is_written(
    api: APIClient, overrides: dict[str, object], field: str
) -> None:
    api.force_authenticate(UserFactory())
    response = api.post("/api/items/", item_post_data(CampaignFactory(), **overrides), format="multipart")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Item.objects.exists()


def test_a_closed_campaign_receives_no_objects(api: APIClient) -> None:
    api.force_authenticate(UserFactory())
    campaign = CampaignFactory(status=Campaign.Status.CLOSED)
    response = api.post("/api/items/", item_post_data(campaign), format="multipart")
    assert response.status_code == 400
    assert "campaign" in response.json()["fields"]


def test_the_donor_sees_their_objects_in_every_state_with_history_and_reason(api: APIClient) -> None:
    donor = UserFactory()
    rejected = ItemFactory(owner=donor, status=ItemStatus.IN_REVIEW)
    rejected_by = manager_of(rejected.campaign.organisation)
    api.force_authenticate(rejected_by)
    api.post(f"/api/items/{rejected.pk}/reject/", {"reason": "Photo floue"}, format="json")
    draft = ItemFactory(owner=donor, status=ItemStatus.DRAFT)
    ItemFactory(status=ItemStatus.LISTED)  # someone else's
    api.force_authenticate(donor)

    body = api.get("/api/items/mine/").json()

    by_id = {entry["id"]: entry for entry in body["results"]}
    assert set(by_id) == {rejected.pk, draft.pk}
    assert by_id[rejected.pk]["status"] == "rejected"
    assert by_id[rejected.pk]["rejection_reason"] == "Photo floue"
    assert [h["to_status"] for h in by_id[rejected.pk]["history"]] == ["in_review", "rejected"]
    assert by_id[draft.pk]["editable"] is True and by_id[rejected.pk]["editable"] is False


@pytest.mark.parametrize("status", [ItemStatus.DRAFT, ItemStatus.IN_REVIEW])
def test_the_owner_edits_an_object_while_draft_or_in_review(api: APIClient, status: ItemStatus) -> None:
    item = ItemFactory(status=status)
    api.force_authenticate(item.owner)
    response = api.patch(f"/api/items/{item.pk}/", {"title": "Buffet en chêne", "price_cents": 9000}, format="json")
    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert (item.title, item.price_cents, item.status) == ("Buffet en chêne", 9000, status)


@pytest.mark.parametrize("status", [ItemStatus.LISTED, ItemStatus.SOLD, ItemStatus.REJECTED])
def test_the_owner_cannot_edit_an_object_once_reviewed(api: APIClient, status: ItemStatus) -> None:
    item = ItemFactory(status=status, title="Avant")
    api.force_authenticate(item.owner)
    response = api.patch(f"/api/items/{item.pk}/", {"title": "Après"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "item_not_editable"
    assert Item.objects.get(pk=item.pk).title == "Avant"


def test_a_put_is_not_offered(api: APIClient) -> None:
    item = ItemFactory(status=ItemStatus.DRAFT)
    api.force_authenticate(item.owner)
    assert api.put(f"/api/items/{item.pk}/", {"title": "x"}, format="json").status_code == 405


@pytest.mark.parametrize("status", [ItemStatus.DRAFT, ItemStatus.IN_REVIEW, ItemStatus.LISTED])
def test_the_owner_withdraws_an_object_not_reserved_or_sold(api: APIClient, status: ItemStatus) -> None:
    item = ItemFactory(status=status)
    api.force_authenticate(item.owner)
    response = api.delete(f"/api/items/{item.pk}/")
    assert response.status_code == 204
    assert Item.objects.get(pk=item.pk).status == ItemStatus.WITHDRAWN
    assert ItemTransition.objects.filter(item=item, to_status="withdrawn", actor=item.owner).count() == 1


@pytest.mark.parametrize("status", [ItemStatus.RESERVED, ItemStatus.SOLD, ItemStatus.WITHDRAWN])
def test_a_reserved_sold_or_withdrawn_object_cannot_be_withdrawn(api: APIClient, status: ItemStatus) -> None:
    item = ItemFactory(status=status)
    api.force_authenticate(item.owner)
    response = api.post(f"/api/items/{item.pk}/withdraw/")
    assert response.status_code == 409
    assert response.json()["code"] == "item_not_withdrawable"
    assert Item.objects.get(pk=item.pk).status == status


def test_withdraw_action_returns_the_item_with_its_history(api: APIClient) -> None:
    item = ItemFactory(status=ItemStatus.LISTED)
    api.force_authenticate(item.owner)
    body = api.post(f"/api/items/{item.pk}/withdraw/").json()
    assert body["status"] == "withdrawn"
    assert body["history"][-1]["to_status"] == "withdrawn"


def test_a_manager_approves_with_last_edits_and_the_item_is_listed(api: APIClient) -> None:
    item = ItemFactory(status=ItemStatus.IN_REVIEW, price_cents=2000)
    manager = manager_of(item.campaign.organisation)
    api.force_authenticate(manager)

    response = api.post(f"/api/items/{item.pk}/approve/", {"title": "Titre relu", "price_cents": 2500}, format="json")

    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert (item.status, item.title, item.price_cents) == (ItemStatus.LISTED, "Titre relu", 2500)
    last = ItemTransition.objects.filter(item=item).last()
    assert last is not None and (last.to_status, last.actor) == ("listed", manager)
    assert APIClient().get(f"/api/items/{item.pk}/").status_code == 200


def test_a_manager_rejects_with_a_reason_the_donor_reads(api: APIClient) -> None:
    item = ItemFactory(status=ItemStatus.IN_REVIEW)
    api.force_authenticate(manager_of(item.campaign.organisation))
    assert api.post(f"/api/items/{item.pk}/reject/", {"reason": ""}, format="json").status_code == 400
    response = api.post(f"/api/items/{item.pk}/reject/", {"reason": "Objet interdit à la vente"}, format="json")
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.status, item.rejection_reason) == (ItemStatus.REJECTED, "Objet interdit à la vente")
    assert APIClient().get(f"/api/items/{item.pk}/").status_code == 404


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_only_an_item_in_review_can_be_reviewed(api: APIClient, action: str) -> None:
    item = ItemFactory(status=ItemStatus.LISTED)
    api.force_authenticate(manager_of(item.campaign.organisation))
    response = api.post(f"/api/items/{item.pk}/{action}/", {"reason": "non"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "transition_refused"


def test_a_donor_cannot_approve_their_own_item(api: APIClient) -> None:
    item = ItemFactory(status=ItemStatus.IN_REVIEW)
    api.force_authenticate(item.owner)
    assert api.post(f"/api/items/{item.pk}/approve/").status_code == 404
    assert Item.objects.get(pk=item.pk).status == ItemStatus.IN_REVIEW


def test_a_manager_cannot_approve_an_object_they_posted_themselves(api: APIClient) -> None:
    campaign = CampaignFactory()
    manager = manager_of(campaign.organisation)
    item = ItemFactory(owner=manager, campaign=campaign, status=ItemStatus.IN_REVIEW)
    api.force_authenticate(manager)
    response = api.post(f"/api/items/{item.pk}/approve/")
    assert response.status_code == 403
    assert response.json()["code"] == "own_item_review"
    assert Item.objects.get(pk=item.pk).status == ItemStatus.IN_REVIEW


def test_the_review_queue_lists_only_items_in_review_of_the_managers_organisations(api: APIClient) -> None:
    mine = ItemFactory(status=ItemStatus.IN_REVIEW)
    manager = manager_of(mine.campaign.organisation)
    ItemFactory(status=ItemStatus.IN_REVIEW)  # another organisation's
    ItemFactory(campaign=mine.campaign, status=ItemStatus.LISTED)
    api.force_authenticate(manager)
    body = api.get("/api/items/review/").json()
    assert [entry["id"] for entry in body["results"]] == [mine.pk]


def test_a_manager_sees_their_organisations_items_in_review_in_the_list(api: APIClient) -> None:
    mine = ItemFactory(status=ItemStatus.IN_REVIEW)
    other = ItemFactory(status=ItemStatus.IN_REVIEW)
    api.force_authenticate(manager_of(mine.campaign.organisation))
    ids = [entry["id"] for entry in api.get("/api/items/?status=in_review").json()["results"]]
    assert ids == [mine.pk] and other.pk not in ids


def test_the_item_list_stays_a_fixed_number_of_queries(api: APIClient, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    campaign = CampaignFactory()
    manager = manager_of(campaign.organisation)
    for _ in range(6):
        ItemFactory(campaign=campaign, status=ItemStatus.IN_REVIEW)
    api.force_authenticate(manager)
    api.get("/api/items/review/")  # the first listing gives each item its short code
    with django_assert_max_num_queries(4):
        api.get("/api/items/review/")


def test_uploading_a_photo_posted_as_a_single_file_works(api: APIClient) -> None:
    from tests.factories import image_bytes

    api.force_authenticate(UserFactory())
    data = item_post_data(CampaignFactory(), photos=upload("one.jpg", image_bytes((200, 200), "JPEG")))
    assert api.post("/api/items/", data, format="multipart").status_code == 201


@pytest.mark.parametrize("path", ["/api/items/mine/", "/api/items/managed/"])
def test_my_and_managed_lists_take_a_fixed_number_of_queries(
    api: APIClient,
    django_assert_max_num_queries,
    path: str,  # type: ignore[no-untyped-def]
) -> None:
    campaign = CampaignFactory()
    donor = UserFactory()
    manager = manager_of(campaign.organisation)
    for status in (ItemStatus.IN_REVIEW, ItemStatus.LISTED, ItemStatus.REJECTED, ItemStatus.DRAFT):
        ItemFactory(campaign=campaign, owner=donor, status=status)
    api.force_authenticate(donor if path.endswith("mine/") else manager)
    with django_assert_max_num_queries(5):
        response = api.get(path)
    assert response.json()["count"] == 4
