"""Objects waiting to be collected (/gestion/retraits/): the list of each manager's own
organisations, oldest first; the code typed at the counter (forgiving case, spaces and
dashes, nothing else, and another organisation's code is an unknown one); the reminders
after 3 and 10 days, once each; and the never-collected rule after 30 days: refunded once,
the object back on sale, the buyer told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from campaigns.models import Membership, Organisation
from checkout.services import fulfilment_hand_over, fulfilment_uncollected_refund, order_start, pickups_sweep
from checkout.services.pickups import _expire
from donations.models import Fulfilment, Item, ItemStatus, Order, OrderLine, PaymentStatus, Refund
from realtime.models import RealtimeEvent
from tests.factories import ItemFactory, UserFactory, manager_of
from tests.receipts_support import paid_order, pay, ready_campaign, ready_organisation

pytestmark = pytest.mark.django_db

PAGE = "/gestion/retraits/"


def waiting(organisation: Organisation, title: str, *, days: float = 0, email: str = "buyer@example.org") -> Order:
    """An object of ``organisation`` paid ``days`` ago and not collected."""
    campaign = ready_campaign(organisation)
    order = paid_order(ItemFactory(title=title, price_cents=1500, campaign=campaign))
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=days), email=email)
    return Order.objects.get(pk=order.pk)


def part(order: Order) -> Fulfilment:
    """The organisation's part of a one-organisation order (its claim code, its hand-over)."""
    return Fulfilment.objects.get(order=order)


def item_id(order: Order) -> int:
    return OrderLine.objects.get(order=order).item_id


def hand_over(order: Order, actor: Any) -> None:
    fulfilment = part(order)
    fulfilment_hand_over(fulfilment=fulfilment, claim_code=fulfilment.claim_code, actor=actor)


@pytest.fixture
def two_organisations() -> tuple[Organisation, Organisation]:
    return ready_organisation(name="Emmaüs Pau"), ready_organisation(name="Recyclerie Nay")


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


# --- The page ---------------------------------------------------------------------------------


def test_the_page_lists_only_the_own_organisations_objects_oldest_first(
    client: Client, two_organisations: tuple[Organisation, Organisation]
) -> None:
    mine, theirs = two_organisations
    waiting(mine, "Lampe", days=1, email="lampe@example.org")
    waiting(mine, "Vélo", days=12, email="velo@example.org")
    waiting(theirs, "Piano", days=20, email="piano@example.org")
    collected = waiting(mine, "Chaise", days=2)
    hand_over(collected, manager_of(mine))

    html = signed_in(client, manager_of(mine)).get(PAGE).content.decode()

    assert html.index("Vélo") < html.index("Lampe")
    assert "velo@example.org" in html and "lampe@example.org" in html
    assert "12 jours" in html and "1 jour" in html
    assert "Piano" not in html and "piano@example.org" not in html
    assert "Chaise" not in html


def test_a_person_managing_two_organisations_sees_each_under_its_name(
    client: Client, two_organisations: tuple[Organisation, Organisation]
) -> None:
    first, second = two_organisations
    waiting(first, "Lampe", days=4)
    waiting(second, "Piano", days=5)
    person = manager_of(first)
    Membership.objects.create(user=person, organisation=second, role=Membership.Role.MANAGER)

    html = signed_in(client, person).get(PAGE).content.decode()

    assert html.index("Emmaüs Pau") < html.index("Lampe") < html.index("Recyclerie Nay") < html.index("Piano")


def test_reminders_sent_show_in_the_list(client: Client) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=11)
    pickups_sweep()  # records the last reminder (its email is not the point here)

    html = signed_in(client, manager_of(organisation)).get(PAGE).content.decode()

    row = html[html.index(f'data-order="{order.pk}"') :]
    assert "<td>1 rappel</td>" in row[: row.index("</tr>")]


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_page_asks_visitors_to_sign_in_and_refuses_people_who_manage_nothing(client: Client, method: str) -> None:
    response = getattr(client, method)(PAGE, {"code": "ABCDEFGH23"})
    assert response.status_code == 302
    assert response["Location"].startswith("/comptes/connexion/")
    assert getattr(signed_in(client, UserFactory()), method)(PAGE, {"code": "ABCDEFGH23"}).status_code == 403


# --- The typed code ---------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["STA7KQ2MNB", "sta7kq2mnb", " sta-7kq 2mn-b ", "STA7\tKQ2\nMNB"])
def test_the_code_said_by_the_buyer_hands_the_object_over(client: Client, typed: str) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=4)
    Fulfilment.objects.filter(order=order).update(claim_code="STA7KQ2MNB")
    client = signed_in(client, manager_of(organisation))

    response = client.post(PAGE, {"code": typed})

    assert response.status_code == 302 and response["Location"] == PAGE
    assert part(order).handed_over_at is not None
    assert Item.objects.get(pk=item_id(order)).status == ItemStatus.HANDED_OVER
    assert RealtimeEvent.objects.filter(type="item.handed_over").count() == 1
    html = client.get(PAGE).content.decode()
    assert "Remise enregistrée" in html and "Lampe" in html.split("Remise enregistrée")[1][:200]


def refused(client: Client, code: Any) -> str:
    response = client.post(PAGE, {"code": code})
    assert response.status_code == 400
    html: str = response.content.decode()
    # The error stands beside the field, the field keeps what was typed.
    assert 'class="field invalid"' in html
    return html


UNKNOWN = "Code inconnu"


@pytest.mark.parametrize(
    "typed",
    [
        "STA7KQ2MNC",  # one character off
        "STA7KQ2MN",  # one short
        "\u017fta7kq2mnb",  # a long s that upper-cases to S
        "\uff33TA7KQ2MNB",  # a full-width S
        "STA7KQ2MNB' OR '1'='1",
        "%",
        "---",
    ],
)
def test_a_wrong_code_is_a_field_error_and_nothing_is_handed_over(client: Client, typed: str) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=4)
    Fulfilment.objects.filter(order=order).update(claim_code="STA7KQ2MNB")

    html = refused(signed_in(client, manager_of(organisation)), typed)

    assert UNKNOWN in html
    assert part(order).handed_over_at is None
    assert Item.objects.get(pk=item_id(order)).status == ItemStatus.SOLD


def test_another_organisations_code_is_refused_exactly_as_an_unknown_one(
    client: Client, two_organisations: tuple[Organisation, Organisation]
) -> None:
    mine, theirs = two_organisations
    their_order = waiting(theirs, "Piano", days=4)
    client = signed_in(client, manager_of(mine))

    theirs_html = refused(client, part(their_order).claim_code)
    unknown_html = refused(client, "ZZZZZZZZZZ")

    def error(html: str) -> str:
        return html[html.index('class="errorlist') :].split("</ul>")[0]

    assert error(theirs_html) == error(unknown_html)
    assert UNKNOWN in error(theirs_html) and "Piano" not in theirs_html
    assert part(their_order).handed_over_at is None


def test_a_code_already_handed_over_says_so_and_changes_nothing(client: Client) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=4)
    client = signed_in(client, manager_of(organisation))
    code = part(order).claim_code
    assert client.post(PAGE, {"code": code}).status_code == 302
    first = part(order).handed_over_at

    html = refused(client, code.lower())

    assert "Déjà remis le" in html and "« Lampe »" in html
    assert part(order).handed_over_at == first
    assert RealtimeEvent.objects.filter(type="item.handed_over").count() == 1


@pytest.mark.parametrize(("code", "error"), [("", "Ce champ est obligatoire"), ("A" * 41, "40 caractères")])
def test_an_empty_or_overlong_code_is_a_field_error(client: Client, code: str, error: str) -> None:
    organisation = ready_organisation()
    waiting(organisation, "Lampe", days=4)
    assert error in refused(signed_in(client, manager_of(organisation)), code)


def basket(first: Organisation, second: Organisation, *, email: str = "panier@example.org") -> Order:
    """Two objects of ``first`` and one of ``second``, paid at once."""
    items = [
        ItemFactory(title="Lampe", price_cents=1500, campaign=ready_campaign(first)),
        ItemFactory(title="Vase", price_cents=900, campaign=ready_campaign(first)),
        ItemFactory(title="Piano", price_cents=7300, campaign=ready_campaign(second)),
    ]
    order = order_start(item_ids=[item.pk for item in items], email=email)
    pay(order)
    return Order.objects.get(pk=order.pk)


def test_each_organisation_lists_its_own_part_of_a_basket_with_its_objects(
    client: Client, two_organisations: tuple[Organisation, Organisation]
) -> None:
    first, second = two_organisations
    order = basket(first, second)
    ours, theirs = (Fulfilment.objects.get(order=order, organisation=o) for o in (first, second))

    html = signed_in(client, manager_of(first)).get(PAGE).content.decode()

    row = html[html.index(f'data-fulfilment="{ours.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Lampe" in row and "Vase" in row and "panier@example.org" in row
    assert "Piano" not in html and f'data-fulfilment="{theirs.pk}"' not in html
    assert "73,00" not in html


def test_handing_over_one_organisations_part_leaves_the_others_waiting(
    client: Client, two_organisations: tuple[Organisation, Organisation]
) -> None:
    first, second = two_organisations
    order = basket(first, second)
    ours, theirs = (Fulfilment.objects.get(order=order, organisation=o) for o in (first, second))
    client = signed_in(client, manager_of(first))

    # Their code is unknown here, even for the same basket.
    assert UNKNOWN in refused(client, theirs.claim_code)
    response = client.post(PAGE, {"code": ours.claim_code})

    assert response.status_code == 302
    html = client.get(PAGE).content.decode()
    assert "Remise enregistrée : « Lampe », « Vase » remis à panier@example.org." in html
    assert Fulfilment.objects.get(pk=ours.pk).handed_over_at is not None
    assert Fulfilment.objects.get(pk=theirs.pk).handed_over_at is None
    statuses = dict(OrderLine.objects.filter(order=order).values_list("item__title", "item__status"))
    assert statuses == {"Lampe": ItemStatus.HANDED_OVER, "Vase": ItemStatus.HANDED_OVER, "Piano": ItemStatus.SOLD}
    their_page = signed_in(Client(), manager_of(second)).get(PAGE).content.decode()
    assert f'data-fulfilment="{theirs.pk}"' in their_page and "Piano" in their_page


# --- Reminders --------------------------------------------------------------------------------


def sweep(capture: Any) -> int:
    with capture(execute=True):
        return pickups_sweep()


def test_the_buyer_is_reminded_after_3_then_10_days_each_once_however_often_the_job_runs(
    django_capture_on_commit_callbacks: Any,
) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=2.9, email="lea@example.org")
    fresh = waiting(organisation, "Vase", days=1)

    sweep(django_capture_on_commit_callbacks)
    assert mail.outbox == []

    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=3, minutes=1))
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert [m.to for m in mail.outbox] == [["lea@example.org"]]
    first = mail.outbox[0]
    assert first.subject == "Rappel : « Lampe » vous attend"
    assert part(order).claim_code in first.body
    assert "ces objets seront remboursés et remis en vente" in first.body
    assert part(order).pickup_reminded_at is not None

    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=10, minutes=1))
    assert sweep(django_capture_on_commit_callbacks) == 1
    assert sweep(django_capture_on_commit_callbacks) == 0
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "Dernier rappel : « Lampe » vous attend"
    assert part(order).pickup_reminded_again_at is not None
    assert part(fresh).pickup_reminded_at is None


def test_no_reminder_for_a_collected_object_nor_after_an_outage_twice(django_capture_on_commit_callbacks: Any) -> None:
    organisation = ready_organisation()
    collected = waiting(organisation, "Lampe", days=5)
    hand_over(collected, manager_of(organisation))
    # The job did not run from day 2 to day 12: the buyer gets today's reminder, not both.
    late = waiting(organisation, "Vase", days=12, email="vase@example.org")

    sweep(django_capture_on_commit_callbacks)

    assert [m.subject for m in mail.outbox] == ["Dernier rappel : « Vase » vous attend"]
    assert part(collected).pickup_reminded_at is None
    assert part(late).pickup_reminded_at is None


def test_a_reminder_recorded_before_the_hand_over_is_not_sent_after_it(django_capture_on_commit_callbacks: Any) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=4)
    # The job records the reminder, the buyer comes before a worker sends it.
    pickups_sweep()
    hand_over(order, manager_of(organisation))
    from checkout.emails import pickup_reminder_send

    pickup_reminder_send(fulfilment_id=part(order).pk)

    assert mail.outbox == []


# --- Never collected --------------------------------------------------------------------------


def test_after_30_days_the_order_is_refunded_once_the_object_relisted_and_the_buyer_told(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=30.01, email="lea@example.org")
    younger = waiting(organisation, "Vase", days=29.9)

    assert sweep(django_capture_on_commit_callbacks) == 2  # the refund, and the younger one's last reminder
    assert sweep(django_capture_on_commit_callbacks) == 0

    order.refresh_from_db()
    assert part(order).pickup_expired_at is not None
    assert order.status == PaymentStatus.REFUNDED and order.refunded_cents == order.amount_cents
    refunds = Refund.objects.filter(order=order)
    assert [(r.amount_cents, r.actor_id, r.status) for r in refunds] == [(1500, None, Refund.Status.SENT)]
    assert "jamais retiré" in refunds[0].reason
    assert Item.objects.get(pk=item_id(order)).status == ItemStatus.LISTED
    released = RealtimeEvent.objects.filter(type="item.released")
    assert [event.public["item"] for event in released] == [item_id(order)]
    told = [m for m in mail.outbox if m.to == ["lea@example.org"]]
    assert [m.subject for m in told] == ["Objet non retiré : votre commande « Lampe » est remboursée"]
    assert "15,00" in told[0].body and "remis en vente" in told[0].body
    assert part(younger).pickup_expired_at is None

    # The code is no longer good at the counter, and the object is not in the list.
    client = signed_in(client, manager_of(organisation))
    assert "Commande remboursée" in refused(client, part(order).claim_code)
    assert "Lampe" not in client.get(PAGE).content.decode()


def test_the_rule_taken_twice_at_once_refunds_once(django_capture_on_commit_callbacks: Any) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=31)
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert _expire(part(order).pk, now=now) is True
    # A second job that read the same order before the first one's change: its conditional update finds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert _expire(part(order).pk, now=now) is False
    # And the refund task delivered twice (at least once) asks for nothing more.
    fulfilment_uncollected_refund(fulfilment_id=part(order).pk)

    assert Refund.objects.filter(order=order).count() == 1
    assert len([m for m in mail.outbox if "remboursée" in m.subject]) == 1


def test_an_order_handed_over_is_never_taken_by_the_rule(django_capture_on_commit_callbacks: Any) -> None:
    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=29)
    hand_over(order, manager_of(organisation))
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=40))

    assert sweep(django_capture_on_commit_callbacks) == 0

    assert not Refund.objects.filter(order=order).exists()
    assert part(order).pickup_expired_at is None


def test_a_provider_failure_leaves_the_refund_to_a_retry(django_capture_on_commit_callbacks: Any) -> None:
    from unittest import mock

    from checkout.services import PaymentUnavailable
    from payments.gateways import GatewayError

    organisation = ready_organisation()
    order = waiting(organisation, "Lampe", days=31)
    with mock.patch("payments.demo_gateway.DemoGateway.refund_create", side_effect=GatewayError("down")):
        pickups_sweep()  # records the claim and its tasks (not run: no capture)
        with pytest.raises(PaymentUnavailable):
            fulfilment_uncollected_refund(fulfilment_id=part(order).pk)
    assert Order.objects.get(pk=order.pk).status == PaymentStatus.PAID

    fulfilment_uncollected_refund(fulfilment_id=part(order).pk)  # the retry

    assert Order.objects.get(pk=order.pk).status == PaymentStatus.REFUNDED
    assert [r.status for r in Refund.objects.filter(order=order)] == [Refund.Status.FAILED, Refund.Status.SENT]


# --- The rule, stated to the buyer ------------------------------------------------------------


def test_the_claim_page_and_the_order_email_state_the_rule(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    campaign = ready_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        order = paid_order(ItemFactory(title="Lampe", price_cents=1500, campaign=campaign))

    html = client.get(f"/retrait/{part(order).claim_token}/").content.decode()
    receipt = next(m for m in mail.outbox if m.to == [order.email] and "achat" in m.subject)

    # Per organisation's part of an order: its objects, not the whole order, are refunded.
    rule = "sont remboursés et remis en vente"
    assert "30 jours" in html and rule in html.replace("&#x27;", "'")
    assert "30 jours" in receipt.body and rule in receipt.body
