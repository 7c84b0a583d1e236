"""kernel.sql writes rows as the ORM would, without building its queries: the same columns for the
same instance (defaults, auto_now_add, JSON, time zones), keys in the order given, plain
equalities with NULL, and a refusal of what it does not write. The models written this way have
no save signals to miss. Also the plain-SQL reads of the checkout's path: the holds cap matches
an e-mail address exactly (its case aside), never as a pattern."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from checkout.services import TooManyHolds, order_start
from donations.models import Fulfilment, Item, ItemStatus, ItemTransition, Order, OrderLine, Reservation
from kernel.sql import marks, row_insert, rows_insert, rows_select, rows_together, rows_update
from kernel.states import TransitionRefused, transition_apply
from qr.selectors import windows_showing
from realtime.models import EventStream, RealtimeEvent
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

# Every model the money path writes through kernel.sql (checkout.services.orders, realtime.services,
# donations.services.items; kernel.tasks for the task queue).
WRITTEN = [Order, Fulfilment, OrderLine, Reservation, ItemTransition, RealtimeEvent, EventStream, OrmQ]


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


def test_rows_written_together_link_to_each_other_and_equal_those_written_one_by_one() -> None:
    """An order, two fulfilments, lines naming each its own, holds and an event with its streams,
    gathered: written at the block's end (on PostgreSQL in one statement), each with its key and
    its links, the same rows as the same instances written one by one."""
    until = timezone.now().replace(microsecond=0) + timedelta(minutes=30)

    items = [ItemFactory() for _n in range(4)]  # one active hold per item: each write its own two

    def write(gathered: bool) -> tuple[Order, list[Fulfilment], list[OrderLine], RealtimeEvent]:
        first, second = items[:2] if gathered else items[2:]
        with transaction.atomic(), rows_together() if gathered else transaction.atomic():
            order = row_insert(
                Order(email="l'acheteuse@example.org", amount_cents=3, provider="demo", expires_at=until)
            )
            if gathered:
                assert order.pk is None  # not written yet
            parts = [
                Fulfilment(
                    order=order, organisation_id=item.campaign.organisation_id, claim_code=f"CODE{n}{gathered:d}"
                )
                for n, item in enumerate((first, second))
            ]
            rows_insert(parts)
            lines = [
                OrderLine(order=order, fulfilment=part, item=item, campaign=item.campaign, amount_cents=n + 1)
                for n, (part, item) in enumerate(zip(parts[::-1], (first, second), strict=True))
            ]
            rows_insert(lines)
            rows_insert(
                [
                    Reservation(item=item, order=order, email="x@example.org", expires_at=until)
                    for item in (first, second)
                ]
            )
            event = row_insert(RealtimeEvent(type="item.reserved", at=until, public={"é": "«»"}, private={}))
            rows_insert([EventStream(event=event, stream=f"item.{item.pk}") for item in (first, second)])
        return order, parts, lines, event

    with CaptureQueriesContext(connection) as queries:
        order, parts, lines, event = write(gathered=True)
    first, second = lines[0].item, lines[1].item
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"].upper()]
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 6), inserts
    one_by_one = write(gathered=False)
    for mine, theirs in zip(
        [order, *parts, *lines, event], [one_by_one[0], *one_by_one[1], *one_by_one[2], one_by_one[3]], strict=True
    ):
        assert mine.pk and not mine._state.adding and mine.pk != theirs.pk
        row, other = columns(mine), columns(theirs)
        for name in ("created_at", "claim_code", "claim_token", "order_id", "fulfilment_id", "event_id", "item_id"):
            row.pop(name, None), other.pop(name, None)
        for name in ("campaign_id", "organisation_id", "stream"):  # each run's own items
            row.pop(name, None), other.pop(name, None)
        assert row == other
    # Each link is to the row gathered with it: the second line to the first fulfilment…
    assert [line.fulfilment_id for line in lines] == [parts[1].pk, parts[0].pk]
    assert OrderLine.objects.get(pk=lines[0].pk).fulfilment_id == parts[1].pk
    assert {f.order_id for f in Fulfilment.objects.filter(pk__in=[p.pk for p in parts])} == {order.pk}
    assert set(Reservation.objects.filter(order_id=order.pk).values_list("item_id", flat=True)) == {first.pk, second.pk}
    assert EventStream.objects.filter(event_id=event.pk).count() == 2
    # …and the keys drawn from the tables' own sequences: the next ORM row follows them.
    assert Order.objects.create(email="n@example.org", amount_cents=1, provider="demo", expires_at=until).pk > order.pk


def test_rows_gathered_are_not_written_when_the_block_fails_and_the_block_refuses_misuse() -> None:
    item = ItemFactory()
    order = Order(email="a@example.org", amount_cents=1, provider="demo", expires_at=timezone.now())

    def fail() -> None:
        with transaction.atomic(), rows_together():
            row_insert(order)
            rows_insert([Reservation(item=item, order=order, email="a@example.org", expires_at=timezone.now())])
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fail()
    assert not Order.objects.exists() and not Reservation.objects.exists() and order.pk is None
    with pytest.raises(RuntimeError, match="does not nest"), transaction.atomic(), rows_together(), rows_together():
        pass
    # A link to an unsaved instance that was never gathered: refused, nothing written.
    stray = Order(email="s@example.org", amount_cents=1, provider="demo", expires_at=timezone.now())
    with pytest.raises(ValueError, match="unsaved instance"), transaction.atomic(), rows_together():
        rows_insert([Reservation(item=item, order=stray, email="s@example.org", expires_at=timezone.now())])
    with pytest.raises(ValueError, match="unsaved instance"):
        rows_insert([Reservation(item=item, order=stray, email="s@example.org", expires_at=timezone.now())])
    assert not Order.objects.exists() and not Reservation.objects.exists()
    # The ORM's writes inside the block are its own, at once; only kernel.sql's are gathered.
    with transaction.atomic(), rows_together():
        Order.objects.create(email="orm@example.org", amount_cents=1, provider="demo", expires_at=timezone.now())
        assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_rows_are_gathered_only_inside_a_transaction() -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"), rows_together():
        pass


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
