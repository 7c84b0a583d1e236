"""The public pages gathering several rooms: the home page, a campaign, an
item (with its campaign's totals from the ledger), and the legal pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from accounts.requests import signed_in
from checkout.selectors import donor_wall
from donations.models import ItemStatus
from donations.selectors import item_page_item, item_visible_queryset
from frontend.legal import legal_details
from ledger.pledges import campaign_matching
from ledger.selectors import campaign_page_campaign, campaign_public_queryset
from news.selectors import campaign_updates
from pages.item_delivery import item_ways
from pages.item_similar import similar_cards
from realtime.selectors import last_event_id

# How many names and messages of the donor wall the campaign page shows; its own pages show the rest.
WALL_ON_CAMPAIGN_PAGE = 10
WALL_PAGE_SIZE = 30


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    campaigns = campaign_public_queryset().filter(status="live")
    return render(request, "pages/home.html", {"campaigns": campaigns})


@require_safe
def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = get_object_or_404(campaign_public_queryset(), slug=slug)
    user = signed_in(request)
    items = item_visible_queryset(
        user=user
    ).filter(  # type: ignore[arg-type]
        campaign=campaign, status__in=[ItemStatus.LISTED, ItemStatus.RESERVED, ItemStatus.SOLD]
    )[:60]
    # The donor wall: the newest approved names and messages, the rest on their own pages.
    wall = list(donor_wall(campaign_id=campaign.pk)[: WALL_ON_CAMPAIGN_PAGE + 1])
    context = {
        "campaign": campaign,
        "items": items,
        "last_event": last_event_id(),
        "wall": wall[:WALL_ON_CAMPAIGN_PAGE],
        "wall_more": len(wall) > WALL_ON_CAMPAIGN_PAGE,
    }
    context["updates"] = campaign_updates(campaign)
    context["matching"] = campaign_matching(campaign_id=campaign.pk)  # matchfunding: promised, not received
    return render(request, "pages/campaign.html", context)


@require_safe
def campaign_wall(request: HttpRequest, slug: str) -> HttpResponse:
    """Every approved name and message of a campaign's donor wall, page by page, newest first."""
    campaign = get_object_or_404(campaign_public_queryset(), slug=slug)
    page = Paginator(donor_wall(campaign_id=campaign.pk), WALL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pages/campaign_wall.html", {"campaign": campaign, "page": page})


@require_safe
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    # The owner rides along: an object its private giver keeps shows their town (never their address).
    # From the shared cache when it is there: a crowd scanning one window reads each item once.
    item = item_page_item(pk=pk, user=user)
    if item is None:
        raise Http404
    # The campaign with its ledger totals, for the live progress bar: from the shared cache when
    # current, and the page's only copy of it (the item's data may have been kept before an edit).
    campaign = campaign_page_campaign(pk=item.campaign_id)
    if campaign is None:
        raise Http404
    item.campaign = campaign
    context = {
        "item": item,
        "campaign": campaign,
        "similar": [],
        "last_event": last_event_id(),
        "ways": item_ways(item),
    }
    if item.status != ItemStatus.LISTED:
        # A sold (or reserved) item's card may still hang in a shop window: offer what is still for sale.
        context["similar"] = similar_cards(item=item)
    return render(request, "pages/item.html", context)


@require_safe
def legal_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/legal/notice.html", {"legal": legal_details()})


@require_safe
def terms(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/legal/terms.html", {"legal": legal_details()})


@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/legal/privacy.html", {"legal": legal_details()})
