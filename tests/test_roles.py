"""Roles of an organisation (admin, treasurer, manager, volunteer): one table of
permissions (campaigns.permissions), one check (campaigns.selectors.user_may), and
every page and endpoint asking for its own permission. A member whose role lacks
it is told so (403) where the service says so, or sees nothing; another
organisation's member gets the answer of a missing object (404)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Membership, Organisation
from campaigns.permissions import PERMISSIONS, ROLE_RANK, Permission, role_permissions
from campaigns.selectors import organisations_user_may, permission_require, user_may
from donations.models import Fulfilment, Gift, ItemStatus, Order, OrderLine, PaymentStatus, Refund
from kernel.errors import NotFound, PermissionDenied
from receipts.models import TaxReceipt
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, UserFactory, manager_of
from tests.receipts_support import paid_gift, paid_order, ready_organisation
from tests.test_receipts_api_and_pages import receipts_for

pytestmark = pytest.mark.django_db

Role = Membership.Role


def team(organisation: Organisation) -> dict[str, Any]:
    return {role: manager_of(organisation, role=role) for role in Role.values}


def api_as(user: Any) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


# --- The table ----------------------------------------------------------------------------------


def test_every_permission_names_its_roles_and_the_admin_holds_them_all() -> None:
    assert set(PERMISSIONS) == set(Permission)
    assert role_permissions(Role.ADMIN) == list(Permission)
    assert set(role_permissions(Role.VOLUNTEER)) == {Permission.HAND_OVER, Permission.DASHBOARD}
    assert Permission.REFUND in role_permissions(Role.TREASURER)
    assert Permission.REFUND not in role_permissions(Role.MANAGER)
    assert Permission.OBJECTS in role_permissions(Role.MANAGER)
    assert Permission.OBJECTS not in role_permissions(Role.TREASURER)
    assert set(ROLE_RANK) == set(Role.values)


def test_user_may_reads_the_table_for_one_organisation_only() -> None:
    organisation, other = OrganisationFactory(), OrganisationFactory()
    people = team(organisation)
    for role, person in people.items():
        for permission in Permission:
            assert user_may(person, organisation.pk, permission) is (role in PERMISSIONS[permission]), (
                role,
                permission,
            )
            assert not user_may(person, other.pk, permission)  # tenant isolation
        assert set(organisations_user_may(person, Permission.HAND_OVER)) == {organisation}
    assert list(organisations_user_may(people[Role.VOLUNTEER], Permission.REFUND)) == []
    closed = manager_of(organisation, role=Role.ADMIN, is_active=False)
    assert not user_may(closed, organisation.pk, Permission.TEAM)
    assert not user_may(AnonymousUser(), organisation.pk, Permission.DASHBOARD)
    assert user_may(UserFactory(is_superuser=True, is_staff=True), other.pk, Permission.REFUND)


def test_a_member_without_the_permission_is_refused_and_a_stranger_is_told_nothing() -> None:
    organisation = OrganisationFactory()
    volunteer = manager_of(organisation, role=Role.VOLUNTEER)
    with pytest.raises(PermissionDenied):
        permission_require(volunteer, organisation.pk, Permission.REFUND)
    with pytest.raises(NotFound):
        permission_require(manager_of(OrganisationFactory(), role=Role.ADMIN), organisation.pk, Permission.REFUND)
    permission_require(volunteer, organisation.pk, Permission.HAND_OVER)  # no error


# --- Refunds: treasurers and admins -----------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.VOLUNTEER, 403), (Role.MANAGER, 403), (Role.TREASURER, 201), (Role.ADMIN, 201)],
)
def test_only_treasurers_and_admins_refund(role: str, status: int) -> None:
    campaign = CampaignFactory()
    gift = paid_gift(campaign, 2000)
    response = api_as(manager_of(campaign.organisation, role=role)).post(
        f"/api/gifts/{gift.pk}/refund/", {"reason": "Erreur"}, format="json"
    )
    assert response.status_code == status, response.content
    if status == 403:
        assert response.json()["code"] == "permission_denied"
        assert not Refund.objects.exists()
        assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.PAID
    else:
        assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.REFUNDED


def test_a_treasurer_of_another_organisation_gets_the_answer_of_a_missing_payment() -> None:
    campaign = CampaignFactory()
    order = paid_order(ItemFactory(campaign=campaign))
    api = api_as(manager_of(OrganisationFactory(), role=Role.TREASURER))
    theirs = api.post(f"/api/orders/{order.pk}/refund/", {"reason": "x"}, format="json")
    missing = api.post(f"/api/orders/{order.pk + 1000}/refund/", {"reason": "x"}, format="json")
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert theirs.status_code == 404
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID


# --- The counter: every role hands over --------------------------------------------------------


def test_a_volunteer_hands_over_at_the_counter_but_not_for_another_organisation(client: Client) -> None:
    campaign = CampaignFactory()
    order = paid_order(ItemFactory(campaign=campaign))
    part = Fulfilment.objects.get(order=order)
    outsider = api_as(manager_of(OrganisationFactory(), role=Role.VOLUNTEER))
    refused = outsider.post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": part.claim_code}, format="json")
    assert refused.status_code == 404
    client.force_login(manager_of(OrganisationFactory(), role=Role.ADMIN))
    assert client.get(f"/retrait/{part.claim_token}/remise/").status_code == 404

    volunteer = manager_of(campaign.organisation, role=Role.VOLUNTEER)
    client.force_login(volunteer)
    assert client.get(f"/retrait/{part.claim_token}/remise/").status_code == 200
    done = api_as(volunteer).post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": part.claim_code}, format="json")
    assert done.status_code == 200
    assert OrderLine.objects.get(order=order).item.status == ItemStatus.HANDED_OVER


def test_a_volunteer_reads_no_orders_and_a_manager_refunds_no_line() -> None:
    campaign = CampaignFactory()
    order = paid_order(ItemFactory(campaign=campaign))
    line = OrderLine.objects.get(order=order)
    for role, answer in ((Role.VOLUNTEER, 403), (Role.MANAGER, 403), (Role.TREASURER, 201)):
        api = api_as(manager_of(campaign.organisation, role=role))
        response = api.post(
            f"/api/orders/{order.pk}/refund/", {"reason": "x", "line": line.pk, "amount_cents": 100}, format="json"
        )
        assert response.status_code == answer, (role, response.content)
    assert [refund.line_id for refund in Refund.objects.all()] == [line.pk]


# --- Objects and campaigns: managers and admins -----------------------------------------------


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.TREASURER])
def test_treasurers_and_volunteers_do_not_review_objects_nor_edit_campaigns(client: Client, role: str) -> None:
    campaign = CampaignFactory()
    item = ItemFactory(campaign=campaign, status=ItemStatus.IN_REVIEW, title="Commode à relire")
    client.force_login(manager_of(campaign.organisation, role=role))
    assert "Commode à relire" not in client.get("/gestion/relecture/").content.decode()
    assert client.post(f"/gestion/relecture/{item.pk}/accepter/", {}).status_code == 404
    assert client.get(f"/gestion/campagnes/{campaign.slug}/").status_code == 404
    item.refresh_from_db()
    assert item.status == ItemStatus.IN_REVIEW

    client.force_login(manager_of(campaign.organisation, role=Role.MANAGER))
    assert "Commode à relire" in client.get("/gestion/relecture/").content.decode()
    assert client.get(f"/gestion/campagnes/{campaign.slug}/").status_code == 200


# --- Money pages: receipts and payouts for treasurers and admins, statements for managers too ----


def test_receipts_belong_to_treasurers_and_admins(client: Client) -> None:
    organisation = ready_organisation()
    [receipt] = receipts_for(organisation, [1500])
    for role in (Role.VOLUNTEER, Role.MANAGER):
        client.force_login(manager_of(organisation, role=role))
        assert receipt.number not in client.get("/gestion/recus/").content.decode()
        assert client.post("/gestion/recus/", {"receipt": receipt.pk, "reason": "x"}).status_code == 403
        assert client.get(f"/gestion/organisations/{organisation.slug}/mentions-legales/").status_code == 404
    assert TaxReceipt.objects.get(pk=receipt.pk).status == TaxReceipt.Status.ISSUED

    client.force_login(manager_of(organisation, role=Role.TREASURER))
    assert receipt.number in client.get("/gestion/recus/").content.decode()
    assert client.get(f"/gestion/organisations/{organisation.slug}/mentions-legales/").status_code == 200
    assert client.post("/gestion/recus/", {"receipt": receipt.pk, "reason": "Nom erroné"}).status_code == 302
    assert TaxReceipt.objects.get(pk=receipt.pk).status == TaxReceipt.Status.CANCELLED


@pytest.mark.parametrize(
    ("role", "payments", "statements", "dashboard"),
    [
        (Role.VOLUNTEER, 404, 404, 200),
        (Role.MANAGER, 404, 200, 200),
        (Role.TREASURER, 200, 200, 200),
        (Role.ADMIN, 200, 200, 200),
    ],
)
def test_each_role_reaches_its_own_pages(
    client: Client, role: str, payments: int, statements: int, dashboard: int
) -> None:
    organisation = OrganisationFactory()
    client.force_login(manager_of(organisation, role=role))
    assert client.get(f"/gestion/organisations/{organisation.slug}/paiements/").status_code == payments
    assert client.get(f"/gestion/releves/{organisation.slug}/").status_code in (
        {statements} if statements == 404 else {200, 302}
    )
    assert client.get("/gestion/tableau-de-bord/").status_code == dashboard
