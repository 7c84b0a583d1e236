"""Walks every operation of the OpenAPI schema as a manager of organisation A,
an admin, a treasurer and a volunteer of A, a manager of organisation B, a donor,
an anonymous visitor (and the owner of the object), against objects of A: only
the right people succeed; the others get 401, 403 or 404 and never A's data.
Roles: what a manager of A may do, A's admin may too; A's treasurer and volunteer
manage no objects and no campaigns (campaigns.permissions).

Every operation of the schema must be classified in ``RULES``: a new
endpoint fails this test until someone says who may use it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import Campaign, Membership
from donations.models import Item, ItemStatus
from tests.factories import (
    CampaignFactory,
    GiftInKindFactory,
    ItemFactory,
    OrganisationFactory,
    UserFactory,
    manager_of,
)

pytestmark = pytest.mark.django_db

PEOPLE = ("manager_a", "admin_a", "treasurer_a", "volunteer_a", "manager_b", "donor", "anonymous", "owner")
DENIED = {401, 403, 404}
SECRET_TITLE = "Objet privé de A"


@dataclass(frozen=True)
class Rule:
    kind: str  # "object": acts on one item of A; "list": may list it; "self": the caller's own data; "open"
    allowed: frozenset[str]
    body: Any = None
    gift_status: ItemStatus | None = None  # act on a gift in kind in this status instead of a sale in review
    campaign_status: str = Campaign.Status.DRAFT  # the status of A's campaign for {slug} paths


def rule(
    kind: str,
    *allowed: str,
    body: Any = None,
    gift_status: ItemStatus | None = None,
    campaign_status: str = Campaign.Status.DRAFT,
) -> Rule:
    # An admin holds every permission of a manager (campaigns.permissions).
    admin = ("admin_a",) if "manager_a" in allowed else ()
    return Rule(kind, frozenset((*allowed, *admin)), body, gift_status, campaign_status)


RULES: dict[tuple[str, str], Rule] = {
    ("post", "/api/accounts/"): rule("open"),
    ("post", "/api/auth/token/"): rule("open"),
    ("post", "/api/accounts/verify/"): rule("open", body={"token": "forged"}),
    ("post", "/api/accounts/verify/resend/"): rule("self"),
    ("post", "/api/auth/logout/"): rule("self"),
    ("post", "/api/me/password/"): rule("self", body={"old_password": "not-the-password", "new_password": "x"}),
    ("get", "/api/campaigns/"): rule("list"),  # A's draft campaign is listed for nobody
    ("get", "/api/campaigns/{slug}/"): rule("object"),  # … nor shown
    ("get", "/api/items/"): rule("list", "manager_a", "owner"),
    ("post", "/api/items/"): rule("open"),  # creates the caller's own item; covered in test_items_api
    ("get", "/api/items/{id}/"): rule("object", "manager_a", "owner"),
    ("patch", "/api/items/{id}/"): rule("object", "owner", body={"title": "Piraté"}),
    ("delete", "/api/items/{id}/"): rule("object", "owner"),
    ("post", "/api/items/{id}/withdraw/"): rule("object", "owner"),
    ("post", "/api/items/{id}/approve/"): rule("object", "manager_a", body={"title": "Piraté"}),
    ("post", "/api/items/{id}/reject/"): rule("object", "manager_a", body={"reason": "Piraté"}),
    ("post", "/api/items/{id}/accept/"): rule("object", "manager_a", gift_status=ItemStatus.IN_REVIEW),
    ("post", "/api/items/{id}/receive/"): rule("object", "manager_a", gift_status=ItemStatus.ACCEPTED),
    ("post", "/api/items/{id}/list/"): rule(
        "object", "manager_a", body={"price_cents": 1000}, gift_status=ItemStatus.RECEIVED
    ),
    ("get", "/api/items/mine/"): rule("list", "owner"),
    ("get", "/api/items/managed/"): rule("list", "manager_a"),
    ("get", "/api/items/review/"): rule("list", "manager_a"),
    ("get", "/api/manage/campaigns/"): rule("list", "manager_a"),
    ("post", "/api/manage/campaigns/"): rule("create", "manager_a"),
    ("get", "/api/manage/campaigns/{slug}/"): rule("object", "manager_a"),
    ("patch", "/api/manage/campaigns/{slug}/"): rule("object", "manager_a", body={"title": "Piraté"}),
    ("post", "/api/manage/campaigns/{slug}/publish/"): rule("object", "manager_a"),
    ("post", "/api/manage/campaigns/{slug}/close/"): rule("object", "manager_a", campaign_status=Campaign.Status.LIVE),
    ("get", "/api/me/"): rule("self"),
    ("patch", "/api/me/"): rule("self", body={"city": "Ailleurs"}),
    ("delete", "/api/me/"): rule("self", body={"password": "not-the-password"}),
    ("get", "/api/me/export/"): rule("self"),
    ("get", "/api/me/gifts/"): rule("self"),
    ("get", "/api/me/orders/"): rule("self"),
    # An item in review cannot be bought, nor a draft campaign given to, by anyone.
    ("post", "/api/items/{id}/checkout/"): rule("object", body={"email": "pirate@example.org"}),
    # Anyone starts a basket of public items; an item in review is "unavailable" (test_orders_api).
    ("post", "/api/orders/"): rule("open"),
    ("get", "/api/delivery/quote/"): rule("open"),
    ("post", "/api/campaigns/{slug}/gifts/"): rule("object", body={"amount_cents": 1000, "email": "p@example.org"}),
    # Refunds act on orders and gifts; with an item's id nobody reaches anything (scoping tested in payments).
    ("post", "/api/orders/{id}/refund/"): rule("object", body={"reason": "Piraté"}),
    ("post", "/api/gifts/{id}/refund/"): rule("object", body={"reason": "Piraté"}),
    ("get", "/api/windows/"): rule("open"),
    ("get", "/api/windows/{id}/"): rule("object"),
    ("get", "/api/windows/{id}/funnel/"): rule("object"),
    # Receipts: the caller's own; hand-over and cancellation act on orders and receipts, not items.
    ("get", "/api/me/receipts/"): rule("self"),
    ("get", "/api/me/receipts/status/"): rule("self"),
    ("patch", "/api/me/receipts/status/"): rule("self", body={"consolidated": True}),
    ("post", "/api/orders/{id}/hand-over/"): rule("object", body={"claim_code": "ABCDEFGHJK"}),
    # An order's parts: its buyer (token) and senders only; an item's id reaches no one's (test_parcels_pages).
    ("get", "/api/orders/{id}/"): rule("object"),
    ("post", "/api/receipts/{id}/cancel/"): rule("object", body={"reason": "Piraté"}),
    # Saved searches: the caller's own; with an item's id nobody deletes anything (scoping in test_alerts_api).
    ("get", "/api/alerts/"): rule("self"),
    ("post", "/api/alerts/"): rule("self", body={"q": "vélo"}),
    ("delete", "/api/alerts/{id}/"): rule("object"),
    # Relay points near a postal code: the carrier's public list, nobody's data.
    ("get", "/api/delivery/relay-points/"): rule("open"),
}


@functools.cache
def schema_operations() -> frozenset[tuple[str, str]]:
    document = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    methods = {"get", "post", "put", "patch", "delete"}
    return frozenset((m, path) for path, ops in document["paths"].items() for m in ops if m in methods)


@pytest.fixture
def world() -> dict[str, Any]:
    organisation_a, organisation_b = OrganisationFactory(), OrganisationFactory()
    campaign_a = CampaignFactory(organisation=organisation_a)
    CampaignFactory(organisation=organisation_b)
    people = {
        "manager_a": manager_of(organisation_a),
        "admin_a": manager_of(organisation_a, role=Membership.Role.ADMIN),
        "treasurer_a": manager_of(organisation_a, role=Membership.Role.TREASURER),
        "volunteer_a": manager_of(organisation_a, role=Membership.Role.VOLUNTEER),
        "manager_b": manager_of(organisation_b),
        "donor": UserFactory(),
        "owner": UserFactory(),
    }
    draft_campaign = CampaignFactory(organisation=organisation_a, status=Campaign.Status.DRAFT, title=SECRET_TITLE)
    return {"campaign": campaign_a, "draft_campaign": draft_campaign, "people": people}


def client_for(world: dict[str, Any], who: str) -> APIClient:
    client = APIClient()
    if who != "anonymous":
        token = Token.objects.create(user=world["people"][who])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def secret_item(world: dict[str, Any], gift_status: ItemStatus | None = None) -> Item:
    if gift_status is not None:
        return GiftInKindFactory(
            campaign=world["campaign"], owner=world["people"]["owner"], status=gift_status, title=SECRET_TITLE
        )
    return ItemFactory(
        campaign=world["campaign"], owner=world["people"]["owner"], status=ItemStatus.IN_REVIEW, title=SECRET_TITLE
    )


def call(client: APIClient, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, body if body is not None else {}, format="json")


def test_every_operation_of_the_schema_is_classified() -> None:
    assert schema_operations() == set(RULES), "classify the new endpoints in RULES"


@pytest.mark.parametrize(("method", "path"), sorted(RULES))
def test_only_the_right_people_reach_the_objects_of_organisation_a(
    world: dict[str, Any], method: str, path: str
) -> None:
    rule = RULES[(method, path)]
    for who in PEOPLE:
        Token.objects.all().delete()
        client = client_for(world, who)
        item = secret_item(world, rule.gift_status)
        status_before = item.status
        campaign = CampaignFactory(
            organisation=world["campaign"].organisation, status=rule.campaign_status, title=SECRET_TITLE
        )
        url = path.replace("{id}", str(item.pk)).replace("{slug}", campaign.slug)
        body = rule.body
        if rule.kind == "create":
            body = {
                "organisation": world["campaign"].organisation.slug,
                "title": "Nouvelle campagne de A",
                "summary": "…",
                "goal_cents": 10_000,
                "starts_at": "2030-01-01T00:00:00+01:00",
            }
        response = call(client, method, url, body)
        text = response.content.decode()
        allowed = who in rule.allowed
        if rule.kind == "object":
            if allowed:
                assert response.status_code < 300, (who, method, url, text)
            else:
                assert response.status_code in DENIED, (who, method, url, text)
                assert SECRET_TITLE not in text, (who, method, url)
                item.refresh_from_db()
                assert (item.status, item.title) == (status_before, SECRET_TITLE), (who, method, url)
                campaign.refresh_from_db()
                assert (campaign.status, campaign.title) == (rule.campaign_status, SECRET_TITLE), (who, url)
        elif rule.kind == "list":
            if who == "anonymous" and path.endswith(("/mine/", "/review/", "/managed/", "/manage/campaigns/")):
                assert response.status_code in DENIED
            else:
                assert response.status_code == 200, (who, url, text)
                if path.startswith("/api/items/"):
                    ids = [entry.get("id") for entry in response.json()["results"]]
                    assert (item.pk in ids) is allowed, (who, url, ids)
            assert (SECRET_TITLE in text) is allowed, (who, url)
        elif rule.kind == "self":
            if who == "anonymous":
                assert response.status_code in DENIED
            else:
                assert response.status_code < 500
            if who != "owner":
                assert SECRET_TITLE not in text, (who, method, url)
        elif rule.kind == "create":
            created = Campaign.objects.filter(title="Nouvelle campagne de A")
            if allowed:
                assert response.status_code == 201, (who, text)
                assert created.get().organisation == world["campaign"].organisation
            else:
                assert response.status_code in DENIED | {400}, (who, text)
                assert not created.exists(), who
            created.delete()
        else:
            assert SECRET_TITLE not in text, (who, method, url)
        Item.objects.filter(pk=item.pk).delete()
        campaign.delete()


def test_manager_selectors_scope_to_the_managers_organisations(world: dict[str, Any]) -> None:
    from campaigns.selectors import organisations_managed_by
    from donations.selectors import items_managed_by, items_to_review
    from ledger.selectors import campaigns_managed_by

    item = secret_item(world)
    manager_a, manager_b = world["people"]["manager_a"], world["people"]["manager_b"]
    assert list(organisations_managed_by(manager_a)) == [world["campaign"].organisation]
    assert set(campaigns_managed_by(manager_a)) == {world["campaign"], world["draft_campaign"]}
    assert list(items_managed_by(manager_a)) == [item] and list(items_to_review(manager_a)) == [item]
    assert not items_managed_by(manager_b).exists() and not items_to_review(manager_b).exists()
    assert not items_managed_by(world["people"]["donor"]).exists()
    manager_a.is_active = False
    assert not organisations_managed_by(manager_a).exists()
