"""kernel.sql writes rows as the ORM would, without building its queries: the same columns for the
same instance (defaults, auto_now_add, JSON, time zones), keys in the order given, plain
equalities with NULL, and a refusal of what it does not write. The models written this way have
no save signals to miss. Also the plain-SQL reads of the checkout's path: the holds cap matches
an e-mail address exactly (its case aside), never as a pattern."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import models
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.utils import timezone

from checkout.services import TooManyHolds, order_start
from donations.models import Fulfilment, Item, ItemStatus, ItemTransition, Order, OrderLine, Reservation
from kernel.sql import marks, row_insert, rows_insert, rows_select, rows_update
from kernel.states import TransitionRefused, transition_apply
from qr.selectors import windows_showing
from realtime.models import EventStream, RealtimeEvent
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

# Every model the money path writes through kernel.sql (checkout.services.orders, realtime.services,
# donations.services.items).
WRITTEN = [Order, Fulfilment, OrderLine, Reservation, ItemTransition, RealtimeEvent, EventStream]


def columns(instance: models.Model) -> dict[str, Any]:
    """The row as the database keeps it, read back through the ORM, without its key."""
    model = type(instance)
    row = model.objects.filter(pk=instance.pk).values(*[f.attname for f in model._meta.concrete_fields]).get()
    row.pop(model._meta.pk.attname)  # type: ignore[union-attr]
    return row


@pytest.mark.parametrize("model", WRITTEN, ids=lambda model: model.__name__)
def test_the_models_written_in_plain_sql_have_no_save_signals_to_miss(model: type[models.Model]) -> None:
    assert not pre_save.has_listeners(model) and not post_save.has_listeners(model)


def test_an_order_and_its_fulfilment_are_the_rows_the_orm_writes() -> None:
    item = ItemFactory()
    until = timezone.now() + timedelta(minutes=30)
    values = {"email": "o'brien+«test»@example.org", "amount_cents": 4500, "provider": "demo", "expires_at": until}
    by_orm, plain = Order.objects.create(**values), row_insert(Order(**values))
    assert plain.pk and plain.pk != by_orm.pk and not plain._state.adding
    mine, theirs = columns(plain), columns(by_orm)
    assert abs(mine.pop("created_at") - theirs.pop("created_at")) < timedelta(seconds=5)
    assert mine == theirs
    # JSON with quotes, accents, a NUL-free control character and nesting; a unique claim code each.
    address = {"name": 'Zoé "la" Dupont', "lines": ["1 rue de l'Église", "\t2e étage"], "nested": {"n": [1, None]}}
    part = {"organisation_id": item.campaign.organisation_id, "address": address}
    orm_part = Fulfilment.objects.create(order=by_orm, **part, claim_code="ORMCODE234")
    plain_part = row_insert(Fulfilment(order=plain, **part, claim_code="SQLCODE234"))
    mine, theirs = columns(plain_part), columns(orm_part)
    assert mine.pop("claim_code") == "SQLCODE234" and theirs.pop("claim_code") == "ORMCODE234"
    assert mine.pop("order_id") == plain.pk and theirs.pop("order_id") == by_orm.pk
    assert mine.pop("claim_token") != theirs.pop("claim_token")  # each its own random default
    for row in (mine, theirs):
        row.pop("created_at", None)
    assert mine == theirs and mine["address"] == address


def test_rows_come_back_with_their_own_keys_in_the_order_given() -> None:
    event = row_insert(RealtimeEvent(type="item.reserved", at=timezone.now(), public={"item": 1}, private={}))
    streams = rows_insert([EventStream(event=event, stream=f"item.{n}") for n in (3, 1, 2)])
    assert [EventStream.objects.get(pk=row.pk).stream for row in streams] == ["item.3", "item.1", "item.2"]
    assert rows_insert([]) == []


def test_what_kernel_sql_does_not_write_is_refused_before_anything_is_written() -> None:
    order = Order.objects.create(email="a@example.org", amount_cents=1, provider="demo", expires_at=timezone.now())
    with pytest.raises(ValueError, match="unsaved instances of one model"):
        rows_insert([order])  # saved already
    with pytest.raises(ValueError, match="unsaved instances of one model"):
        rows_insert([Order(email="b@example.org", amount_cents=1), Reservation(email="c@example.org")])
    with pytest.raises(TypeError, match="use the ORM"):
        row_insert(Item(title="Lampe"))  # a column with a database default (ships)
    assert Order.objects.count() == 1 and not Item.objects.exists()


def test_an_update_matches_plain_equalities_and_null_and_refuses_expressions() -> None:
    item = ItemFactory(weight_grams=None, price_cents=500)
    assert rows_update(Item, where={"pk": item.pk, "weight_grams": 100}, values={"price_cents": 1}) == 0
    assert rows_update(Item, where={"pk": item.pk, "weight_grams": None}, values={"price_cents": 700}) == 1
    assert Item.objects.get(pk=item.pk).price_cents == 700
    # An instance stands for its key, as in the ORM's update.
    assert rows_update(Item, where={"pk": item.pk, "campaign": item.campaign}, values={"title": "Vélo"}) == 1
    with pytest.raises(TypeError, match="expression"):
        rows_update(Item, where={"pk": item.pk}, values={"price_cents": F("price_cents") + 1})
    with pytest.raises(ValueError, match="needs values and a where"):
        rows_update(Item, where={}, values={"title": "Tout"})
    with pytest.raises(ValueError, match="no column"):
        rows_update(Item, where={"pk": item.pk, "nope": 1}, values={"title": "Tout"})
    assert Item.objects.get(pk=item.pk).title == "Vélo"


def test_a_move_by_plain_update_is_refused_when_a_read_column_changed_and_expressions_still_work() -> None:
    item = ItemFactory(status=ItemStatus.LISTED, price_cents=500)
    table = {ItemStatus.LISTED: frozenset({ItemStatus.RESERVED})}
    with pytest.raises(TransitionRefused):
        transition_apply(
            model=Item, pk=item.pk, table=table, current=ItemStatus.LISTED, to=ItemStatus.RESERVED,
            where={"price_cents": 400},
        )  # fmt: skip
    assert Item.objects.get(pk=item.pk).status == ItemStatus.LISTED
    # A lookup or an expression goes through the ORM, with the same result.
    transition_apply(
        model=Item, pk=item.pk, table=table, current=ItemStatus.LISTED, to=ItemStatus.RESERVED,
        where={"price_cents__gte": 500}, price_cents=F("price_cents") + 1,
    )  # fmt: skip
    assert Item.objects.filter(pk=item.pk, status=ItemStatus.RESERVED, price_cents=501).exists()


@pytest.mark.parametrize("held", ["a_b@example.org", "a%b@example.org", "A_B@EXAMPLE.ORG"])
def test_the_holds_cap_counts_an_address_exactly_never_as_a_pattern(settings: Any, held: str) -> None:
    settings.HOLDS_MAX_PER_EMAIL = 1
    order_start(item_id=ItemFactory().pk, email=held)
    # Another address that a LIKE pattern would match: not the same buyer.
    assert order_start(item_id=ItemFactory().pk, email="axb@example.org").pk
    # The same address in another case: the same buyer, refused.
    with pytest.raises(TooManyHolds):
        order_start(item_id=ItemFactory().pk, email=held.swapcase())


def test_no_window_is_found_for_an_item_in_none() -> None:
    assert windows_showing(item_id=ItemFactory().pk) == []


def values_of(instance: models.Model) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_a_plain_select_reads_the_instances_the_orms_select_related_reads(django_assert_num_queries: Any) -> None:
    first, second = ItemFactory(price_cents=4500, weight_grams=1200), ItemFactory(status=ItemStatus.SOLD)
    ItemFactory(status=ItemStatus.WITHDRAWN, campaign=first.campaign)  # not asked for: not read
    wanted = [second.pk, first.pk, first.pk + 10_000]
    orm = list(
        Item.objects.select_related("campaign__organisation")
        .filter(pk__in=wanted, status__in=[ItemStatus.LISTED, ItemStatus.SOLD])
        .order_by("pk")
    )
    with django_assert_num_queries(1):
        plain = rows_select(
            Item,
            related=("campaign", "campaign__organisation"),
            where=f"t0.id IN ({marks(len(wanted))}) AND t0.status IN (%s, %s)",
            params=[*wanted, ItemStatus.LISTED, ItemStatus.SOLD],
            order_by="t0.id",
        )
        # Loaded with it, as select_related loads them: reading them asks nothing more.
        organisations = [item.campaign.organisation.name for item in plain]
    assert [item.pk for item in plain] == [first.pk, second.pk] and all(organisations)
    for mine, theirs in zip(plain, orm, strict=True):
        assert values_of(mine) == values_of(theirs)
        assert values_of(mine.campaign) == values_of(theirs.campaign)
        assert values_of(mine.campaign.organisation) == values_of(theirs.campaign.organisation)
        assert not mine._state.adding and mine._state.db == "default"
    # A hostile value is a parameter, never SQL.
    assert rows_select(Item, where="t0.title = %s", params=["x' OR '1'='1"]) == []


def test_a_plain_select_joins_required_foreign_keys_only() -> None:
    with pytest.raises(TypeError, match="required foreign keys only"):
        rows_select(Item, related=("owner",), where="t0.id = %s", params=[1])
