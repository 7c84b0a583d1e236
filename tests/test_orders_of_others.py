"""Another organisation's order or gift answers exactly like one that does not exist:
refunds and hand-overs give no hint that an id is in use elsewhere."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from donations.models import Fulfilment, OrderLine, PaymentStatus
from tests.factories import CampaignFactory, ItemFactory, OrganisationFactory, manager_of
from tests.receipts_support import paid_gift, paid_order

pytestmark = pytest.mark.django_db


def answers(api: APIClient, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    response = api.post(path, body, format="json")
    return response.status_code, response.json()


@pytest.mark.parametrize("kind", ["orders", "gifts"])
def test_refunding_another_organisations_payment_answers_like_a_missing_one(api: APIClient, kind: str) -> None:
    campaign = CampaignFactory(status="live")
    target = paid_order(ItemFactory(campaign=campaign)) if kind == "orders" else paid_gift(campaign)
    api.force_authenticate(manager_of(OrganisationFactory()))
    body = {"reason": "test"}
    theirs = answers(api, f"/api/{kind}/{target.pk}/refund/", body)
    missing = answers(api, f"/api/{kind}/{target.pk + 1000}/refund/", body)
    assert theirs == missing
    assert theirs[0] == 404
    assert type(target).objects.get(pk=target.pk).status == PaymentStatus.PAID


def test_handing_over_another_organisations_order_answers_like_a_missing_one(api: APIClient) -> None:
    order = paid_order(ItemFactory(campaign=CampaignFactory(status="live")))
    api.force_authenticate(manager_of(OrganisationFactory()))
    body = {"claim_code": Fulfilment.objects.get(order=order).claim_code}
    theirs = answers(api, f"/api/orders/{order.pk}/hand-over/", body)
    missing = answers(api, f"/api/orders/{order.pk + 1000}/hand-over/", body)
    assert theirs == missing
    assert theirs[0] == 404
    assert Fulfilment.objects.get(order=order).handed_over_at is None


def test_refunding_a_line_of_another_organisations_order_answers_like_a_missing_one(api: APIClient) -> None:
    order = paid_order(ItemFactory(campaign=CampaignFactory(status="live")))
    line = OrderLine.objects.get(order=order)
    api.force_authenticate(manager_of(OrganisationFactory()))
    theirs = answers(api, f"/api/orders/{order.pk}/refund/", {"reason": "test", "line": line.pk})
    missing = answers(api, f"/api/orders/{order.pk + 1000}/refund/", {"reason": "test", "line": line.pk})
    assert theirs == missing and theirs[0] == 404
    assert OrderLine.objects.get(pk=line.pk).refunded_cents == 0
