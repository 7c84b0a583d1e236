"""The catalogue's pages: ``/objets/`` (browse and search every object on sale, phone first)
and ``/organisations/<slug>/`` (an organisation's shop).

The search form speaks the items API's language: the same query parameters
(``q``, ``category``, ``department``, ``delivery``, ``organisation``, ``min_price_cents``,
``max_price_cents``, ``ordering``), checked by the same rules (``ItemFilterSerializer``), run by
the same selector (``item_search``). A link copied from the page, an alert or the API means
the same thing everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils.formats import number_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from campaigns.models import Campaign, Organisation
from donations.models import DELIVERY_METHODS, Item, ItemStatus
from donations.selectors import item_search, item_visible_queryset
from kernel.money import format_money
from kernel.places import DEPARTMENT_NAMES, DEPARTMENTS
from ledger.selectors import campaign_public_queryset
from pages.api.items import ItemFilterSerializer

# The filters the page offers; the API's others (campaign, status, window) are not the public's.
PAGE_FILTERS = (
    "q",
    "category",
    "department",
    "delivery",
    "organisation",
    "min_price_cents",
    "max_price_cents",
    "ordering",
)
PAGE_SIZE = 24
# The count is exact up to here, then "more than": counting a slice of 10,001 rows costs the
# same on 2 million items as on 20,000, a full COUNT(*) does not.
COUNT_CAP = 10_000
# Deep pages: plain page numbers (OFFSET), but no further than 100 pages (2,400 objects), as
# big marketplaces do. An OFFSET of 2,376 rows on an indexed order stays cheap; nobody reads
# further, and past it the page asks to narrow the search. Keyset links would go deeper but
# cannot jump to page 7, and the API (where robots page through everything) has them.
MAX_PAGES = 100
# The shop page shows this many of the organisation's newest objects, then "see them all".
SHOP_ITEMS = 20

# Price presets, in cents (the URL carries the API's names): "from" and "up to" selects.
MIN_PRICE_PRESETS = (500, 1000, 2000, 5000, 10000)
MAX_PRICE_PRESETS = (1000, 2000, 5000, 10000, 20000)
DELIVERY_LABELS = {
    "collection": gettext_lazy("Retrait sur place"),
    "relay": gettext_lazy("Point relais"),
    "home": gettext_lazy("À domicile"),
}


@dataclass(frozen=True)
class PageLink:
    number: int
    url: str
    current: bool = False


def _filters(params: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The page's valid filters and the messages for the others (field by field).

    A refused value is left out of the search and said beside its field: the visitor sees
    what was wrong and the rest of what they asked for, never an error page."""
    # An empty field of the form (or spaces only) is no filter, not an error.
    data = {name: params[name] for name in PAGE_FILTERS if params.get(name, "").strip()}
    filters = ItemFilterSerializer(data=data)
    if filters.is_valid():
        return dict(filters.validated_data), {}
    errors = {name: [str(message) for message in messages] for name, messages in filters.errors.items()}
    kept = {name: value for name, value in data.items() if name not in errors}
    again = ItemFilterSerializer(data=kept)
    return (dict(again.validated_data) if again.is_valid() else {}), errors


def _page_number(raw: str | None) -> int:
    """``?page=``: a number from 1; anything else is the first page."""
    try:
        number = int(raw or "1")
    except (TypeError, ValueError):
        return 1
    return number if number >= 1 else 1


def _url(params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    query = urlencode({name: value for name, value in merged.items() if value not in (None, "")})
    return f"?{query}" if query else "?"


def _page_links(current: int, last: int, params: dict[str, Any]) -> list[PageLink]:
    """The first, the last and two either side of the current page."""
    numbers = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    return [
        PageLink(number, _url(params, page=number if number > 1 else None), number == current) for number in numbers
    ]


def _price_choices(presets: tuple[int, ...], current: int | None) -> list[tuple[int, str]]:
    values = sorted({*presets, *([current] if current is not None else [])})
    language = get_language() or "fr"
    return [(value, format_money(value, language=language)) for value in values]


def _with_places(items: list[Item]) -> list[Item]:
    """Each item's ``place`` for its card: a private giver's department, else its organisation's city."""
    for item in items:
        item.place = (  # type: ignore[attr-defined]
            DEPARTMENT_NAMES.get(item.department, "") if item.postal_code else item.campaign.organisation.city
        )
    return items


def catalogue_results(filters: dict[str, Any]) -> QuerySet[Item]:
    """The objects on sale matching ``filters`` (valid ones), newest first unless asked otherwise."""
    items = item_visible_queryset(user=None).filter(status=ItemStatus.LISTED)
    return item_search(items, **filters)


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    """``/objets/``: every object on sale, searched and filtered with the API's parameters."""
    filters, errors = _filters(request.GET)
    organisation = None
    if "organisation" in filters:
        organisation = Organisation.objects.filter(slug=filters["organisation"]).only("slug", "name").first()
        if organisation is None:
            errors["organisation"] = [_("Cette organisation n'existe pas.")]
            del filters["organisation"]
    results = catalogue_results(filters)
    # One query: how many, exactly up to the cap.
    found = results.order_by()[: COUNT_CAP + 1].count()
    last = min(MAX_PAGES, max(1, -(-min(found, COUNT_CAP) // PAGE_SIZE)))
    asked = _page_number(request.GET.get("page"))
    too_deep = asked > MAX_PAGES
    number = min(asked, last)
    start = (number - 1) * PAGE_SIZE
    items = _with_places(list(results[start : start + PAGE_SIZE]) if found and not too_deep else [])
    params = {name: request.GET[name] for name in PAGE_FILTERS if request.GET.get(name, "").strip()}
    # Links keep the values the search used, not the refused ones.
    kept = {name: value for name, value in params.items() if name not in errors}
    context = {
        "items": items,
        "found": found,
        "capped": found > COUNT_CAP,
        "count_cap_text": number_format(COUNT_CAP, force_grouping=True),
        "errors": errors,
        "values": params,
        "filters": filters,
        "organisation": organisation,
        "without_organisation": _url(kept, organisation=None),
        "categories": Item.Category.choices,
        "departments": DEPARTMENTS,
        "department_name": DEPARTMENT_NAMES.get(filters.get("department", ""), ""),
        "category_name": dict(Item.Category.choices).get(filters.get("category", ""), ""),
        "deliveries": [(code, DELIVERY_LABELS[code]) for code in DELIVERY_METHODS],
        "min_prices": _price_choices(MIN_PRICE_PRESETS, filters.get("min_price_cents")),
        "max_prices": _price_choices(MAX_PRICE_PRESETS, filters.get("max_price_cents")),
        "page_number": number,
        "last_page": last,
        "too_deep": too_deep or (found > MAX_PAGES * PAGE_SIZE and number == MAX_PAGES),
        "max_pages": MAX_PAGES,
        "pages": _page_links(number, last, kept) if last > 1 else [],
        "previous_url": _url(kept, page=number - 1 if number > 2 else None) if number > 1 else "",
        "next_url": _url(kept, page=number + 1) if number < last and not too_deep else "",
        # For the alerts' "save this search" slot (the alerts app's own template, when present).
        "search_params": dict(filters),
        "search_query": urlencode(kept),
    }
    return render(request, "pages/catalogue.html", context)


@require_safe
def organisation_shop(request: HttpRequest, slug: str) -> HttpResponse:
    """``/organisations/<slug>/``: who they are, where and when to find them, their live
    campaigns and their newest objects for sale (the rest on ``/objets/?organisation=``)."""
    organisation = get_object_or_404(Organisation, slug=slug)
    campaigns: QuerySet[Campaign] = campaign_public_queryset().filter(
        organisation=organisation, status=Campaign.Status.LIVE
    )
    results = catalogue_results({"organisation": organisation.slug, "ordering": "newest"})
    items = list(results[: SHOP_ITEMS + 1])
    context = {
        "organisation": organisation,
        "campaigns": list(campaigns),
        "items": _with_places(items[:SHOP_ITEMS]),
        "more": len(items) > SHOP_ITEMS,
        "all_query": urlencode({"organisation": organisation.slug}),
        "department_name": DEPARTMENT_NAMES.get(organisation.department, ""),
    }
    return render(request, "pages/organisation.html", context)
