"""Views used only by the benchmarks (bench/), routed only when TREMMA_BENCH=true.

``ping`` is the ceiling every HTTP figure is compared with: a bare Django JSON
view served by the same server in the same run. ``emit`` records a realtime
event inside the server process, so fan-out can be measured with the
in-memory channel layer too. ``reserve`` is ceiling (d), the essential work of a
checkout: only the SQL a reservation cannot do without, in one transaction."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns.models import Campaign
from donations.models import Fulfilment, Item, ItemStatus, Order, OrderLine, Reservation
from realtime import streams as realtime_streams
from realtime.events import BENCH_PING, ITEM_RESERVED
from realtime.models import EventStream, RealtimeEvent
from realtime.services import event_emit


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def emit(request: HttpRequest) -> JsonResponse:
    kind = request.GET.get("stream", "item")
    ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk]
    with transaction.atomic():
        event = event_emit(
            type=BENCH_PING,
            public={"bench": True, "sent_ns": request.GET.get("sent_ns", "")},
            items=ids if kind == "item" else (),
            windows=ids if kind == "window" else (),
            campaigns=ids if kind == "campaign" else (),
        )
    return JsonResponse({"id": event.pk})


def column_defaults(model: type[models.Model]) -> dict[str, Any]:
    """What a new row of ``model`` holds in each column it is not given, as the ORM writes it (the
    field's default, else NULL where allowed, else an empty value), ready for the database; the primary
    key aside. Shared by the ceiling below and the bench's bulk loader (bench/bulkload.py)."""
    defaults: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.has_default():
            defaults[field.attname] = field.get_db_prep_save(field.get_default(), connection)
        elif field.null:
            defaults[field.attname] = None
        else:
            defaults[field.attname] = field.get_db_prep_save("", connection) if field.empty_strings_allowed else None
    return defaults


def _insert(cursor: Any, model: type[models.Model], values: dict[str, Any], now: datetime) -> int:
    """One INSERT … RETURNING id of a row of ``model``: ``values`` and every other column's default, as
    the ORM would write them, without the ORM (no model instance, no query compilation)."""
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    row = column_defaults(model)
    for field in fields:
        if field.attname in values:
            row[field.attname] = field.get_db_prep_save(values[field.attname], connection)
        elif isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
            row[field.attname] = field.get_db_prep_save(now, connection)
    params = [row[field.attname] for field in fields]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = model._meta.db_table
    cursor.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) RETURNING "id"', params)  # noqa: S608
    return int(cursor.fetchone()[0])


@csrf_exempt
@require_POST
def reserve(request: HttpRequest, pk: int) -> JsonResponse:
    """Ceiling (d): hold one item for a buyer with only the statements that cannot be left out — the
    conditional UPDATE that makes the item unsellable twice, the order, its fulfilment and line, the
    hold, the outbox event and its streams — in one transaction, written as plain SQL."""
    now = timezone.now()
    until = now + timedelta(minutes=30)
    email = f"bench-{pk}@example.org"
    # Table names come from the models, never from the request (hence the noqa: S608 below).
    item, campaign = Item._meta.db_table, Campaign._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f'UPDATE "{item}" SET "status" = %s, "updated_at" = %s FROM "{campaign}" c'  # noqa: S608
                f' WHERE "{item}"."id" = %s AND "{item}"."status" = %s AND c."id" = "{item}"."campaign_id"'
                f' RETURNING "{item}"."price_cents", "{item}"."campaign_id", c."organisation_id"',
                [ItemStatus.RESERVED, now, pk, ItemStatus.LISTED],
            )
        else:  # SQLite's RETURNING names the updated table only
            cursor.execute(
                f'UPDATE "{item}" SET "status" = %s, "updated_at" = %s WHERE "id" = %s AND "status" = %s'  # noqa: S608
                f' RETURNING "price_cents", "campaign_id", "campaign_id"',
                [ItemStatus.RESERVED, now, pk, ItemStatus.LISTED],
            )
        row = cursor.fetchone()
        if row is None:
            return JsonResponse({"code": "item_unavailable"}, status=409)
        price, campaign_id, organisation_id = row
        if connection.vendor != "postgresql":
            cursor.execute(f'SELECT "organisation_id" FROM "{campaign}" WHERE "id" = %s', [campaign_id])  # noqa: S608
            organisation_id = cursor.fetchone()[0]
        order_id = _insert(
            cursor,
            Order,
            {"email": email, "amount_cents": price, "provider": "demo", "expires_at": until},
            now,
        )
        code = secrets.token_hex(5).upper()
        fulfilment_id = _insert(
            cursor, Fulfilment, {"order_id": order_id, "organisation_id": organisation_id, "claim_code": code}, now
        )
        _insert(
            cursor,
            OrderLine,
            {
                "order_id": order_id,
                "fulfilment_id": fulfilment_id,
                "item_id": pk,
                "campaign_id": campaign_id,
                "amount_cents": price,
            },
            now,
        )
        _insert(cursor, Reservation, {"item_id": pk, "order_id": order_id, "email": email, "expires_at": until}, now)
        public = {"item": pk, "status": ItemStatus.RESERVED, "until": until.isoformat()}
        event_id = _insert(
            cursor, RealtimeEvent, {"type": ITEM_RESERVED, "at": now, "public": public, "private": {}}, now
        )
        streams = [
            realtime_streams.stream(kind, key)
            for kind, key in (
                (realtime_streams.ITEM, pk),
                (realtime_streams.CAMPAIGN, campaign_id),
                (realtime_streams.ORGANISATION, organisation_id),
            )
        ]
        values = ", ".join(["(%s, %s)"] * len(streams))
        cursor.execute(
            f'INSERT INTO "{EventStream._meta.db_table}" ("event_id", "stream") VALUES {values}',  # noqa: S608
            [value for stream in streams for value in (event_id, stream)],
        )
    return JsonResponse({"order_id": order_id}, status=201)
