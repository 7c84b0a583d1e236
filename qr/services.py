"""Writes on short codes, scans and windows. The only code that changes them."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import cast

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Organisation
from donations.models import Item, ItemStatus
from kernel.errors import Conflict, DomainError
from qr.models import CODE_ALPHABET, CODE_LENGTH, Placement, Scan, ScanSalt, ShortCode, Window
from qr.selectors import short_url
from realtime.events import WINDOW_PLACEMENT_ADDED, WINDOW_PLACEMENT_REMOVED
from realtime.services import event_emit

logger = logging.getLogger(__name__)

Target = Item | Campaign | Window | Placement

_TARGET_FIELD: dict[type, str] = {Item: "item", Campaign: "campaign", Window: "window", Placement: "placement"}


class CodeAlreadyTaken(Conflict):
    code = "short_code_taken"
    default_detail = _("Cette cible a déjà son propre code.")


class ItemNotPlaceable(DomainError):
    code = "item_not_placeable"
    default_detail = _("Seuls les objets en vente de l'organisation peuvent être mis en vitrine.")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _field_for(target: Target) -> str:
    try:
        return _TARGET_FIELD[type(target)]
    except KeyError:
        raise TypeError(f"a short code cannot point at {type(target).__name__}") from None


def short_code_for(*, target: Target) -> ShortCode:
    """The code of ``target``, created on first use.

    Race safe without check-then-act: the one-to-one column refuses a second
    code for the same target, so the loser of a race reads the winner's code.
    A clash on the random code itself (1 in ~10^10) just draws again.
    """
    field = _field_for(target)
    for _attempt in range(5):
        existing = ShortCode.objects.filter(**{field: target}).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return ShortCode.objects.create(code=new_code(), **{field: target})
        except IntegrityError:
            continue  # another request created this target's code, or the random code clashed
    raise RuntimeError(f"could not create a short code for {field} {target.pk}")


def short_codes_ensure(*, targets: Sequence[Target]) -> dict[int, ShortCode]:
    """Codes for many targets of one kind in a fixed number of queries, keyed by target pk.

    Targets fetched with ``select_related("short_code")`` already carry their
    code (no query); the missing ones are created in one INSERT and read back
    in one SELECT, whatever their number. Read back because a concurrent
    request may have created some of them first (its code wins).
    """
    if not targets:
        return {}
    field = _field_for(targets[0])
    found: dict[int, ShortCode] = {}
    missing: list[Target] = []
    relation = type(targets[0]).short_code.related  # the reverse one-to-one
    for target in targets:
        cached = cast("ShortCode | None", relation.get_cached_value(target, default=None))
        if cached is None:
            missing.append(target)
        else:
            found[target.pk] = cached
    if missing:
        ShortCode.objects.bulk_create(
            [ShortCode(code=new_code(), **{field: target}) for target in missing], ignore_conflicts=True
        )
        stored = ShortCode.objects.filter(**{f"{field}__in": [target.pk for target in missing]})
        for code in stored:
            found[getattr(code, f"{field}_id")] = code
        for target in missing:
            if target.pk in found:
                relation.set_cached_value(target, found[target.pk])
            else:  # the random code clashed with another: the slow path draws again
                found[target.pk] = short_code_for(target=target)
                relation.set_cached_value(target, found[target.pk])
    return found


@transaction.atomic
def short_code_repoint(*, short_code: ShortCode, target: Target) -> ShortCode:
    """Point an existing (printed) code at another target that has no code of its own."""
    field = _field_for(target)
    targets: dict[str, Target | None] = dict.fromkeys(ShortCode.TARGET_FIELDS)
    targets[field] = target
    try:
        with transaction.atomic():
            ShortCode.objects.filter(pk=short_code.pk).update(**targets, updated_at=timezone.now())
    except IntegrityError:
        raise CodeAlreadyTaken(f"{field} {target.pk} already has a code") from None
    short_code.refresh_from_db()
    return short_code


# --- scans ------------------------------------------------------------------

MOBILE_MARKERS = ("mobi", "android", "iphone", "ipad", "ipod", "windows phone", "opera mini")
BOT_MARKERS = ("bot", "crawl", "spider", "preview", "curl", "wget", "python-requests", "httpx")


def client_class_from_user_agent(user_agent: str) -> str:
    ua = user_agent.lower()
    if not ua:
        return Scan.ClientClass.UNKNOWN
    if any(marker in ua for marker in BOT_MARKERS):
        return Scan.ClientClass.BOT
    if any(marker in ua for marker in MOBILE_MARKERS):
        return Scan.ClientClass.MOBILE
    return Scan.ClientClass.DESKTOP


def _salt_of(day: date) -> str:
    key = f"qr:scan-salt:{day.isoformat()}"
    salt = cache.get(key)
    if salt is None:
        try:
            with transaction.atomic():
                salt = ScanSalt.objects.get_or_create(day=day, defaults={"salt": secrets.token_hex(32)})[0].salt
        except IntegrityError:  # created concurrently: the unique day keeps one salt
            salt = ScanSalt.objects.get(day=day).salt
        # Earlier salts are destroyed: their hashes can no longer be linked to any address.
        ScanSalt.objects.filter(day__lt=day).delete()
        cache.set(key, salt, timeout=2 * 24 * 3600)
    return str(salt)


def visitor_hash(*, address: str, user_agent: str, at: datetime) -> str:
    """A hash for counting unique visitors of one day; never reversible to the address."""
    if not address:
        return ""
    salt = _salt_of(timezone.localdate(at))
    return hashlib.sha256(f"{salt}|{address}|{user_agent}".encode()).hexdigest()


def scan_record(*, short_code: ShortCode, user_agent: str, address: str, at: datetime | None = None) -> Scan:
    """Log one scan of ``short_code`` (see ``scan_log``)."""
    placement = short_code.placement
    return scan_log(
        code_id=short_code.pk,
        placement_id=short_code.placement_id,
        window_id=placement.window_id if placement is not None else short_code.window_id,
        user_agent=user_agent,
        address=address,
        at=at,
    )


def scan_log(
    *,
    code_id: int,
    placement_id: int | None,
    window_id: int | None,
    user_agent: str,
    address: str,
    at: datetime | None = None,
) -> Scan:
    """Log one scan: the code, the window it was in (if any), time, client class, visitor hash."""
    at = at or timezone.now()
    return Scan.objects.create(
        short_code_id=code_id,
        placement_id=placement_id,
        window_id=window_id,
        at=at,
        client_class=client_class_from_user_agent(user_agent[:500]),
        visitor_hash=visitor_hash(address=address, user_agent=user_agent[:500], at=at),
    )


# --- windows ----------------------------------------------------------------


@transaction.atomic
def window_create(
    *,
    organisation: Organisation,
    name: str,
    place: str,
    address: str = "",
    starts_at: datetime,
    ends_at: datetime | None = None,
    is_active: bool = True,
) -> Window:
    """Create a window and its own short code (the code of the whole window)."""
    window = Window.objects.create(
        organisation=organisation,
        name=name,
        place=place,
        address=address,
        starts_at=starts_at,
        ends_at=ends_at,
        is_active=is_active,
    )
    short_code_for(target=window)
    return window


WINDOW_EDITABLE = frozenset({"name", "place", "address", "starts_at", "ends_at"})


@transaction.atomic
def window_update(*, window: Window, changes: dict[str, object]) -> Window:
    """Change a window's name, place, address or dates (its code, objects and organisation stay).
    An end, if any, comes after the start (also a constraint of the table)."""
    unknown = set(changes) - WINDOW_EDITABLE
    if unknown:
        raise DomainError(f"not editable on a window: {sorted(unknown)}")
    starts_at, ends_at = changes.get("starts_at", window.starts_at), changes.get("ends_at", window.ends_at)
    if ends_at is not None and ends_at <= starts_at:  # type: ignore[operator]
        raise DomainError(
            f"window {window.pk} would end before it starts", detail=_("La fin doit venir après le début.")
        )
    for name, value in changes.items():
        setattr(window, name, value)
    if changes:
        window.save(update_fields=sorted(changes))
    return window


@transaction.atomic
def placement_add(*, window: Window, item: Item, position: int | None = None) -> Placement:
    """Place a listed item of the window's organisation at the end (or at ``position``), with its code."""
    if item.status != ItemStatus.LISTED or item.campaign.organisation_id != window.organisation_id:
        raise ItemNotPlaceable(f"item {item.pk} ({item.status}) in window {window.pk}")
    if position is None:
        last = window.placements.filter(removed_at__isnull=True).aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    try:
        with transaction.atomic():
            placement = Placement.objects.create(window=window, item=item, position=position)
    except IntegrityError:
        raise Conflict(
            f"item {item.pk} already in window {window.pk}", detail=_("Cet objet est déjà dans la vitrine.")
        ) from None
    code = short_code_for(target=placement)
    _placement_added_emit(placement, code)
    return placement


def _placement_added_emit(placement: Placement, code: ShortCode) -> None:
    """Tell the window's screen to draw the new card (public data only: what the screen shows)."""
    item = placement.item
    photo = item.photos.order_by("position", "id").first()
    event_emit(
        type=WINDOW_PLACEMENT_ADDED,
        public={
            "item": item.pk,
            "status": item.status,
            "title": item.title,
            "price_cents": item.price_cents,
            "photo": photo.image.url if photo else "",
            "short_url": short_url(code),
            "qr": reverse("qr:qr-svg", kwargs={"code": code.code}),
            "position": placement.position,
        },
        windows=[placement.window_id],
    )


def _placements_removed_emit(*, window_id: int, item_ids: Iterable[int]) -> None:
    for item_id in item_ids:
        event_emit(type=WINDOW_PLACEMENT_REMOVED, public={"item": item_id}, windows=[window_id])


@transaction.atomic
def placement_remove(*, placement: Placement) -> Placement:
    """Take an item out of the window; its printed card keeps working (the row stays)."""
    removed = Placement.objects.filter(pk=placement.pk, removed_at__isnull=True).update(removed_at=timezone.now())
    placement.refresh_from_db(fields=["removed_at"])
    if removed:
        _placements_removed_emit(window_id=placement.window_id, item_ids=[placement.item_id])
    return placement


@transaction.atomic
def window_remove_sold(*, window: Window) -> int:
    """Take every sold or handed-over item out of the window; returns how many."""
    gone = Placement.objects.select_for_update(of=("self",)).filter(
        window=window,
        removed_at__isnull=True,
        item__status__in=[ItemStatus.SOLD, ItemStatus.HANDED_OVER, ItemStatus.WITHDRAWN],
    )
    removed = dict(gone.values_list("pk", "item_id"))
    Placement.objects.filter(pk__in=removed).update(removed_at=timezone.now())
    _placements_removed_emit(window_id=window.pk, item_ids=removed.values())
    return len(removed)


@transaction.atomic
def window_reorder(*, window: Window, placement_ids: Iterable[int]) -> None:
    """Set the order of the window's current placements to ``placement_ids``.

    Ids not in the window are ignored; current placements not listed keep
    their relative order after the listed ones.
    """
    current = list(window.placements.filter(removed_at__isnull=True).select_for_update().order_by("pk"))
    by_id = {placement.pk: placement for placement in current}
    ordered = [by_id.pop(pk) for pk in dict.fromkeys(placement_ids) if pk in by_id]
    ordered += sorted(by_id.values(), key=lambda placement: (placement.position, placement.pk))
    for position, placement in enumerate(ordered):
        placement.position = position
    Placement.objects.bulk_update(ordered, ["position"])


def placement_move(*, placement: Placement, offset: int) -> None:
    """Move a placement ``offset`` places up (negative) or down (positive)."""
    window = placement.window
    ids = list(
        window.placements.filter(removed_at__isnull=True).order_by("position", "id").values_list("pk", flat=True)
    )
    if placement.pk not in ids:
        return
    index = ids.index(placement.pk)
    target = max(0, min(len(ids) - 1, index + offset))
    ids.insert(target, ids.pop(index))
    window_reorder(window=window, placement_ids=ids)
