"""``GET /api/items/`` at catalogue scale (2,000,000 items): what the list does beyond a stock DRF list.

Four levers, each measured by ``make bench`` (README, "Benchmarks"):

- **count**: exact up to ``CATALOGUE_EXACT_COUNT_UP_TO`` matches (10,000), counted with a
  ``LIMIT`` so a big match stops there; above, PostgreSQL's planner estimate of the
  filtered query (docs/api.md: "count may be an estimate above 10,000").
- **keyset pages**: ``after`` (the opaque cursor of the ``next`` link of a page read with it)
  continues right after the last item seen, reading the index from there instead of
  skipping ``page × page_size`` rows; ``page`` keeps working.
- **response cache**: an anonymous request's JSON is kept in the shared cache, keyed by its
  normalised query, language and host, under the catalogue's generation token
  (kernel.generations), which every committed change of an item, its photos, campaign or
  organisation replaces: a sold item is never served as listed once its sale has committed.
  Redis down → served uncached.
- **values rows**: items, their campaign and short code are read as values (photos too, in
  the same query on PostgreSQL) and written out by ``item_row`` below, which gives exactly
  ``ItemSerializer``'s JSON (tests/test_catalogue_speed.py compares them) without model
  instances or DRF fields. When ItemSerializer's fields are not the ones known here, the list
  uses it instead (the test fails first).

Whatever the filters, a request makes at most 3 queries: count (+ the estimate above 10,000),
the page (with its photos on PostgreSQL; a second query for them elsewhere, where counts
are exact)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from accounts.requests import signed_in
from donations.models import PUBLIC_STATUSES, Item, ItemPhoto
from kernel.api import Pagination, absolute
from kernel.generations import CATALOGUE, generation_entry, generation_keep
from qr.selectors import short_url
from qr.services import short_codes_ensure

if TYPE_CHECKING:
    from rest_framework.viewsets import GenericViewSet

GENERATION = CATALOGUE
CACHE_PREFIX = "catalogue:list:"
CURSOR_PARAM = "after"

# --- count --------------------------------------------------------------------------------------------


def estimated_count(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows ``queryset`` matches (its planner's, from EXPLAIN: no rows read)."""
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # ``.none()``: a filter nothing can match (e.g. a delivery method not offered yet)
        return 0
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    document = json.loads(plan) if isinstance(plan, str) else plan
    return int(document[0]["Plan"]["Plan Rows"])


# An estimate this many times over the threshold is taken as it is: the planner is not that far off.
TRUSTED_ESTIMATE_FACTOR = 3


def catalogue_count(queryset: QuerySet[Any]) -> int:
    """Exact up to the threshold (10,000), an estimate above it.

    PostgreSQL: the planner's estimate first (EXPLAIN, no row read); far above the threshold
    it is the answer. Otherwise a count that stops one row past the threshold: exact below
    it, else the estimate (never below what was counted). Elsewhere an exact count (small
    databases, and no estimate to fall back on)."""
    exact_up_to = settings.CATALOGUE_EXACT_COUNT_UP_TO
    counted = queryset.order_by().values("pk")
    estimate = estimated_count(queryset)
    if estimate is None:
        return counted.count()
    if estimate > exact_up_to * TRUSTED_ESTIMATE_FACTOR:
        return estimate
    capped = counted[: exact_up_to + 1].count()
    return capped if capped <= exact_up_to else max(capped, estimate)


class CountingPaginator(Paginator):
    """Django's paginator, counting ``counted`` (the filtered items) with ``catalogue_count``
    rather than its page rows (which may be values with joins and photos)."""

    counted: QuerySet[Any]

    @cached_property
    def count(self) -> int:
        return catalogue_count(self.counted)


class CataloguePagination(Pagination):
    def __init__(self, counted: QuerySet[Any]) -> None:
        self.counted = counted

    def django_paginator_class(self, object_list: Any, per_page: int) -> Paginator:  # type: ignore[override]
        paginator = CountingPaginator(object_list, per_page)
        paginator.counted = self.counted
        return paginator


# --- keyset pages -------------------------------------------------------------------------------------

# Orders a cursor can continue: (field, descending) pairs, the last one the id (unique, so no tie).
KEYSET_ORDERS: dict[tuple[str, ...], tuple[tuple[str, bool], tuple[str, bool]]] = {
    ("-created_at", "-id"): (("created_at", True), ("id", True)),
    ("price_cents", "id"): (("price_cents", False), ("id", False)),
    ("-price_cents", "-id"): (("price_cents", True), ("id", True)),
}


class CursorSerializer(serializers.Serializer):
    # Blank: the first page, whose ``next`` link carries the cursor of the following one.
    after = serializers.CharField(required=False, allow_blank=True, max_length=200)

    default_error_messages = {"invalid": _("Filtre invalide.")}

    def validate_after(self, value: str) -> list[Any] | None:
        if not value:
            return None
        try:
            decoded = json.loads(base64.urlsafe_b64decode(value.encode("ascii") + b"=" * (-len(value) % 4)))
        except (ValueError, UnicodeError, binascii.Error):
            raise serializers.ValidationError(_("Curseur invalide.")) from None
        if not (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[1], int)):
            raise serializers.ValidationError(_("Curseur invalide."))
        if not (isinstance(decoded[0], int | str) and 0 < decoded[1] < 2**63):
            raise serializers.ValidationError(_("Curseur invalide."))
        return decoded


def keyset_order(queryset: QuerySet[Any]) -> tuple[tuple[str, bool], tuple[str, bool]] | None:
    order = tuple(str(field) for field in (queryset.query.order_by or Item._meta.ordering or ()))
    return KEYSET_ORDERS.get(order)


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def cursor_of(row: dict[str, Any], order: tuple[tuple[str, bool], tuple[str, bool]]) -> str:
    (first, _desc), _id = order
    value = row[first]
    return encode_cursor([value.isoformat() if isinstance(value, datetime) else value, row["id"]])


Order = tuple[tuple[str, bool], tuple[str, bool]]


def after(queryset: QuerySet[Any], order: Order, cursor: list[Any]) -> QuerySet[Any]:
    """Rows strictly after ``cursor`` in ``order``: ``first ≤ v`` (an index range) minus ``first = v, id ≥ i``."""
    (first, descending), _id = order
    value, last_id = cursor
    if first == "created_at":
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            raise serializers.ValidationError({CURSOR_PARAM: [_("Curseur invalide.")]}) from None
    elif not isinstance(value, int) or not 0 <= value < 2**63:
        raise serializers.ValidationError({CURSOR_PARAM: [_("Curseur invalide.")]})
    if descending:
        return queryset.filter(**{f"{first}__lte": value}).exclude(Q(**{first: value}) & Q(id__gte=last_id))
    return queryset.filter(**{f"{first}__gte": value}).exclude(Q(**{first: value}) & Q(id__lte=last_id))


# --- values rows --------------------------------------------------------------------------------------

# ItemSerializer's fields this module writes itself (item_row); anything else → ItemSerializer.
FAST_FIELDS = (
    "id",
    "title",
    "description",
    "price_cents",
    "currency",
    "status",
    "condition",
    "category",
    "kind",
    "campaign",
    "organisation",
    "department",
    "weight_grams",
    "delivery_methods",
    "photos",
    "url",
    "short_url",
)
COLUMNS = (
    "id",
    "title",
    "description",
    "price_cents",
    "currency",
    "status",
    "condition",
    "category",
    "kind",
    "department",
    "weight_grams",
    "postal_code",
    "ships",
    "created_at",
    "campaign__slug",
    "campaign__title",
    "campaign__organisation__slug",
    "campaign__organisation__name",
    "short_code__code",
)
PHOTO_COLUMNS = ("item_id", "image", "fallback", "width", "height")
DELIVERY_METHODS_OF = cast(Callable[[Any], list[str]], Item.delivery_methods.fget)  # type: ignore[attr-defined]


def photo_rows_subquery() -> Any:
    """PostgreSQL: an item's photos as one array column of its row, in the list's order."""
    from django.contrib.postgres.expressions import ArraySubquery
    from django.db.models.functions import JSONObject

    photos = ItemPhoto.objects.filter(item_id=OuterRef("pk")).order_by("position", "id")
    return ArraySubquery(
        photos.values(json=JSONObject(image="image", fallback="fallback", width="width", height="height"))
    )


def read_rows(queryset: QuerySet[Any]) -> QuerySet[Any]:
    rows = queryset.select_related(None).prefetch_related(None)
    if connection.vendor == "postgresql":
        return rows.values(*COLUMNS, photo_rows=photo_rows_subquery())
    return rows.values(*COLUMNS)


def attach_photos(rows: list[dict[str, Any]]) -> None:
    """Elsewhere than PostgreSQL: every row's photos in one more query."""
    if connection.vendor == "postgresql" or not rows:
        return
    by_item: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    photos = ItemPhoto.objects.filter(item_id__in=list(by_item)).order_by("position", "id").values(*PHOTO_COLUMNS)
    for photo in photos:
        by_item[photo["item_id"]].append(photo)
    for row in rows:
        row["photo_rows"] = by_item[row["id"]]


class RowWriter:
    """``ItemSerializer``'s JSON from a values row, with the request's host for absolute URLs."""

    def __init__(self, context: dict[str, Any]) -> None:
        self.context = context
        self.image_url = cast(Callable[[str], str], ItemPhoto._meta.get_field("image").storage.url)  # type: ignore[attr-defined]
        self.fallback_url = cast(Callable[[str], str], ItemPhoto._meta.get_field("fallback").storage.url)  # type: ignore[attr-defined]

    def photo(self, photo: dict[str, Any]) -> dict[str, Any]:
        fallback = photo["fallback"]
        return {
            "url": absolute(self.context, self.image_url(photo["image"])),
            "width": photo["width"],
            "height": photo["height"],
            "fallback_url": absolute(self.context, self.fallback_url(fallback)) if fallback else None,
        }

    def item(self, row: dict[str, Any]) -> dict[str, Any]:
        code = row["short_code__code"]
        return {
            "id": row["id"],
            "title": row["title"],
            "description": row["description"],
            "price_cents": row["price_cents"],
            "currency": row["currency"],
            "status": row["status"],
            "condition": row["condition"],
            "category": row["category"],
            "kind": row["kind"],
            "campaign": {"slug": row["campaign__slug"], "title": row["campaign__title"]},
            "organisation": {"slug": row["campaign__organisation__slug"], "name": row["campaign__organisation__name"]},
            "department": row["department"],
            "weight_grams": row["weight_grams"],
            # The model's own rule, read on the row's fields (no instance).
            "delivery_methods": DELIVERY_METHODS_OF(SimpleNamespace(**row)),
            "photos": [self.photo(photo) for photo in row["photo_rows"] or ()],
            "url": absolute(self.context, reverse("pages:item", kwargs={"pk": row["id"]})),
            "short_url": short_url(code) if code else None,
        }


def ensure_codes(rows: list[dict[str, Any]]) -> None:
    """Public rows without a short code get one now, as ItemSerializer's list does (items listed before
    codes existed; the bulk loader and listing give every other one its code)."""
    missing = [row for row in rows if row["short_code__code"] is None and row["status"] in PUBLIC_STATUSES]
    if not missing:
        return
    codes = short_codes_ensure(targets=[Item(pk=row["id"], status=row["status"]) for row in missing])
    for row in missing:
        row["short_code__code"] = codes[row["id"]].code


# --- the response cache -------------------------------------------------------------------------------


def cache_key(request: Request | HttpRequest, media_type: str | None = None) -> str:
    """The query, normalised (parameters sorted by name, each one's values kept in order: the last one
    wins), the language and the scheme and host the links are made with."""
    pairs = sorted(parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True), key=lambda kv: kv[0])
    media_type = media_type or cast(Request, request).accepted_media_type
    where = [request.scheme, request.get_host(), get_language(), media_type]
    text = json.dumps([*where, pairs], ensure_ascii=False)
    return CACHE_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def cacheable(request: Request) -> bool:
    return (
        settings.CATALOGUE_CACHE_SECONDS > 0
        and signed_in(request) is None
        and getattr(request.accepted_renderer, "format", "") == "json"
    )


def json_response(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json")


# Accept headers that DRF's negotiation (JSONRenderer only, outside DEBUG) answers with application/json.
PLAIN_ACCEPTS = {"", "*/*", "application/json"}


def cached_before_drf(request: HttpRequest) -> HttpResponse | None:
    """A visitor's cached list, answered before DRF builds its request (a third of a cache hit's time).

    Only for what is certainly a visitor's plain JSON GET: no Authorization header and no session
    cookie (a signed-in person may see more), no ``format`` parameter, an Accept header that the
    negotiation answers with JSON, not DEBUG (the browsable API). Anything else, and any miss,
    goes through DRF as before (``catalogue_list``); the bytes and headers are the same."""
    if (
        request.method != "GET"
        or settings.DEBUG
        or settings.CATALOGUE_CACHE_SECONDS <= 0
        or "HTTP_AUTHORIZATION" in request.META
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or "format" in request.GET
        or request.META.get("HTTP_ACCEPT", "").strip() not in PLAIN_ACCEPTS
    ):
        return None
    _token, body = generation_entry(GENERATION, cache_key(request, "application/json"))
    return json_response(body) if body is not None else None


# --- the list -----------------------------------------------------------------------------------------


def catalogue_list(view: GenericViewSet, request: Request, serializer_class: Any) -> HttpResponse | Response:
    """The items list: cached for visitors, counted with a cap, by page or after a cursor, rows as values."""
    key = cache_key(request) if cacheable(request) else None
    token: str | None = None
    if key is not None:
        token, kept = generation_entry(GENERATION, key)
        if kept is not None:
            return json_response(kept)
    response = _uncached(view, request, serializer_class)
    if key is not None and token is not None:
        # Rendered here as DRF would (same renderer, media type and context), to keep the bytes.
        body = request.accepted_renderer.render(response.data, request.accepted_media_type, view.get_renderer_context())
        generation_keep(key, token, body, settings.CATALOGUE_CACHE_SECONDS)  # without the cache: served uncached
        return json_response(body)
    return response


def _uncached(view: GenericViewSet, request: Request, serializer_class: Any) -> Response:
    queryset = view.filter_queryset(view.get_queryset())
    cursor = CursorSerializer(data=request.query_params)
    cursor.is_valid(raise_exception=True)
    fast = settings.CATALOGUE_VALUES_ROWS and tuple(serializer_class.Meta.fields) == FAST_FIELDS
    context = view.get_serializer_context()
    if CURSOR_PARAM in cursor.validated_data:
        return _after(view, request, queryset, cursor.validated_data[CURSOR_PARAM], fast, serializer_class, context)
    paginator = CataloguePagination(queryset)
    page = paginator.paginate_queryset(read_rows(queryset) if fast else queryset, request, view=view)
    assert page is not None
    return paginator.get_paginated_response(_results(page, fast, serializer_class, context))


def _results(page: Iterable[Any], fast: bool, serializer_class: Any, context: dict[str, Any]) -> list[Any]:
    if not fast:
        return cast(list[Any], serializer_class(page, many=True, context=context).data)
    rows = list(page)
    attach_photos(rows)
    ensure_codes(rows)
    writer = RowWriter(context)
    return [writer.item(row) for row in rows]


def _after(
    view: GenericViewSet,
    request: Request,
    queryset: QuerySet[Any],
    cursor: list[Any] | None,
    fast: bool,
    serializer_class: Any,
    context: dict[str, Any],
) -> Response:
    """One page after ``cursor``: ``next`` carries the cursor of its last item, ``previous`` is null
    (keyset pages go forward; ``page`` goes anywhere)."""
    order = keyset_order(queryset)
    if order is None:
        message = _("Ce tri (la pertinence d'une recherche) se pagine avec page, pas avec un curseur.")
        raise serializers.ValidationError({CURSOR_PARAM: [message]})
    paginator = CataloguePagination(queryset)
    size = paginator.get_page_size(request) or paginator.page_size
    count = catalogue_count(queryset)
    window = queryset if cursor is None else after(queryset, order, cursor)
    if fast:
        rows: list[Any] = list(read_rows(window)[: size + 1])
    else:
        rows = list(window[: size + 1])
    more, rows = len(rows) > size, rows[:size]
    next_link = None
    if more:
        last = rows[-1]
        last_row = last if isinstance(last, dict) else {"id": last.pk, order[0][0]: getattr(last, order[0][0])}
        url = remove_query_param(request.build_absolute_uri(), paginator.page_query_param)
        next_link = replace_query_param(url, CURSOR_PARAM, cursor_of(last_row, order))
    results = _results(rows, fast, serializer_class, context)
    return Response({"count": count, "next": next_link, "previous": None, "results": results})
