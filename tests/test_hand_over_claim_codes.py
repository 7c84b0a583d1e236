"""Near misses at the hand-over: a claim code (typed or scanned) that is almost
the buyer's is refused with a field error, and nothing is handed over and no
transfer leaves; only case, spaces and dashes are forgiven. The hand-over page
opened from the claim QR takes its random token as exact, or shows nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Membership
from checkout.services import order_start
from donations.models import Fulfilment, Item, ItemStatus, ItemTransition, Order, OrderLine
from realtime.models import RealtimeEvent
from tests.factories import ItemFactory, manager_of
from tests.receipts_support import paid_order, pay, ready_campaign

pytestmark = pytest.mark.django_db

CODE = "STAR7KQ2MN"  # letters and digits of the claim alphabet, with an S and an "ST" that Unicode can fake


@pytest.fixture
def order() -> Order:
    sold = paid_order(ItemFactory(title="Lampe de bureau", price_cents=2450, campaign=ready_campaign()))
    # A known code, so that each near miss below is exactly one edit away from it.
    Fulfilment.objects.filter(order=sold).update(claim_code=CODE)
    return Order.objects.get(pk=sold.pk)


def part(order: Order) -> Fulfilment:
    """The organisation's part of a one-organisation order: its claim code and token."""
    return Fulfilment.objects.select_related("organisation").get(order=order)


def item_id(order: Order) -> int:
    return OrderLine.objects.get(order=order).item_id


@pytest.fixture
def transfers() -> Iterator[mock.MagicMock]:
    """The organisation's payout, as the hand-over asks for it after commit."""
    with mock.patch("checkout.services.orders.fulfilment_transfer") as fulfilment_transfer:
        yield fulfilment_transfer


def hand_over(api: APIClient, order: Order, claim_code: Any, **headers: str) -> Any:
    return api.post(f"/api/orders/{order.pk}/hand-over/", {"claim_code": claim_code}, format="json", **headers)


def assert_nothing_handed_over(order: Order) -> None:
    assert part(order).handed_over_at is None
    assert Item.objects.get(pk=item_id(order)).status == ItemStatus.SOLD
    assert not ItemTransition.objects.filter(item_id=item_id(order), to_status=ItemStatus.HANDED_OVER).exists()
    assert not RealtimeEvent.objects.filter(type="item.handed_over").exists()


NEAR_MISSES = {
    "one character changed": "STAR7KQ2MP",
    "first character changed": "TTAR7KQ2MN",
    "one character missing at the end": "STAR7KQ2M",
    "one character missing at the start": "TAR7KQ2MN",
    "one character missing inside": "STAR7Q2MN",
    "one character extra at the end": "STAR7KQ2MNX",
    "one character extra at the start": "XSTAR7KQ2MN",
    "two characters swapped": "TSAR7KQ2MN",
    "half the code": "STAR7",
    "a long s that upper-cases to S": "\u017ftar7kq2mn",
    "an st ligature that upper-cases to ST (one character short)": "\ufb06AR7KQ2MN",
    "a full-width S": "\uff33TAR7KQ2MN",
    "an accented letter": "\u00c9TAR7KQ2MN",
    "a dotless i for a letter the alphabet lacks": "STAR7KQ2M\u0131",
    "the code twice": CODE + CODE,
    "a number": 7,
}


@pytest.mark.parametrize("typed", NEAR_MISSES.values(), ids=NEAR_MISSES.keys())
def test_a_claim_code_one_edit_away_is_refused_with_a_field_error_and_nothing_is_handed_over(
    api: APIClient, order: Order, typed: Any, transfers: mock.MagicMock, django_capture_on_commit_callbacks: Any
) -> None:
    api.force_authenticate(manager_of(part(order).organisation))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = hand_over(api, order, typed)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "claim_code_invalid"
    assert body["fields"] == {"claim_code": ["Ce code de retrait ne correspond pas à cette commande."]}
    assert_nothing_handed_over(order)
    assert callbacks == [] and not transfers.called


BLANKS = {"empty": "", "only spaces": "   ", "null": None, "a list": [CODE], "a NUL byte": CODE + "\x00"}


@pytest.mark.parametrize("typed", BLANKS.values(), ids=BLANKS.keys())
def test_an_empty_or_malformed_claim_code_is_a_field_error_and_nothing_is_handed_over(
    api: APIClient, order: Order, typed: Any, transfers: mock.MagicMock
) -> None:
    api.force_authenticate(manager_of(part(order).organisation))

    response = hand_over(api, order, typed)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and list(response.json()["fields"]) == ["claim_code"]
    assert_nothing_handed_over(order)
    assert not transfers.called


def test_a_missing_claim_code_is_a_field_error(api: APIClient, order: Order) -> None:
    api.force_authenticate(manager_of(part(order).organisation))

    response = api.post(f"/api/orders/{order.pk}/hand-over/", {}, format="json")

    assert response.status_code == 400 and list(response.json()["fields"]) == ["claim_code"]
    assert_nothing_handed_over(order)


def test_the_code_of_another_order_of_the_same_organisation_hands_over_neither(
    api: APIClient, order: Order, transfers: mock.MagicMock, django_capture_on_commit_callbacks: Any
) -> None:
    other = paid_order(ItemFactory(title="Tabouret", campaign=OrderLine.objects.get(order=order).campaign))
    api.force_authenticate(manager_of(part(order).organisation))

    with django_capture_on_commit_callbacks(execute=True):
        crossed = hand_over(api, order, part(other).claim_code)
        crossed_back = hand_over(api, other, CODE)

    assert crossed.status_code == crossed_back.status_code == 400
    assert crossed.json()["code"] == crossed_back.json()["code"] == "claim_code_invalid"
    assert_nothing_handed_over(order)
    assert_nothing_handed_over(other)
    assert not transfers.called


def test_the_field_error_is_in_the_managers_language(api: APIClient, order: Order) -> None:
    api.force_authenticate(manager_of(part(order).organisation))

    response = hand_over(api, order, "STAR7KQ2MP", HTTP_ACCEPT_LANGUAGE="en")

    assert response.json()["fields"] == {"claim_code": ["This collection code does not match this order."]}
    assert response.json()["detail"] == "This collection code does not match this order."


FORGIVEN = {
    "as shown": CODE,
    "in lower case": CODE.lower(),
    "with spaces around": f"  {CODE}\n",
    "read in groups with a space": "STAR7 KQ2MN",
    "read in groups with a dash": "STA-R7K-Q2MN",
    "with a no-break space a phone put in": "star7\u00a0kq2mn",
}


@pytest.mark.parametrize("typed", FORGIVEN.values(), ids=FORGIVEN.keys())
def test_case_spaces_and_dashes_are_forgiven_and_the_organisation_is_paid_once(
    api: APIClient, order: Order, typed: str, transfers: mock.MagicMock, django_capture_on_commit_callbacks: Any
) -> None:
    api.force_authenticate(manager_of(part(order).organisation))

    with django_capture_on_commit_callbacks(execute=True):
        response = hand_over(api, order, typed)

    assert response.status_code == 200 and response.json()["order_id"] == order.pk
    assert response.json()["fulfilment_id"] == part(order).pk and response.json()["items"] == [item_id(order)]
    assert Item.objects.get(pk=item_id(order)).status == ItemStatus.HANDED_OVER
    transfers.assert_called_once_with(fulfilment_id=part(order).pk)


def near_tokens(token: str) -> dict[str, str]:
    replacement = "A" if token[-1] != "A" else "B"
    flipped = token.swapcase() if token.swapcase() != token else token[:-1] + replacement
    return {
        "one character changed": token[:-1] + replacement,
        "one character missing": token[:-1],
        "one character extra": token + "A",
        "its case flipped (tokens are case-sensitive)": flipped,
        "the claim code instead": CODE,
    }


@pytest.mark.parametrize(
    "near_miss",
    [
        "one character changed",
        "one character missing",
        "one character extra",
        "its case flipped (tokens are case-sensitive)",
        "the claim code instead",
    ],
)
def test_the_hand_over_page_takes_its_token_as_exact_or_shows_nothing(
    client: Client, order: Order, near_miss: str, transfers: mock.MagicMock
) -> None:
    client.force_login(manager_of(part(order).organisation))
    token = near_tokens(part(order).claim_token)[near_miss]
    assert token != part(order).claim_token

    assert client.get(f"/retrait/{token}/remise/").status_code == 404
    assert client.post(f"/retrait/{token}/remise/").status_code == 404
    assert client.get(f"/retrait/{token}/").status_code == 404

    assert_nothing_handed_over(order)
    assert not transfers.called


# --- A basket of two organisations: each hands over its own part --------------------------------------


@pytest.fixture
def basket() -> Order:
    """A lamp and a vase of one organisation and a piano of another, paid at once."""
    ours, theirs = ready_campaign(), ready_campaign()
    items = [
        ItemFactory(title="Lampe", price_cents=1500, campaign=ours),
        ItemFactory(title="Vase", price_cents=900, campaign=ours),
        ItemFactory(title="Piano", price_cents=7300, campaign=theirs),
    ]
    order = order_start(item_ids=[item.pk for item in items], email="panier@example.org")
    pay(order)
    return Order.objects.get(pk=order.pk)


def parts(order: Order) -> tuple[Fulfilment, Fulfilment]:
    """Ours (the lamp and the vase), then theirs (the piano)."""
    ours, theirs = sorted(Fulfilment.objects.select_related("organisation").filter(order=order), key=lambda f: f.pk)
    if ours.lines.count() == 1:
        ours, theirs = theirs, ours
    return ours, theirs


def statuses(order: Order) -> dict[str, str]:
    return dict(OrderLine.objects.filter(order=order).values_list("item__title", "item__status"))


def test_the_api_hands_over_the_callers_part_of_a_basket_and_leaves_the_other_awaiting(
    api: APIClient, basket: Order, transfers: mock.MagicMock, django_capture_on_commit_callbacks: Any
) -> None:
    ours, theirs = parts(basket)
    api.force_authenticate(manager_of(ours.organisation))

    # The other organisation's code, on the same order: not ours, so not a match.
    wrong = hand_over(api, basket, theirs.claim_code)
    with django_capture_on_commit_callbacks(execute=True):
        right = hand_over(api, basket, ours.claim_code.lower())

    assert wrong.status_code == 400 and wrong.json()["code"] == "claim_code_invalid"
    assert right.status_code == 200
    body = right.json()
    assert body["fulfilment_id"] == ours.pk and body["order_id"] == basket.pk
    assert body["organisation"] == {"slug": ours.organisation.slug, "name": ours.organisation.name}
    assert body["items"] == sorted(ours.lines.values_list("item_id", flat=True))
    assert statuses(basket) == {"Lampe": ItemStatus.HANDED_OVER, "Vase": ItemStatus.HANDED_OVER, "Piano": "sold"}
    assert Fulfilment.objects.get(pk=theirs.pk).handed_over_at is None
    transfers.assert_called_once_with(fulfilment_id=ours.pk)

    # Theirs, by them, later: the same address, their part.
    api.force_authenticate(manager_of(theirs.organisation))
    again = hand_over(api, basket, ours.claim_code)
    theirs_done = hand_over(api, basket, theirs.claim_code)
    assert again.status_code == 400 and again.json()["code"] == "claim_code_invalid"
    assert theirs_done.status_code == 200 and theirs_done.json()["fulfilment_id"] == theirs.pk
    assert statuses(basket)["Piano"] == ItemStatus.HANDED_OVER


def test_someone_at_both_organisations_hands_over_the_part_whose_code_they_typed(
    api: APIClient, basket: Order, transfers: mock.MagicMock
) -> None:
    ours, theirs = parts(basket)
    person = manager_of(ours.organisation)
    Membership.objects.create(user=person, organisation=theirs.organisation, role=Membership.Role.VOLUNTEER)
    api.force_authenticate(person)

    response = hand_over(api, basket, theirs.claim_code)

    assert response.status_code == 200 and response.json()["fulfilment_id"] == theirs.pk
    assert statuses(basket) == {"Lampe": "sold", "Vase": "sold", "Piano": ItemStatus.HANDED_OVER}


def test_the_qr_page_shows_and_hands_over_its_own_part_only(
    client: Client, basket: Order, transfers: mock.MagicMock
) -> None:
    ours, theirs = parts(basket)
    client.force_login(manager_of(ours.organisation))

    page = client.get(f"/retrait/{ours.claim_token}/remise/")
    assert client.get(f"/retrait/{theirs.claim_token}/remise/").status_code == 404
    done = client.post(f"/retrait/{ours.claim_token}/remise/")

    html = page.content.decode()
    assert page.status_code == 200 and "Lampe" in html and "Vase" in html and ours.claim_code in html
    assert "Piano" not in html and theirs.claim_code not in html and "73,00" not in html
    assert "24,00" in html  # their lines' amount, not the basket's
    assert done.status_code == 302
    assert "Remise enregistrée : « Lampe », « Vase »." in client.get(done["Location"]).content.decode()
    assert statuses(basket) == {"Lampe": ItemStatus.HANDED_OVER, "Vase": ItemStatus.HANDED_OVER, "Piano": "sold"}
    assert Fulfilment.objects.get(pk=theirs.pk).handed_over_at is None
