"""Writes on items: ``item_transition`` (the only code that changes an item's
status), donors posting, editing and withdrawing, managers reviewing, gifts in kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Campaign
from donations.models import (
    BULKY_CATEGORIES,
    TRANSITIONS,
    Item,
    ItemPhoto,
    ItemStatus,
    ItemTransition,
    parcel_allowed,
)
from donations.selectors import item_changed
from donations.signals import item_listed
from kernel.errors import Conflict, DomainError, PermissionDenied
from kernel.generations import CATALOGUE, generation_bump
from kernel.photos import PreparedPhoto, delete_stored, store_photos
from kernel.places import department_of
from kernel.sql import row_insert
from kernel.states import transition_apply


def item_transition(
    *,
    item: Item,
    to: ItemStatus,
    actor: User | None = None,
    note: str = "",
    expected: ItemStatus | None = None,
    unchanged: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Item:
    """Move ``item`` to ``to`` if the state map allows it, and log the move.

    The move is one conditional UPDATE on the row's current status, so two
    concurrent callers cannot both win: the loser gets ``TransitionRefused``.
    ``fields`` are written in the same UPDATE (e.g. ``rejection_reason``).
    ``unchanged``: column values the caller read (a quote's price, weight…); a row that
    no longer has them is refused the same way.

    In the caller's transaction when there is one, without a savepoint of its own (two
    statements fewer on the checkout's path): a refused move has written nothing, so a
    caller that catches ``TransitionRefused`` goes on in a clean transaction; any other
    error rolls the caller's transaction back. Outside a transaction, in one of its own.
    """
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return item_transition(
                item=item, to=to, actor=actor, note=note, expected=expected, unchanged=unchanged, **fields
            )
    current = ItemStatus(expected or item.status)
    updated_at = timezone.now()
    transition_apply(
        model=Item,
        pk=item.pk,
        table=TRANSITIONS,
        current=current,
        to=to,
        where=unchanged,
        updated_at=updated_at,
        **fields,
    )
    row_insert(ItemTransition(item=item, from_status=current, to_status=to, actor=actor, note=note[:300]))
    item_changed(item.pk)  # the cached catalogue pages and this item's page data go when this commits
    item.status, item.updated_at = to, updated_at
    for name, value in fields.items():
        setattr(item, name, value)
    if to == ItemStatus.LISTED and current != ItemStatus.RESERVED:
        item_listed.send(sender=Item, item=item)
    return item


# --- Donors post, edit and withdraw their objects -------------------------

# What a donor may still change, and when they may take the object back: a
# reserved or sold object belongs to a checkout or a buyer by then.
OWNER_EDITABLE_STATUSES = (ItemStatus.DRAFT, ItemStatus.IN_REVIEW)
OWNER_WITHDRAWABLE_STATUSES = (ItemStatus.DRAFT, ItemStatus.IN_REVIEW, ItemStatus.LISTED, ItemStatus.ACCEPTED)
OWNER_EDITABLE_FIELDS = frozenset(
    {"title", "description", "condition", "category", "price_cents", "postal_code", "weight_grams", "ships"}
)
REVIEWER_EDITABLE_FIELDS = frozenset({"title", "description", "price_cents", "category", "weight_grams", "ships"})


# --- How an object may travel: collected, or as a parcel -----------------------


class ParcelRefused(DomainError):
    code = "parcel_not_allowed"
    field = "ships"
    default_detail = _("Cet objet ne peut pas être envoyé par colis : il se retire sur place.")


class ParcelNotAgreed(PermissionDenied):
    code = "parcel_not_agreed"
    field = "ships"
    default_detail = _("Seul le donateur qui garde l'objet chez lui peut accepter de l'envoyer par colis.")


def ships_refusal(*, category: str, weight_grams: int | None) -> str | None:
    """Why an object of this category and weight cannot travel as a parcel, in words for the
    giver (``parcel_allowed`` says no); None when it may."""
    if category in BULKY_CATEGORIES:
        label = Item.Category(category).label if category in Item.Category.values else category
        return gettext("« %(category)s » : trop encombrant pour un colis, l'objet se retire sur place.") % {
            "category": label
        }
    if weight_grams is None:
        return gettext("Indiquez le poids de l'objet pour proposer l'envoi par colis.")
    if not parcel_allowed(category=category, weight_grams=weight_grams):
        kilograms = settings.PARCEL_MAX_GRAMS // 1000
        return gettext("Au-delà de %(kg)d kg, un objet ne part pas en colis : il se retire sur place.") % {
            "kg": kilograms
        }
    return None


def ships_decide(*, asked: bool | None, current: bool, category: str, weight_grams: int | None) -> bool:
    """The ``ships`` to store after a write that sets any of ships, category or weight: what was
    asked (``None``: what it was), and True only when ``parcel_allowed``. Parcels asked for an
    object that cannot travel so are refused (``ParcelRefused``, with the reason); a category or
    weight that no longer allows parcels turns them off without a word."""
    if asked:
        refusal = ships_refusal(category=category, weight_grams=weight_grams)
        if refusal:
            raise ParcelRefused(f"ships refused: {category}, {weight_grams} g", detail=refusal)
    wanted = current if asked is None else asked
    return wanted and parcel_allowed(category=category, weight_grams=weight_grams)


def _ships_in_changes(*, item: Item, changes: dict[str, Any]) -> None:
    """Put the ``ships`` that ``changes`` leaves the item with into ``changes`` (see ``ships_decide``)."""
    if not {"ships", "category", "weight_grams"} & set(changes):
        return
    changes["ships"] = ships_decide(
        asked=changes.get("ships"),
        current=item.ships,
        category=changes.get("category", item.category),
        weight_grams=changes.get("weight_grams", item.weight_grams),
    )


def item_stays_with_giver(item: Item) -> bool:
    """A private giver keeps the object at home and hands it over (or ships it) themselves:
    it has their postal code and is not to be dropped at the organisation."""
    return item.kept_by_giver and item.handover != Item.Handover.DROP_OFF


# --- Where an object is ------------------------------------------------------


def item_department(*, postal_code: str, campaign: Campaign) -> str:
    """The department of an object: its own postal code's (a private giver's), else its
    campaign's organisation's (the object stands there)."""
    return department_of(postal_code) or department_of(campaign.organisation.postal_code)


def organisation_items_relocate(*, organisation_id: int, postal_code: str) -> int:
    """An organisation moved (its postal code changed): the objects standing there, those
    without a postal code of their own, take its new department. One UPDATE; the count."""
    generation_bump(CATALOGUE)
    return Item.objects.filter(campaign__organisation_id=organisation_id, postal_code="").update(
        department=department_of(postal_code)
    )


class ItemNotEditable(Conflict):
    code = "item_not_editable"
    default_detail = _("Cet objet ne peut plus être modifié dans son état actuel.")


class ItemNotWithdrawable(Conflict):
    code = "item_not_withdrawable"
    default_detail = _("Un objet réservé ou vendu ne peut pas être retiré.")


class CampaignClosed(DomainError):
    code = "campaign_not_live"
    default_detail = _("Cette campagne ne reçoit pas d'objets en ce moment.")


class WrongKind(Conflict):
    code = "wrong_kind"
    default_detail = _("Cette action ne s'applique pas à ce type d'objet (vente ou don en nature).")


class SaleHandoverRefused(DomainError):
    code = "handover_invalid"
    field = "handover"
    default_detail = _("Un objet à vendre reste chez vous ou se dépose à l'organisation.")


class OwnItemReview(PermissionDenied):
    code = "own_item_review"
    default_detail = _("Vous ne pouvez pas relire un objet que vous avez proposé vous-même.")


def item_create(
    *,
    owner: User,
    campaign: Campaign,
    title: str,
    description: str,
    condition: str,
    category: str,
    price_cents: int | None,
    photos: Sequence[PreparedPhoto],
    kind: str = Item.Kind.SALE,
    handover: str = "",
    handover_note: str = "",
    postal_code: str = "",
    weight_grams: int | None = None,
    ships: bool = False,
) -> Item:
    """Create an item with its photos and send it to review, all or nothing.

    The photos are already checked and re-encoded (``prepare_photo``); they are
    written here, and removed again if the database write fails, so a refused
    or failed post leaves no row and no file behind. The object is where its
    giver is: ``postal_code`` as given, else their account's, else (neither is a
    French postal code) at the organisation.

    An object for sale either stays at its giver's (``handover`` empty: they hand it
    over, or ship it if ``ships``) or is dropped at the organisation before it is
    listed (``handover=drop_off``: approved, it waits as accepted until the
    organisation receives it). ``ships`` is kept only when ``parcel_allowed``.
    """
    if campaign.status != Campaign.Status.LIVE:
        raise CampaignClosed(campaign.slug)
    gift = kind == Item.Kind.GIFT_IN_KIND
    if gift and not handover:
        raise DomainError("gift in kind without handover", detail=_("Choisissez comment remettre l'objet."))
    if not gift and not price_cents:
        raise DomainError("sale without price", detail=_("Fixez un prix."))
    if not gift and handover not in ("", Item.Handover.DROP_OFF):
        raise SaleHandoverRefused(f"sale with handover {handover!r}")
    ships = ships_decide(asked=ships, current=False, category=category, weight_grams=weight_grams)
    postal_code = postal_code or owner.postal_code.strip()
    if not department_of(postal_code):
        postal_code = ""
    written: list[str] = []
    try:
        with transaction.atomic():
            item = Item.objects.create(
                owner=owner,
                campaign=campaign,
                kind=kind,
                title=title,
                description=description,
                condition=condition,
                category=category,
                # A gift in kind is priced by the organisation, if it ever lists it.
                price_cents=None if gift else price_cents,
                handover=handover,
                handover_note=handover_note if handover else "",
                donor=owner if gift else None,
                postal_code=postal_code,
                department=item_department(postal_code=postal_code, campaign=campaign),
                weight_grams=weight_grams,
                ships=ships,
            )
            _attach_photos(item=item, photos=photos, written=written)
            item_transition(item=item, to=ItemStatus.IN_REVIEW, actor=owner, note="posted")
    except BaseException:
        delete_stored(written)
        raise
    return item


def item_create_sold_at_counter(*, campaign: Campaign, title: str, price_cents: int, actor: User) -> Item:
    """An object the organisation sold at its shop counter without it ever being in the
    catalogue (a "free line": checkout.services.counter). It is the organisation's own object
    (given in kind, no owner: no seller's tax receipt), created in the state it is in once
    sold and handed over, since no other state of it ever existed; its log says so. Caller's
    transaction."""
    now = timezone.now()
    item = Item.objects.create(
        campaign=campaign,
        kind=Item.Kind.GIFT_IN_KIND,
        title=title,
        description="",
        price_cents=price_cents,
        handover=Item.Handover.DROP_OFF,
        received_at=now,
        status=ItemStatus.HANDED_OVER,
        department=item_department(postal_code="", campaign=campaign),
    )
    ItemTransition.objects.create(
        item=item, from_status=ItemStatus.DRAFT, to_status=ItemStatus.HANDED_OVER, actor=actor, note="counter"
    )
    return item


def _attach_photos(*, item: Item, photos: Sequence[PreparedPhoto], written: list[str], start: int = 0) -> None:
    stored = store_photos(photos, prefix=f"items/{item.pk}", written=written)
    ItemPhoto.objects.bulk_create(
        ItemPhoto(
            item=item,
            image=photo.image,
            fallback=photo.fallback,
            renditions=[asdict(r) for r in photo.renditions],
            width=photo.width,
            height=photo.height,
            position=start + position,
        )
        for position, photo in enumerate(stored)
    )


@transaction.atomic
def item_update(*, item: Item, actor: User, changes: dict[str, Any]) -> Item:
    """The owner edits their item while it is a draft or in review.

    One conditional UPDATE on the status, so an item approved meanwhile is
    not edited behind the reviewer's back.
    """
    unknown = set(changes) - OWNER_EDITABLE_FIELDS
    if unknown:
        raise DomainError(f"not editable: {sorted(unknown)}")
    if item.owner_id != actor.pk:
        raise PermissionDenied("not the owner")
    if not changes:
        return item
    if "postal_code" in changes:
        changes["department"] = item_department(postal_code=changes["postal_code"], campaign=item.campaign)
    _ships_in_changes(item=item, changes=changes)
    updated = Item.objects.filter(pk=item.pk, status__in=OWNER_EDITABLE_STATUSES).update(
        updated_at=timezone.now(), **changes
    )
    if updated != 1:
        raise ItemNotEditable(str(item.pk))
    item_changed(item.pk)
    for name, value in changes.items():
        setattr(item, name, value)
    return item


@transaction.atomic
def item_withdraw(*, item: Item, actor: User) -> Item:
    """The owner takes their item back, unless it is reserved or sold."""
    if item.owner_id != actor.pk:
        raise PermissionDenied("not the owner")
    current = Item.objects.filter(pk=item.pk).values_list("status", flat=True).first()
    if current not in OWNER_WITHDRAWABLE_STATUSES:
        raise ItemNotWithdrawable(f"{item.pk} is {current}")
    # item_transition's conditional UPDATE on ``current`` makes a concurrent
    # reservation win or lose cleanly: never both.
    return item_transition(item=item, to=ItemStatus.WITHDRAWN, actor=actor, expected=ItemStatus(current))


# --- Managers review what donors post -------------------------------------


@transaction.atomic
def item_approve(*, item: Item, actor: User, changes: dict[str, Any] | None = None) -> Item:
    """List an item in review, with the reviewer's last edits (title, description, price,
    category, weight, parcels).

    The caller has found ``item`` through ``items_managed_by(actor)``; this
    still refuses that anyone approves their own object. An object its giver drops at the
    organisation is not listed yet: it waits as accepted until the organisation receives it
    (``item_receive``). The reviewer may turn parcels off, or on for an object that will stand
    at the organisation (it ships its own stock); only the giver agrees to ship from home.
    """
    changes = dict(changes or {})
    unknown = set(changes) - REVIEWER_EDITABLE_FIELDS
    if unknown:
        raise DomainError(f"not editable on review: {sorted(unknown)}")
    if item.owner_id == actor.pk:
        raise OwnItemReview(str(item.pk))
    if item.kind == Item.Kind.GIFT_IN_KIND:
        raise WrongKind(str(item.pk))
    price = changes.get("price_cents", item.price_cents)
    if not price:
        raise DomainError("no price", detail=_("Fixez un prix avant de mettre l'objet en vente."))
    if changes.get("ships") and not item.ships and item_stays_with_giver(item):
        raise ParcelNotAgreed(str(item.pk))
    _ships_in_changes(item=item, changes=changes)
    to = ItemStatus.ACCEPTED if item.handover == Item.Handover.DROP_OFF else ItemStatus.LISTED
    return item_transition(item=item, to=to, actor=actor, note="approved", expected=ItemStatus.IN_REVIEW, **changes)


@transaction.atomic
def item_reject(*, item: Item, actor: User, reason: str) -> Item:
    """Refuse an item in review; the donor reads ``reason``."""
    if item.owner_id == actor.pk:
        raise OwnItemReview(str(item.pk))
    return item_transition(
        item=item,
        to=ItemStatus.REJECTED,
        actor=actor,
        note=reason,
        expected=ItemStatus.IN_REVIEW,
        rejection_reason=reason,
    )


# --- Gifts in kind: the organisation accepts, receives, then may list --------


def _gift(item: Item, actor: User, *, drop_off_sale: bool = False) -> None:
    sale_dropped = drop_off_sale and item.kind == Item.Kind.SALE and item.handover == Item.Handover.DROP_OFF
    if item.kind != Item.Kind.GIFT_IN_KIND and not sale_dropped:
        raise WrongKind(str(item.pk))
    if item.donor_id == actor.pk or item.owner_id == actor.pk:
        raise OwnItemReview(str(item.pk))


@transaction.atomic
def item_accept(*, item: Item, actor: User) -> Item:
    """The organisation says yes to a gift in kind; the donor then brings it or waits for pick-up."""
    _gift(item, actor)
    return item_transition(item=item, to=ItemStatus.ACCEPTED, actor=actor, note="accepted")


@transaction.atomic
def item_receive(*, item: Item, actor: User) -> Item:
    """Record that the object reached the organisation: it stands there from now on (no postal
    code of its own, the organisation's department) and travels as the organisation's stock.

    A gift in kind becomes the organisation's (no owner), which may list it later. An object for
    sale its giver dropped off stays theirs (their seller's receipt once sold) and is listed at
    once, at the price already approved: received, then listed, in one transaction."""
    _gift(item, actor, drop_off_sale=True)
    here: dict[str, Any] = {"postal_code": "", "department": item_department(postal_code="", campaign=item.campaign)}
    if item.kind == Item.Kind.SALE:
        item_transition(
            item=item,
            to=ItemStatus.RECEIVED,
            actor=actor,
            note="received",
            expected=ItemStatus.ACCEPTED,
            received_at=timezone.now(),
            **here,
        )
        return item_transition(item=item, to=ItemStatus.LISTED, actor=actor, note="dropped off")
    return item_transition(
        item=item,
        to=ItemStatus.RECEIVED,
        actor=actor,
        note="received",
        expected=ItemStatus.ACCEPTED,
        owner=None,
        received_at=timezone.now(),
        **here,
    )


@transaction.atomic
def item_list_for_sale(*, item: Item, actor: User, price_cents: int, changes: dict[str, Any] | None = None) -> Item:
    """The organisation lists a gift in kind it has received, at its own price."""
    changes = dict(changes or {})
    unknown = set(changes) - REVIEWER_EDITABLE_FIELDS
    if unknown:
        raise DomainError(f"not editable: {sorted(unknown)}")
    if item.kind != Item.Kind.GIFT_IN_KIND:
        raise WrongKind(str(item.pk))
    changes["price_cents"] = price_cents
    _ships_in_changes(item=item, changes=changes)
    return item_transition(
        item=item,
        to=ItemStatus.LISTED,
        actor=actor,
        note="listed by the organisation",
        expected=ItemStatus.RECEIVED,
        **changes,
    )
