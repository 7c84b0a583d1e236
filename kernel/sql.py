"""Plain SQL for the few writes on the money path that run at every checkout and every live
event, where building the ORM's query costs more than running it (profiled: an
``objects.create`` 0.43 ms against 0.2 ms for the same INSERT; a filtered ``update`` 0.8 ms).

``rows_insert`` writes model instances as the ORM's ``save``/``bulk_create`` would (each
field's ``pre_save``, so ``auto_now_add`` and defaults, then ``get_db_prep_save``), in one
``INSERT … RETURNING`` whose text is built once per model and number of rows; it sets the
primary keys and marks the instances saved; inside ``rows_together`` the rows are gathered and
written together at its end (on PostgreSQL one statement, links between them included).
``rows_update`` is one ``UPDATE … WHERE`` of plain equalities (``None`` is ``IS NULL``).
``rows_select`` reads instances with those on their required foreign keys, as ``select_related``
would, converting each column as the ORM does, with annotations read beside them. All go through
Django's cursor (its execute wrappers, query logging and transactions). Signals are not sent:
write only models without ``pre_save``/``post_save`` receivers (``test_plain_sql`` holds that for
each model written so), and use the ORM for everything else."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections, models, router

M = TypeVar("M", bound=models.Model)


@cache
def _insert_fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    meta = model._meta
    fields = tuple(field for field in meta.local_concrete_fields if field is not meta.auto_field)
    own_sql = [hasattr(f, "get_placeholder") or f.generated or f.db_default is not models.NOT_PROVIDED for f in fields]
    if meta.parents or any(own_sql):
        # An inherited table, a field that needs its own SQL (a range, a geometry, a generated
        # column, a database default): the ORM's job.
        raise TypeError(f"{model.__name__}: a table or field kernel.sql does not write; use the ORM")
    return fields


@lru_cache(maxsize=256)  # per model and number of rows (a basket's, an event's streams)
def _insert_sql(model: type[models.Model], count: int) -> str:
    fields = _insert_fields(model)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    row = f"({marks(len(fields))})"
    pk = model._meta.pk.column  # type: ignore[union-attr]
    # Names from the model's metadata only, never from input.
    return f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES {", ".join([row] * count)} RETURNING "{pk}"'  # noqa: S608


def rows_insert(instances: Sequence[M]) -> Sequence[M]:
    """Insert unsaved ``instances`` of one model in one statement; set their primary keys.
    Inside ``rows_together``, gathered instead: written (and given their keys) at its end."""
    if not instances:
        return instances
    model = type(instances[0])
    using = router.db_for_write(model)
    connection = connections[using]
    fields = _insert_fields(model)
    for instance in instances:
        if type(instance) is not model or not instance._state.adding:
            raise ValueError("rows_insert takes unsaved instances of one model")
    gathered: list[list[models.Model]] | None = getattr(connection, _GATHERED, None)
    if gathered is not None:
        if model._meta.pk is not model._meta.auto_field:
            raise TypeError(f"{model.__name__}: rows_together writes tables keyed by a database sequence only")
        gathered.append(list(instances))
        return instances
    _related_keys_take(instances)
    params: list[Any] = []
    for instance in instances:
        params.extend(field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, len(instances)), params)
        keys = [row[0] for row in cursor.fetchall()]
    if len(keys) != len(instances):  # pragma: no cover - the database returns one key per row
        raise RuntimeError(f"{model.__name__}: {len(keys)} keys for {len(instances)} rows")
    # PostgreSQL and SQLite return the rows of a multi-row VALUES in the order given.
    for instance, key in zip(instances, keys, strict=True):
        instance.pk = key
        instance._state.adding = False
        instance._state.db = using
    return instances


def row_insert(instance: M) -> M:
    """Insert one unsaved ``instance`` (``rows_insert`` of one)."""
    rows_insert([instance])
    return instance


# The connection attribute under which ``rows_together`` gathers its batches (a connection
# belongs to one thread, as the transaction the rows are written in).
_GATHERED = "_kernel_sql_rows_gathered"


@contextmanager
def rows_together(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Gather every ``rows_insert``/``row_insert`` of database ``using`` made inside, and write
    them all when the block ends without an error (an error writes nothing). A foreign key may
    name an instance gathered before it (an order's lines name the order): on PostgreSQL, all
    the rows are one statement of data-modifying CTEs, their keys taken from their sequences in
    it; elsewhere one INSERT per batch, in the order gathered. Inside the block, a gathered
    instance has no primary key yet: code there must not need it. Only inside a transaction."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("rows_together runs inside a transaction")
    if getattr(connection, _GATHERED, None) is not None:
        raise RuntimeError("rows_together does not nest")
    batches: list[list[models.Model]] = []
    setattr(connection, _GATHERED, batches)
    try:
        yield
    finally:
        setattr(connection, _GATHERED, None)
    if not batches:
        return
    if connection.vendor != "postgresql":
        for batch in batches:
            rows_insert(batch)
        return
    _rows_write_together(batches, using)


def _related_keys_take(instances: Sequence[models.Model]) -> None:
    """Each foreign key's column from the instance it was given, saved since (as ``save`` does);
    an instance still unsaved is refused, as ``save`` refuses it (its row would lose the link)."""
    for instance in instances:
        for field in instance._meta.concrete_fields:
            if isinstance(field, models.ForeignKey) and field.is_cached(instance):
                related = field.get_cached_value(instance)
                if related is None:
                    continue
                if related.pk is None:
                    raise ValueError(f"{type(instance).__name__}.{field.name}: an unsaved instance")
                if getattr(instance, field.attname) != related.pk:
                    setattr(instance, field.attname, related.pk)


@cache
def _next_key_sql(model: type[models.Model]) -> str:
    """The next key of ``model``'s table from its own sequence (a serial or identity column's),
    named in the text, not as parameters: a statement of more than 50 parameters is converted
    again at every run by psycopg (see ``kernel.apps``)."""
    table = model._meta.db_table.replace("'", "''")
    column = model._meta.pk.column.replace("'", "''")  # type: ignore[union-attr]
    return f"""nextval(pg_get_serial_sequence('"{table}"', '{column}'))"""


def _rows_write_together(batches: list[list[models.Model]], using: str) -> None:
    """PostgreSQL: every gathered row in one statement. Each row's key is drawn first from its
    table's sequence (one ``k`` row of ``nextval`` columns, evaluated once); a foreign key to a
    gathered instance reads that column; the statement returns the keys. Its text depends only on
    the batches' models, sizes and links, and is built once for each such shape."""
    connection = connections[using]
    flat = [instance for batch in batches for instance in batch]
    index = {id(instance): n for n, instance in enumerate(flat)}
    shape, params, linked = [], [], []
    for batch in batches:
        model = type(batch[0])
        rows = []
        for instance in batch:
            links = []
            for field, is_key in _together_fields(model):
                related = field.get_cached_value(instance) if is_key and field.is_cached(instance) else None  # type: ignore[attr-defined]
                if related is not None and related.pk is None:
                    if id(related) not in index:
                        raise ValueError(f"{model.__name__}.{field.name}: an unsaved instance, not gathered")
                    links.append(index[id(related)])
                    linked.append((instance, field.attname, related))
                    continue
                if related is not None and getattr(instance, field.attname) != related.pk:
                    setattr(instance, field.attname, related.pk)
                links.append(-1)
                params.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
            rows.append(tuple(links))
        shape.append((model, tuple(rows)))
    with connection.cursor() as cursor:
        cursor.execute(_together_sql(tuple(shape)), params)
        drawn = cursor.fetchone()
    for instance, key in zip(flat, drawn, strict=True):
        instance.pk = key
        instance._state.adding = False
        instance._state.db = using
    for instance, attname, related in linked:  # each link to a row written with it, now keyed
        setattr(instance, attname, related.pk)


@cache
def _together_fields(model: type[models.Model]) -> tuple[tuple[models.Field[Any, Any], bool], ...]:
    """The columns ``rows_together`` writes, each with whether it is a foreign key (a link)."""
    return tuple((field, isinstance(field, models.ForeignKey)) for field in _insert_fields(model))


@lru_cache(maxsize=256)  # per shape: the checkout's one item, a basket's two parts of three…
def _together_sql(shape: tuple[tuple[type[models.Model], tuple[tuple[int, ...], ...]], ...]) -> str:
    """The statement of ``_rows_write_together`` for batches of ``shape``: each batch's model and,
    for each of its rows, each column's link (the row it names among those gathered, or -1: a
    value, as a parameter)."""
    keys_sql, writes, n = [], [], 0
    for b, (model, rows) in enumerate(shape):
        fields = _insert_fields(model)
        values_sql = []
        for links in rows:
            keys_sql.append(_next_key_sql(model) + f" AS k{n}")
            values = [f"(SELECT k{n} FROM k)"]  # noqa: S608 (a CTE column of ours)
            values += ["%s" if link < 0 else f"(SELECT k{link} FROM k)" for link in links]  # noqa: S608
            values_sql.append(f"({', '.join(values)})")
            n += 1
        columns = ", ".join(f'"{column}"' for column in [model._meta.pk.column, *(f.column for f in fields)])  # type: ignore[union-attr]
        # Names from the models' metadata only, never from input.
        writes.append(f'w{b} AS (INSERT INTO "{model._meta.db_table}" ({columns}) VALUES {", ".join(values_sql)})')  # noqa: S608
    keys = ", ".join(f"k{m}" for m in range(n))
    return f"WITH k AS MATERIALIZED (SELECT {', '.join(keys_sql)}), {', '.join(writes)} SELECT {keys} FROM k"  # noqa: S608


def rows_update(model: type[models.Model], *, where: Mapping[str, Any], values: Mapping[str, Any]) -> int:
    """``UPDATE`` the rows of ``model`` whose fields equal ``where`` (``None``: ``IS NULL``),
    writing ``values``; how many rows were updated. Fields by name or attname; values are
    plain values or model instances (an expression such as ``F()`` goes through the ORM)."""
    if not values or not where:
        raise ValueError("rows_update needs values and a where")
    using = router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    sets, conditions, params = [], [], []
    for name, value in values.items():
        field = _field(meta, name)
        if hasattr(value, "resolve_expression"):  # F(), Value(), a subquery…
            raise TypeError(f"{name}: an expression; use the ORM's update")
        if isinstance(value, models.Model):
            value = value.pk
        sets.append(f'"{field.column}" = %s')
        params.append(field.get_db_prep_save(value, connection))
    for name, value in where.items():
        field = _field(meta, name)
        if isinstance(value, models.Model):
            value = value.pk
        if value is None:
            conditions.append(f'"{field.column}" IS NULL')
        else:
            conditions.append(f'"{field.column}" = %s')
            params.append(field.get_db_prep_value(value, connection, prepared=False))
    # Names from the model's metadata only, never from input.
    sql = f'UPDATE "{meta.db_table}" SET {", ".join(sets)} WHERE {" AND ".join(conditions)}'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


@lru_cache(maxsize=1024)  # per model and name: at every move of an item
def _field(meta: Any, name: str) -> models.Field[Any, Any]:
    if name == "pk":
        return meta.pk  # type: ignore[no-any-return]
    for field in meta.concrete_fields:
        if name in (field.name, field.attname):
            return field  # type: ignore[no-any-return]
    raise ValueError(f"{meta.model.__name__} has no column {name}")


@cache
def _select_plan(model: type[models.Model], related: tuple[str, ...]) -> tuple[str, str, tuple[_Table, ...]]:
    """The columns of ``model`` (alias ``t0``) and of each model on the foreign keys of
    ``related`` (``"campaign"``, ``"campaign__organisation"``: ``t1``, ``t2``), and the ``FROM``
    joining them."""
    tables = [_Table(model, "t0", None, None)]
    joins = []
    by_path: dict[str, _Table] = {"": tables[0]}
    for path in related:
        parent_path, _sep, name = path.rpartition("__")
        parent = by_path[parent_path]
        field = parent.model._meta.get_field(name)
        if not isinstance(field, models.ForeignKey) or field.null:
            raise TypeError(f"{path}: kernel.sql joins required foreign keys only")
        target = field.related_model
        table = _Table(target, f"t{len(tables)}", parent, field)  # type: ignore[arg-type]
        tables.append(table)
        by_path[path] = table
        joins.append(
            f'JOIN "{target._meta.db_table}" {table.alias} '  # type: ignore[union-attr]
            f'ON {table.alias}."{field.target_field.column}" = {parent.alias}."{field.column}"'
        )
    columns = ", ".join(f'{table.alias}."{field.column}"' for table in tables for field in table.fields)
    # Names from the models' metadata only, never from input.
    return columns, f'FROM "{model._meta.db_table}" t0 {" ".join(joins)}', tuple(tables)


class _Table:
    def __init__(
        self, model: type[models.Model], alias: str, parent: _Table | None, field: models.ForeignKey[Any, Any] | None
    ) -> None:
        self.model, self.alias, self.parent, self.field = model, alias, parent, field
        self.fields = tuple(model._meta.concrete_fields)
        self.names = [field.attname for field in self.fields]


def rows_select(
    model: type[M],
    *,
    related: Sequence[str] = (),
    where: str,
    params: Sequence[Any],
    order_by: str = "",
    annotations: Mapping[str, tuple[str, Sequence[Any]]] | None = None,
) -> list[M]:
    """Instances of ``model`` read by one plain ``SELECT``, each with the instances on the
    foreign keys ``related`` loaded (as ``select_related`` loads them: no query when read), the
    database's values converted as the ORM converts them. ``where`` and ``order_by`` are SQL on
    the aliases ``t0`` (``model``), ``t1``… (``related``, in order) with ``%s`` for ``params``:
    written by the caller, never from input. ``annotations``: attribute name → (SQL expression,
    its parameters), each read in the same SELECT and set on every instance as it comes from the
    database (as the ORM's ``annotate``), e.g. a count the caller needs beside the rows."""
    using = router.db_for_read(model)
    connection = connections[using]
    columns, joined, tables = _select_plan(model, tuple(related))
    annotations = annotations or {}
    names = list(annotations)
    extra_params = [value for name in names for value in annotations[name][1]]
    if names:
        columns += ", " + ", ".join(f"({annotations[name][0]})" for name in names)
    sql = f"SELECT {columns} {joined} WHERE {where}" + (f" ORDER BY {order_by}" if order_by else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*extra_params, *params])
        rows = cursor.fetchall()
    converters = _converters(tables, using)
    found: list[M] = []
    for row in rows:
        start, loaded = 0, {}
        for table in tables:
            values = list(row[start : start + len(table.fields)])
            start += len(table.fields)
            for index, field, functions in converters[table.alias]:
                for function in functions:
                    values[index] = function(values[index], field, connection)
            instance = table.model.from_db(using, table.names, values)
            loaded[table.alias] = instance
            if table.parent is not None and table.field is not None:
                table.field.set_cached_value(loaded[table.parent.alias], instance)
        for name, value in zip(names, row[start:], strict=True):
            setattr(loaded["t0"], name, value)
        found.append(loaded["t0"])  # type: ignore[arg-type]
    return found


def marks(count: int) -> str:
    """``count`` placeholders for an ``IN (…)`` list: ``%s, %s, %s``."""
    return ", ".join(["%s"] * count)


# Each connection's converters per SELECT plan: the backend's converters are its own methods.
_CONVERTERS: WeakKeyDictionary[Any, dict[tuple[_Table, ...], Any]] = WeakKeyDictionary()


def _converters(tables: tuple[_Table, ...], using: str) -> dict[str, list[tuple[int, Any, list[Any]]]]:
    """Each column's converters, as the ORM's compiler applies them (the backend's, then the
    field's); worked out once per connection and plan."""
    connection = connections[using]
    known = _CONVERTERS.setdefault(connection, {})
    if tables in known:
        return known[tables]  # type: ignore[no-any-return]
    by_table: dict[str, list[tuple[int, Any, list[Any]]]] = {}
    for table in tables:
        found = []
        for index, field in enumerate(table.fields):
            column = field.get_col(table.alias)
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                found.append((index, column, functions))
        by_table[table.alias] = found
    known[tables] = by_table
    return by_table
