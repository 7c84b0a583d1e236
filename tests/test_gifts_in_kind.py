"""An object offered to an organisation: accepted or declined, handed over,
then possibly listed by the organisation, which owns it by then."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from donations.models import Item, ItemStatus, ItemTransition
from tests.factories import CampaignFactory, GiftInKindFactory, ItemFactory, UserFactory, item_post_data, manager_of

pytestmark = pytest.mark.django_db


def test_a_donor_offers_an_object_with_pick_up_and_no_price(api: APIClient) -> None:
    donor = UserFactory()
    api.force_authenticate(donor)
    data = item_post_data(CampaignFactory(), kind="gift_in_kind", handover="pick_up", handover_note="3e étage")
    del data["price_cents"]

    response = api.post("/api/items/", data, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["status"], body["price_cents"]) == ("gift_in_kind", "in_review", None)
    assert (body["handover"], body["handover_note"]) == ("pick_up", "3e étage")
    assert Item.objects.get().donor == donor


def test_a_gift_in_kind_needs_a_hand_over_choice_and_a_sale_needs_a_price(api: APIClient) -> None:
    api.force_authenticate(UserFactory())
    campaign = CampaignFactory()
    gift = item_post_data(campaign, kind="gift_in_kind")
    sale = item_post_data(campaign)
    del sale["price_cents"]
    assert api.post("/api/items/", gift, format="multipart").json()["fields"] == {
        "handover": ["Choisissez comment remettre l'objet."]
    }
    assert list(api.post("/api/items/", sale, format="multipart").json()["fields"]) == ["price_cents"]
    assert not Item.objects.exists()


def test_the_organisation_accepts_receives_and_lists_the_gift_and_owns_it(api: APIClient) -> None:
    gift = GiftInKindFactory(status=ItemStatus.IN_REVIEW, handover=Item.Handover.PICK_UP)
    donor = gift.owner
    donor.city = "Pau"
    donor.save()
    manager = manager_of(gift.campaign.organisation)
    api.force_authenticate(manager)

    accepted = api.post(f"/api/items/{gift.pk}/accept/").json()
    assert accepted["status"] == "accepted"
    assert accepted["donor_contact"]["city"] == "Pau"
    assert [e["id"] for e in api.get("/api/items/managed/?status=accepted").json()["results"]] == [gift.pk]

    received = api.post(f"/api/items/{gift.pk}/receive/").json()
    assert received["status"] == "received" and received["received_at"]
    gift.refresh_from_db()
    assert gift.owner is None and gift.donor == donor

    listed = api.post(f"/api/items/{gift.pk}/list/", {"price_cents": 4500, "title": "Fauteuil"}, format="json")
    assert listed.status_code == 200, listed.content
    gift.refresh_from_db()
    assert (gift.status, gift.price_cents, gift.title) == (ItemStatus.LISTED, 4500, "Fauteuil")
    steps = list(ItemTransition.objects.filter(item=gift).values_list("to_status", "actor"))
    assert steps[-3:] == [("accepted", manager.pk), ("received", manager.pk), ("listed", manager.pk)]

    # The donor still sees it, but can no longer change or take back what they gave.
    api.force_authenticate(donor)
    mine = api.get("/api/items/mine/").json()["results"]
    assert [(e["id"], e["status"]) for e in mine] == [(gift.pk, "listed")]
    assert api.delete(f"/api/items/{gift.pk}/").status_code == 403
    assert Item.objects.get(pk=gift.pk).status == ItemStatus.LISTED


def test_the_organisation_declines_a_gift_with_a_reason(api: APIClient) -> None:
    gift = GiftInKindFactory(status=ItemStatus.IN_REVIEW)
    api.force_authenticate(manager_of(gift.campaign.organisation))
    response = api.post(f"/api/items/{gift.pk}/reject/", {"reason": "Nous n'avons plus de place"}, format="json")
    assert response.status_code == 200
    gift.refresh_from_db()
    assert (gift.status, gift.rejection_reason) == (ItemStatus.REJECTED, "Nous n'avons plus de place")


def test_the_donor_may_take_back_an_accepted_gift_before_the_hand_over(api: APIClient) -> None:
    gift = GiftInKindFactory(status=ItemStatus.ACCEPTED)
    api.force_authenticate(gift.owner)
    assert api.post(f"/api/items/{gift.pk}/withdraw/").status_code == 200
    assert Item.objects.get(pk=gift.pk).status == ItemStatus.WITHDRAWN


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ItemStatus.IN_REVIEW, "receive"),  # not accepted yet
        (ItemStatus.IN_REVIEW, "list"),  # not received yet
        (ItemStatus.ACCEPTED, "list"),
        (ItemStatus.RECEIVED, "accept"),
    ],
)
def test_gift_steps_happen_in_order(api: APIClient, status: ItemStatus, action: str) -> None:
    gift = GiftInKindFactory(status=status)
    api.force_authenticate(manager_of(gift.campaign.organisation))
    response = api.post(f"/api/items/{gift.pk}/{action}/", {"price_cents": 1000}, format="json")
    assert response.status_code == 409
    assert Item.objects.get(pk=gift.pk).status == status


def test_a_gift_is_accepted_not_approved_and_a_sale_is_approved_not_accepted(api: APIClient) -> None:
    gift = GiftInKindFactory(status=ItemStatus.IN_REVIEW)
    sale = ItemFactory(campaign=gift.campaign, status=ItemStatus.IN_REVIEW)
    api.force_authenticate(manager_of(gift.campaign.organisation))
    assert api.post(f"/api/items/{gift.pk}/approve/").json()["code"] == "wrong_kind"
    assert api.post(f"/api/items/{sale.pk}/accept/").json()["code"] == "wrong_kind"
    assert Item.objects.get(pk=gift.pk).status == ItemStatus.IN_REVIEW
    assert Item.objects.get(pk=sale.pk).status == ItemStatus.IN_REVIEW


def test_another_organisation_cannot_accept_or_receive_the_gift(api: APIClient) -> None:
    gift = GiftInKindFactory(status=ItemStatus.ACCEPTED)
    api.force_authenticate(manager_of(CampaignFactory().organisation))
    assert api.post(f"/api/items/{gift.pk}/receive/").status_code == 404
    assert Item.objects.get(pk=gift.pk).status == ItemStatus.ACCEPTED
