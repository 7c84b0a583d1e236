"""Statuses that move only as a table says: one function applies every move,
as one conditional UPDATE on the row's current status, so two concurrent
callers cannot both win and a move the table does not list never happens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from kernel.errors import Conflict
from kernel.sql import rows_update


class TransitionRefused(Conflict):
    code = "transition_refused"


def transition_apply(
    *,
    model: type[models.Model],
    pk: Any,
    table: Mapping[str, frozenset[str]],
    current: str,
    to: str,
    field: str = "status",
    where: Mapping[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Move row ``pk`` of ``model`` from ``current`` to ``to`` (with ``fields``
    written in the same UPDATE), or raise ``TransitionRefused``: when the table
    has no such move, or when the row is no longer ``current`` (another caller
    moved it first), or no longer has the column values ``where`` gives (read
    earlier by the caller: changed since)."""
    if to not in table.get(current, frozenset()):
        raise TransitionRefused(f"{model.__name__} {pk}: {current} → {to} is not a move of its table")
    conditions = {"pk": pk, field: current, **(where or {})}
    lookups = any("__" in name for name in conditions)
    if lookups or any(hasattr(value, "resolve_expression") for value in fields.values()):
        updated = model._default_manager.filter(**conditions).update(**{field: to}, **fields)
    else:
        # Plain equalities and values (nearly every move): the same UPDATE without building it
        # through the ORM at each call (kernel.sql; an item's hold at every checkout).
        updated = rows_update(model, where=conditions, values={field: to, **fields})
    if updated != 1:
        raise TransitionRefused(f"{model.__name__} {pk}: not {current} any more, {to} refused")
