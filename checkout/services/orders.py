"""Writes of buying and giving: holds and orders on an item, gifts to a
campaign, and the hand-over of a sold object with its claim code."""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Campaign
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from checkout.selectors import item_streams
from checkout.services.payouts import order_transfer
from checkout.services.states import payment_transition, reservation_transition
from checkout.services.targets import PaymentUnavailable
from donations.models import (
    PUBLIC_STATUSES,
    Gift,
    Item,
    ItemStatus,
    Order,
    PaymentStatus,
    Reservation,
)
from donations.services.items import item_transition
from kernel.errors import Conflict, DomainError, NotFound
from kernel.states import TransitionRefused
from kernel.tasks import task, task_at, task_enqueue
from payments.gateways import CheckoutRequest, GatewayError, gateway
from realtime.events import ITEM_HANDED_OVER, ITEM_RELEASED, ITEM_RESERVED
from realtime.services import event_emit
from receipts.details import ReceiptDetails

# --- Checkout: reservations, orders and gifts -------------------------------------------------

logger = logging.getLogger(__name__)

# Letters and digits a person reads aloud without confusion (no 0/O, 1/I/L).
# The signed reference of the return pages (success / cancel) to their order or gift.
RETURN_SALT = "tremma.payment-return"
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


def _language() -> str:
    """The active language (the request's), among ours: emails about this payment are written in it."""
    language = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _claim_code() -> str:
    return "".join(secrets.choice(_CLAIM_ALPHABET) for _i in range(10))


def _return_urls(*, kind: str, pk: int) -> tuple[str, str]:
    ref = signing.dumps({"kind": kind, "id": pk}, salt=RETURN_SALT)
    query = urlencode({"ref": ref})
    return (
        f"{settings.SITE_URL}{reverse('checkout:success')}?{query}",
        f"{settings.SITE_URL}{reverse('checkout:cancel')}?{query}",
    )


def _holds_check_cap(*, email: str, client_key: str, now: datetime) -> None:
    # A cap is a count, not a uniqueness rule: two simultaneous requests of one
    # person may both pass; the cap only needs to stop hoarding, not be exact.
    active = Reservation.objects.filter(status=Reservation.Status.HELD, expires_at__gt=now)
    caps = [(active.filter(email__iexact=email), settings.HOLDS_MAX_PER_EMAIL, f"holds cap for email {email}")]
    if client_key:
        caps.append(
            (active.filter(client_key=client_key), settings.HOLDS_MAX_PER_CLIENT, "holds cap for client address")
        )
    for holds, cap, why in caps:
        if holds.count() >= cap:
            refused = TooManyHolds(why)
            # The first of these holds to end frees a place.
            first_end = holds.order_by("expires_at").values_list("expires_at", flat=True).first()
            refused.retry_after = int((first_end - now).total_seconds()) + 1 if first_end else None
            raise refused


def order_start(*, item_id: int, email: str, user: User | None = None, client_key: str = "") -> Order:
    """Reserve a listed item for one buyer, create the order and the provider checkout.

    Three short transactions on purpose, each durable (never inside a caller's):
    the provider is never called while the database is locked. If the provider
    fails, the order is marked failed and the item released (item.released),
    then ``PaymentUnavailable`` is raised."""
    now = timezone.now()
    hold_until = now + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)
    provider = gateway()
    with transaction.atomic(durable=True):
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
            type=ITEM_RESERVED,
            public={"item": item.pk, "status": ItemStatus.RESERVED, "until": hold_until.isoformat()},
            private={"title": item.title},
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
    with transaction.atomic(durable=True):
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
    if not reservation_transition(order_id=order_id, to=Reservation.Status.RELEASED, released_at=timezone.now()):
        return False
    if order.status == PaymentStatus.PENDING:
        payment_transition(order, to=to)
    item = order.item
    item_transition(item=item, to=ItemStatus.LISTED, expected=ItemStatus.RESERVED, note=note or f"hold {to}")
    event_emit(type=ITEM_RELEASED, public={"item": item.pk, "status": ItemStatus.LISTED}, **item_streams(item))
    return True


# Holds expiring within this are given a run at their expiry by the periodic release.
RELEASE_PLAN_AHEAD = timedelta(minutes=2)


@task(timeout=50)
def reservations_release_expired(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): release every hold past its expiry.

    The provider's session expires at the same instant (we gave it our
    ``expires_at``), so there is nothing to expire there."""
    now = timezone.now()
    held = Reservation.objects.filter(status=Reservation.Status.HELD)
    order_ids = list(held.filter(expires_at__lte=now).order_by("order_id").values_list("order_id", flat=True)[:limit])
    released = sum(reservation_release(order_id=order_id, to=PaymentStatus.EXPIRED) for order_id in order_ids)
    # The schedule comes every minute; a hold that expires before the next one is released
    # on time by a run planned at its expiry (django-q2's scheduler looks every 30 s).
    upcoming = held.filter(expires_at__gt=now).order_by("expires_at").values_list("expires_at", flat=True).first()
    if upcoming is not None and upcoming <= now + RELEASE_PLAN_AHEAD:
        task_at(reservations_release_expired, at=upcoming)
    return released


def _receipt_fields(receipt: ReceiptDetails | None) -> dict[str, object]:
    if receipt is None:
        return {"receipt_requested": False}
    return {"receipt_requested": True, **{f"receipt_{name}": value for name, value in asdict(receipt).items()}}


def gift_start(
    *,
    campaign_slug: str,
    amount_cents: int,
    email: str,
    name: str = "",
    anonymous: bool = False,
    message: str = "",
    user: User | None = None,
    receipt: ReceiptDetails | None = None,
) -> Gift:
    """Record a pending gift and open the provider checkout. It counts only once paid.
    With ``receipt`` (validated by receipts.details), the tax receipt is
    issued to those details, account or not.
    If the provider fails, the gift is marked failed and ``PaymentUnavailable`` is raised."""
    if not settings.GIFT_MIN_CENTS <= amount_cents <= settings.GIFT_MAX_CENTS:
        raise DomainError(f"gift amount {amount_cents} out of bounds")
    campaign = Campaign.objects.filter(slug=campaign_slug, status=Campaign.Status.LIVE).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_slug}")
    provider = gateway()
    # Its own transaction, committed before the provider is called (never under a caller's locks).
    with transaction.atomic(durable=True):
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
            **_receipt_fields(receipt),
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
        payment_transition(gift, to=PaymentStatus.FAILED, expected=PaymentStatus.PENDING)
        raise PaymentUnavailable(f"gift {gift.pk}") from None
    Gift.objects.filter(pk=gift.pk).update(provider_session_id=session.id, checkout_url=session.url)
    gift.provider_session_id, gift.checkout_url = session.id, session.url
    return gift


# --- Hand-over of a sold object ----------------------------------------------------------------


class ClaimCodeInvalid(DomainError):
    code = "claim_code_invalid"
    field = "claim_code"
    default_detail = _("Ce code de retrait ne correspond pas à cette commande.")


class NotHandable(Conflict):
    code = "not_handable"
    default_detail = _("Cet objet ne peut pas être remis : la commande n'est pas payée ou l'objet est déjà remis.")


def claim_code_normalise(typed: str) -> str | None:
    """A claim code as read aloud, typed or scanned at the counter, in the form it is stored;
    None when it cannot be one.

    Only what cannot turn one code into another is forgiven: ASCII case, and the
    spaces and dashes a person adds to read a code in groups (the alphabet has
    neither). Unicode case mapping is not forgiven: ``"ſ".upper()`` is ``"S"`` and
    ``"ﬆ".upper()`` is ``"ST"``, so anything outside ASCII is refused as typed."""
    cleaned = "".join(typed.split()).replace("-", "")
    if not cleaned or not cleaned.isascii():
        return None
    return cleaned.upper()


def _claim_code_matches(*, expected: str, typed: str) -> bool:
    """Whether ``typed`` is the order's claim code (``claim_code_normalise``'s forgiveness)."""
    cleaned = claim_code_normalise(typed)
    if not expected or cleaned is None:
        return False
    # Constant time, on bytes: compare_digest raises TypeError on a non-ASCII str.
    return secrets.compare_digest(expected.encode(), cleaned.encode())


def order_hand_over(*, order: Order, claim_code: str, actor: User) -> Order:
    """A member of the organisation (every role may) hands the sold object to the buyer, who
    shows their claim code: the item goes sold → handed_over, ``handed_over_at``
    starts the return period (then the seller's tax receipt), and the
    organisation is paid by transfer after commit."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("item", "campaign").filter(pk=order.pk).first()
        if locked is None:
            raise NotFound(f"order {order.pk}")
        organisation_id = locked.campaign.organisation_id
        # Another organisation's order answers as a missing one: its ids are not a hint.
        permission_require(actor, organisation_id, Permission.HAND_OVER)
        if not _claim_code_matches(expected=locked.claim_code, typed=claim_code):
            raise ClaimCodeInvalid(f"order {order.pk}")
        if locked.status != PaymentStatus.PAID or locked.pickup_expired_at is not None:
            # Never collected in time: its refund is on its way (checkout.services.pickups).
            raise NotHandable(f"order {order.pk} is {locked.status}, expired {locked.pickup_expired_at}")
        try:
            item_transition(item=locked.item, to=ItemStatus.HANDED_OVER, expected=ItemStatus.SOLD, actor=actor)
        except TransitionRefused as refused:
            raise NotHandable(f"item {locked.item_id} is {locked.item.status}") from refused
        now = timezone.now()
        Order.objects.filter(pk=locked.pk).update(handed_over_at=now)
        locked.handed_over_at = now
        event_emit(
            type=ITEM_HANDED_OVER,
            public={"item": locked.item_id, "status": ItemStatus.HANDED_OVER},
            private={"order": locked.pk},
            **item_streams(locked.item),
        )
        task_enqueue(order_transfer, order_id=locked.pk)
    return locked
