"""Reads on items, in a fixed number of queries whatever the page size."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Prefetch,
    Q,
    QuerySet,
    prefetch_related_objects,
)

from accounts.models import User
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may
from donations.models import (
    HOME,
    PUBLIC_STATUSES,
    RELAY,
    Item,
    ItemPhoto,
    ItemStatus,
    ItemTransition,
    Reservation,
)
from donations.search import text_search
from kernel.generations import CATALOGUE, generation_bump, generation_cached


def _with_relations(queryset: QuerySet[Item]) -> QuerySet[Item]:
    # The short code rides along: item serializers show ``short_url`` without a query per row.
    return queryset.select_related("campaign", "campaign__organisation", "short_code").prefetch_related(
        Prefetch("photos", queryset=ItemPhoto.objects.order_by("position", "id"))
    )


def item_visible_queryset(*, user: User | None) -> QuerySet[Item]:
    """Items ``user`` may see: public ones for everybody, plus their own and
    those of the organisations whose objects they manage."""
    visible = Q(status__in=PUBLIC_STATUSES)
    if user is not None and user.is_authenticated:
        visible |= Q(owner=user) | Q(campaign__organisation__in=organisations_user_may(user, Permission.OBJECTS))
    return _with_relations(Item.objects.filter(visible))


def items_owned_by(user: User | AnonymousUser | None) -> QuerySet[Item]:
    """A donor's own items, any status, with their history for "my objects"."""
    if user is None or not user.is_authenticated:
        return Item.objects.none()
    # A gift in kind stays in its donor's list after the organisation has become its owner.
    return _with_relations(Item.objects.filter(Q(owner=user) | Q(donor=user))).prefetch_related(
        Prefetch("transitions", queryset=ItemTransition.objects.order_by("at", "id"))
    )


def item_with_history(*, pk: int) -> Item:
    """One item with its photos and history; callers have checked access already."""
    return (
        _with_relations(Item.objects.filter(pk=pk))
        .select_related("donor")
        .prefetch_related(Prefetch("transitions", queryset=ItemTransition.objects.order_by("at", "id")))
        .get()
    )


def items_managed_by(user: User | AnonymousUser | None) -> QuerySet[Item]:
    """Items of the campaigns of the organisations whose objects ``user`` manages
    (managers and admins): the only way manager code reaches items (tenant isolation lives here)."""
    return _with_relations(
        Item.objects.filter(campaign__organisation__in=organisations_user_may(user, Permission.OBJECTS))
    )


def items_to_review(user: User | AnonymousUser | None) -> QuerySet[Item]:
    """The review queue: oldest first, so nobody waits forever."""
    return (
        items_managed_by(user)
        .filter(status=ItemStatus.IN_REVIEW)
        .select_related("owner", "donor")
        .prefetch_related(Prefetch("transitions", queryset=ItemTransition.objects.order_by("at", "id")))
        .order_by("updated_at", "id")
    )


# The catalogue's orders; with a text and no order asked for, the best matches come first.
ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "price": ("price_cents", "id"),
    "-price": ("-price_cents", "-id"),
}


def item_search(
    queryset: QuerySet[Item],
    *,
    campaign: str | None = None,
    status: str | None = None,
    q: str | None = None,
    window: int | None = None,
    category: str | None = None,
    organisation: str | None = None,
    department: str | None = None,
    delivery: str | None = None,
    min_price_cents: int | None = None,
    max_price_cents: int | None = None,
    ordering: str | None = None,
) -> QuerySet[Item]:
    """``queryset`` narrowed by the catalogue's filters (each already validated by the caller:
    ``pages.api.items.ItemFilterSerializer``), in the order asked for: ``newest``, ``price``,
    ``-price``; with ``q`` and no order, by relevance (titles above descriptions)."""
    if delivery in (RELAY, HOME):
        # Item.delivery_methods as a filter: a parcel when it ships; home only from the organisation.
        queryset = queryset.filter(ships=True)
        if delivery == HOME:
            queryset = queryset.filter(postal_code="")
    if window is not None:
        # Items currently placed in that shop window (qr.Placement; one current row per item and window).
        queryset = queryset.filter(placements__window_id=window, placements__removed_at__isnull=True)
    if campaign:
        queryset = queryset.filter(campaign__slug=campaign)
    if status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category=category)
    if organisation:
        queryset = queryset.filter(campaign__organisation__slug=organisation)
    if department:
        queryset = queryset.filter(department=department)
    if min_price_cents is not None:
        queryset = queryset.filter(price_cents__gte=min_price_cents)
    if max_price_cents is not None:
        queryset = queryset.filter(price_cents__lte=max_price_cents)
    if q:
        queryset = text_search(queryset, q, ranked=ordering is None)
    if ordering:
        queryset = queryset.order_by(*ORDERINGS[ordering])
    return queryset


def items_on_sale_like(*, campaign_id: int, category: str, limit: int) -> list[Item]:
    """Items on sale for campaign ``campaign_id``, newest first, those of ``category`` first, their
    photos prefetched: what a sold or held item's page offers instead (pages.item_similar, which
    keeps one more than it shows and leaves out the page's own item). Each read is a range of a
    partial index of listed items (donations 0026): the same category, then, when it gives fewer
    than ``limit``, the others; ordering every listed item of the campaign by "same category" cost a
    quarter of a second for a campaign of 40,000 objects, at nearly every page of a crowd at a window."""
    # A card shows the title, the price and the first photo, and links to the item's page by its id.
    listed = (
        Item.objects.filter(campaign_id=campaign_id, status=ItemStatus.LISTED)
        .only("id", "title", "price_cents", "category", "campaign_id", "status", "created_at")
        .order_by("-created_at", "-id")
    )
    similar = list(listed.filter(category=category)[:limit])
    if len(similar) < limit:
        similar += listed.exclude(category=category)[: limit - len(similar)]
    prefetch_related_objects(similar, Prefetch("photos", queryset=ItemPhoto.objects.order_by("position", "id")))
    return similar


def reservations_in_progress(*, user: User, now: datetime) -> QuerySet[Reservation]:
    """Holds running now on items of the organisations of ``user``'s dashboard (every role)."""
    return (
        Reservation.objects.filter(
            status=Reservation.Status.HELD,
            expires_at__gt=now,
            item__campaign__organisation__in=organisations_user_may(user, Permission.DASHBOARD),
        )
        .select_related("item", "item__campaign")
        .order_by("expires_at")
    )


# --- The item page's data, cached ------------------------------------------------

# The page a passer-by's scan lands on reads its item (with its campaign, organisation, short code,
# giver and photos) from the shared cache. The entry is kept under the item's generation token
# (kernel.generations), which changes when a change of the item commits: a status move
# (item_transition: reserved, sold, released… — the item's events), a save of the item or of one of
# its photos (donations.receivers). A page that read the item before such a commit and keeps it
# after keeps it under the old token, never served again. The page takes the campaign and its
# organisation from their own entry (ledger.selectors.campaign_page_campaign, under the campaign's
# token); what else the entry carries (a giver's town) may lag by ITEM_PAGE_CACHE_SECONDS at most.
# Only a public item is kept, so an entry is one that anybody may see. The version names the shape of
# the pickled rows: change it with the models.
ITEM_PAGE_CACHE_VERSION = 1
# How long an item's token lives: a token gone is a changed one (its entries are read again).
ITEM_GENERATION_SECONDS = 24 * 3600


def item_generation(pk: int) -> str:
    return f"item:{pk}"


def item_page_key(pk: int) -> str:
    return f"item-page:v{ITEM_PAGE_CACHE_VERSION}:{pk}"


def item_page_item(*, pk: int, user: User | None) -> Item | None:
    """Item ``pk`` as its page shows it, if ``user`` may see it: from the shared cache when it is
    there and current, else read (and kept when public). One cache round trip on a hit."""
    return generation_cached(
        item_generation(pk),
        item_page_key(pk),
        seconds=settings.ITEM_PAGE_CACHE_SECONDS,
        token_seconds=ITEM_GENERATION_SECONDS,
        servable=lambda kept: isinstance(kept, Item) and kept.pk == pk and kept.status in PUBLIC_STATUSES,
        read=lambda: item_visible_queryset(user=user).select_related("owner").filter(pk=pk).first(),  # type: ignore[arg-type]
    )


def item_changed(pk: int) -> None:
    """Item ``pk`` changes: the cached catalogue pages and its page data go when the current
    transaction commits (now outside one)."""
    generation_bump(CATALOGUE)
    generation_bump(item_generation(pk), seconds=ITEM_GENERATION_SECONDS)
