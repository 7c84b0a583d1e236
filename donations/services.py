"""Writes on items, holds, orders and gifts. ``item_transition`` is the only code that changes an item's status."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Campaign, Membership
from donations.models import (
    PUBLIC_STATUSES,
    TRANSITIONS,
    Gift,
    Item,
    ItemPhoto,
    ItemStatus,
    ItemTransition,
    Order,
    PaymentStatus,
    Reservation,
)
from donations.photos import PreparedPhoto, delete_stored, store_photos
from donations.selectors import item_streams
from realtime.services import event_emit
from tremma.errors import Conflict, DomainError, NotFound, PermissionDenied


class TransitionRefused(Conflict):
    code = "transition_refused"


@transaction.atomic
def item_transition(
    *,
    item: Item,
    to: ItemStatus,
    actor: User | None = None,
    note: str = "",
    expected: ItemStatus | None = None,
    **fields: Any,
) -> Item:
    """Move ``item`` to ``to`` if the state map allows it, and log the move.

    The move is one conditional UPDATE on the row's current status, so two
    concurrent callers cannot both win: the loser gets ``TransitionRefused``.
    ``fields`` are written in the same UPDATE (e.g. ``rejection_reason``).
    """
    current = ItemStatus(expected or item.status)
    if to not in TRANSITIONS[current]:
        raise TransitionRefused(f"{current} → {to}")
    updated = Item.objects.filter(pk=item.pk, status=current).update(status=to, updated_at=timezone.now(), **fields)
    if updated != 1:
        raise TransitionRefused(f"{current} → {to}")
    ItemTransition.objects.create(item=item, from_status=current, to_status=to, actor=actor, note=note[:300])
    if to == ItemStatus.LISTED and current != ItemStatus.RESERVED:
        # A newly listed item gets its printed code now, so catalogue reads never write.
        from qr.services import short_code_for

        short_code_for(target=item)
    item.status = to
    for name, value in fields.items():
        setattr(item, name, value)
    return item


# --- Checkout: reservations, orders and gifts -------------------------------------------------

logger = logging.getLogger(__name__)

# Letters and digits a person reads aloud without confusion (no 0/O, 1/I/L).
_CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class ItemUnavailable(Conflict):
    code = "item_unavailable"
    default_detail = _("Cet objet n'est plus disponible : quelqu'un l'a déjà réservé ou acheté.")


class TooManyHolds(DomainError):
    status_code = 429
    code = "too_many_holds"
    default_detail = _(
        "Vous avez déjà plusieurs objets en attente de paiement. Terminez un paiement ou attendez quelques minutes."
    )


class PaymentUnavailable(DomainError):
    status_code = 503
    code = "payment_unavailable"
    default_detail = _("Le paiement est momentanément indisponible. Réessayez dans un instant.")


def _language() -> str:
    """The active language (the request's), among ours: emails about this payment are written in it."""
    language = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _claim_code() -> str:
    return "".join(secrets.choice(_CLAIM_ALPHABET) for _i in range(10))


def _return_urls(*, kind: str, pk: int) -> tuple[str, str]:
    ref = signing.dumps({"kind": kind, "id": pk}, salt="tremma.payment-return")
    query = urlencode({"ref": ref})
    return (
        f"{settings.SITE_URL}{reverse('payments:success')}?{query}",
        f"{settings.SITE_URL}{reverse('payments:cancel')}?{query}",
    )


def _holds_check_cap(*, email: str, client_key: str, now: datetime) -> None:
    # A cap is a count, not a uniqueness rule: two simultaneous requests of one
    # person may both pass; the cap only needs to stop hoarding, not be exact.
    active = Reservation.objects.filter(status=Reservation.Status.HELD, expires_at__gt=now)
    if active.filter(email__iexact=email).count() >= settings.HOLDS_MAX_PER_EMAIL:
        raise TooManyHolds(f"holds cap for email {email}")
    if client_key and active.filter(client_key=client_key).count() >= settings.HOLDS_MAX_PER_CLIENT:
        raise TooManyHolds("holds cap for client address")


def order_start(*, item_id: int, email: str, user: User | None = None, client_key: str = "") -> Order:
    """Reserve a listed item for one buyer, create the order and the provider checkout.

    Three short transactions on purpose: the provider is never called while
    the database is locked. If the provider fails, the order is marked failed
    and the item released (item.released), then ``PaymentUnavailable`` is raised."""
    from payments.gateways import CheckoutRequest, GatewayError, gateway

    now = timezone.now()
    hold_until = now + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
    provider = gateway()
    with transaction.atomic():
        item = Item.objects.select_related("campaign").filter(pk=item_id, status__in=PUBLIC_STATUSES).first()
        if item is None:
            raise NotFound(f"item {item_id}")
        if item.status == ItemStatus.RESERVED:
            # Lazy expiry: an expired hold is void as soon as someone asks for the item.
            for order_id in Reservation.objects.filter(
                item=item, status=Reservation.Status.HELD, expires_at__lte=now
            ).values_list("order_id", flat=True):
                reservation_release(order_id=order_id, to=PaymentStatus.EXPIRED)
        _holds_check_cap(email=email, client_key=client_key, now=now)
        try:
            # The one atomic conditional UPDATE that makes a unique item unsellable twice.
            item_transition(item=item, to=ItemStatus.RESERVED, expected=ItemStatus.LISTED, note="checkout")
        except TransitionRefused as refused:
            raise ItemUnavailable(f"item {item_id} is not listed") from refused
        order = Order.objects.create(
            item=item,
            campaign=item.campaign,
            user=user,
            email=email,
            amount_cents=item.price_cents or 0,
            currency=item.currency,
            provider=provider.name,
            expires_at=hold_until,
            claim_code=_claim_code(),
            language=_language(),
        )
        Reservation.objects.create(item=item, order=order, email=email, client_key=client_key, expires_at=hold_until)
        event_emit(
            type="item.reserved",
            public={"item": item.pk, "status": ItemStatus.RESERVED, "until": hold_until.isoformat()},
            **item_streams(item),
        )
    success_url, cancel_url = _return_urls(kind="order", pk=order.pk)
    request = CheckoutRequest(
        kind="order",
        object_id=order.pk,
        amount_cents=order.amount_cents,
        currency=order.currency,
        description=item.title,
        email=email,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=hold_until,
        idempotency_key=f"tremma-order-{order.pk}-checkout",
    )
    try:
        session = provider.checkout_create(request)
    except GatewayError:
        logger.warning("checkout: provider failed for order %s", order.pk, exc_info=True)
        reservation_release(order_id=order.pk, to=PaymentStatus.FAILED)
        raise PaymentUnavailable(f"order {order.pk}") from None
    except BaseException:
        # A bug, not the provider: still never leave the item held by a dead order.
        reservation_release(order_id=order.pk, to=PaymentStatus.FAILED)
        raise
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(
            provider_session_id=session.id, checkout_url=session.url, expires_at=session.expires_at
        )
        Reservation.objects.filter(order=order, status=Reservation.Status.HELD).update(expires_at=session.expires_at)
    order.provider_session_id, order.checkout_url, order.expires_at = session.id, session.url, session.expires_at
    return order


@transaction.atomic
def reservation_release(*, order_id: int, to: PaymentStatus, note: str = "") -> bool:
    """End the hold of ``order_id`` (expired, failed, abandoned): the order gets
    status ``to``, the item goes back to listed, watchers get item.released.
    Returns False when the hold was already over (idempotent)."""
    order = Order.objects.select_for_update().select_related("item__campaign").get(pk=order_id)
    released = Reservation.objects.filter(order_id=order_id, status=Reservation.Status.HELD).update(
        status=Reservation.Status.RELEASED, released_at=timezone.now()
    )
    if not released:
        return False
    Order.objects.filter(pk=order_id, status=PaymentStatus.PENDING).update(status=to)
    item = order.item
    item_transition(item=item, to=ItemStatus.LISTED, expected=ItemStatus.RESERVED, note=note or f"hold {to}")
    event_emit(type="item.released", public={"item": item.pk, "status": ItemStatus.LISTED}, **item_streams(item))
    return True


def reservations_release_expired(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): release every hold past its expiry.

    The provider's session expires at the same instant (we gave it our
    ``expires_at``), so there is nothing to expire there."""
    now = timezone.now()
    order_ids = list(
        Reservation.objects.filter(status=Reservation.Status.HELD, expires_at__lte=now)
        .order_by("order_id")
        .values_list("order_id", flat=True)[:limit]
    )
    return sum(reservation_release(order_id=order_id, to=PaymentStatus.EXPIRED) for order_id in order_ids)


def gift_start(
    *,
    campaign_slug: str,
    amount_cents: int,
    email: str,
    name: str = "",
    anonymous: bool = False,
    message: str = "",
    user: User | None = None,
) -> Gift:
    """Record a pending gift and open the provider checkout. It counts only once paid.
    If the provider fails, the gift is marked failed and ``PaymentUnavailable`` is raised."""
    from payments.gateways import CheckoutRequest, GatewayError, gateway

    if not settings.GIFT_MIN_CENTS <= amount_cents <= settings.GIFT_MAX_CENTS:
        raise DomainError(f"gift amount {amount_cents} out of bounds")
    campaign = Campaign.objects.filter(slug=campaign_slug, status=Campaign.Status.LIVE).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_slug}")
    provider = gateway()
    gift = Gift.objects.create(
        campaign=campaign,
        user=user,
        email=email,
        name=name,
        anonymous=anonymous,
        message=message,
        amount_cents=amount_cents,
        provider=provider.name,
        language=_language(),
    )
    success_url, cancel_url = _return_urls(kind="gift", pk=gift.pk)
    request = CheckoutRequest(
        kind="gift",
        object_id=gift.pk,
        amount_cents=amount_cents,
        currency=gift.currency,
        description=str(_("Don pour « %(title)s »") % {"title": campaign.title}),
        email=email,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=timezone.now() + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES),
        idempotency_key=f"tremma-gift-{gift.pk}-checkout",
    )
    try:
        session = provider.checkout_create(request)
    except GatewayError:
        logger.warning("gift: provider failed for gift %s", gift.pk, exc_info=True)
        Gift.objects.filter(pk=gift.pk, status=PaymentStatus.PENDING).update(status=PaymentStatus.FAILED)
        raise PaymentUnavailable(f"gift {gift.pk}") from None
    Gift.objects.filter(pk=gift.pk).update(provider_session_id=session.id, checkout_url=session.url)
    gift.provider_session_id, gift.checkout_url = session.id, session.url
    return gift


# --- Donors post, edit and withdraw their objects -------------------------

# What a donor may still change, and when they may take the object back: a
# reserved or sold object belongs to a checkout or a buyer by then.
OWNER_EDITABLE_STATUSES = (ItemStatus.DRAFT, ItemStatus.IN_REVIEW)
OWNER_WITHDRAWABLE_STATUSES = (ItemStatus.DRAFT, ItemStatus.IN_REVIEW, ItemStatus.LISTED, ItemStatus.ACCEPTED)
OWNER_EDITABLE_FIELDS = frozenset({"title", "description", "condition", "category", "price_cents"})
REVIEWER_EDITABLE_FIELDS = frozenset({"title", "description", "price_cents"})


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
) -> Item:
    """Create an item with its photos and send it to review, all or nothing.

    The photos are already checked and re-encoded (``prepare_photo``); they are
    written here, and removed again if the database write fails, so a refused
    or failed post leaves no row and no file behind.
    """
    if campaign.status != Campaign.Status.LIVE:
        raise CampaignClosed(campaign.slug)
    gift = kind == Item.Kind.GIFT_IN_KIND
    if gift and not handover:
        raise DomainError("gift in kind without handover", detail=_("Choisissez comment remettre l'objet."))
    if not gift and not price_cents:
        raise DomainError("sale without price", detail=_("Fixez un prix."))
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
                handover=handover if gift else "",
                handover_note=handover_note if gift else "",
                donor=owner if gift else None,
            )
            _attach_photos(item=item, photos=photos, written=written)
            item_transition(item=item, to=ItemStatus.IN_REVIEW, actor=owner, note="posted")
    except BaseException:
        delete_stored(written)
        raise
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
    updated = Item.objects.filter(pk=item.pk, status__in=OWNER_EDITABLE_STATUSES).update(
        updated_at=timezone.now(), **changes
    )
    if updated != 1:
        raise ItemNotEditable(str(item.pk))
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
    """List an item in review, with the reviewer's last edits (title, description, price).

    The caller has found ``item`` through ``items_managed_by(actor)``; this
    still refuses that anyone approves their own object.
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
    return item_transition(
        item=item, to=ItemStatus.LISTED, actor=actor, note="approved", expected=ItemStatus.IN_REVIEW, **changes
    )


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


def _gift(item: Item, actor: User) -> None:
    if item.kind != Item.Kind.GIFT_IN_KIND:
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
    """Record the hand-over of a gift in kind: from now on the organisation owns it."""
    _gift(item, actor)
    return item_transition(
        item=item,
        to=ItemStatus.RECEIVED,
        actor=actor,
        note="received",
        expected=ItemStatus.ACCEPTED,
        owner=None,
        received_at=timezone.now(),
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
    return item_transition(
        item=item,
        to=ItemStatus.LISTED,
        actor=actor,
        note="listed by the organisation",
        expected=ItemStatus.RECEIVED,
        **changes,
    )


# --- Hand-over of a sold object ----------------------------------------------------------------


class ClaimCodeInvalid(DomainError):
    code = "claim_code_invalid"
    default_detail = _("Ce code de retrait ne correspond pas à cette commande.")


class NotHandable(Conflict):
    code = "not_handable"
    default_detail = _("Cet objet ne peut pas être remis : la commande n'est pas payée ou l'objet est déjà remis.")


def order_hand_over(*, order: Order, claim_code: str, actor: User) -> Order:
    """A manager of the organisation hands the sold object to the buyer, who
    shows their claim code: the item goes sold → handed_over, ``handed_over_at``
    starts the return period (then the seller's tax receipt), and the
    organisation is paid by transfer after commit."""
    from payments.services import order_transfer

    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("item", "campaign").filter(pk=order.pk).first()
        if locked is None:
            raise NotFound(f"order {order.pk}")
        organisation_id = locked.campaign.organisation_id
        if not (actor.is_superuser or Membership.objects.filter(user=actor, organisation_id=organisation_id).exists()):
            raise PermissionDenied(f"user {actor.pk} is not a manager of organisation {organisation_id}")
        if not secrets.compare_digest(locked.claim_code, claim_code.strip().upper()):
            raise ClaimCodeInvalid(f"order {order.pk}")
        if locked.status != PaymentStatus.PAID:
            raise NotHandable(f"order {order.pk} is {locked.status}")
        try:
            item_transition(item=locked.item, to=ItemStatus.HANDED_OVER, expected=ItemStatus.SOLD, actor=actor)
        except TransitionRefused as refused:
            raise NotHandable(f"item {locked.item_id} is {locked.item.status}") from refused
        now = timezone.now()
        Order.objects.filter(pk=locked.pk).update(handed_over_at=now)
        locked.handed_over_at = now
        event_emit(
            type="item.handed_over",
            public={"item": locked.item_id, "status": ItemStatus.HANDED_OVER},
            private={"order": locked.pk},
            **item_streams(locked.item),
        )
        transaction.on_commit(lambda: order_transfer(order_id=locked.pk), robust=True)
    return locked
