"""Writes of buying and giving: holds and orders on an item, gifts to a
campaign, and the hand-over of a sold object with its claim code."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Campaign
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from checkout.selectors import item_streams
from checkout.services.payouts import fulfilment_transfer
from checkout.services.recurring import recurring_abandon
from checkout.services.shipping import (
    DeliveryChoice,
    Plan,
    QuoteStale,
    SenderKey,
    ShippingChanged,
    delivery_plan,
    item_sender,
    plan_check,
    quoted_columns,
)
from checkout.services.states import payment_transition, reservation_transition
from checkout.services.targets import PaymentUnavailable
from donations.models import (
    PUBLIC_STATUSES,
    Fulfilment,
    Gift,
    Item,
    ItemStatus,
    Order,
    OrderLine,
    PaymentStatus,
    RecurringGift,
    Reservation,
)
from donations.services.items import item_transition
from kernel.errors import Conflict, DomainError, NotFound
from kernel.money import CURRENCY, format_money
from kernel.sql import marks, row_insert, rows_insert, rows_select, rows_together, rows_update
from kernel.states import TransitionRefused
from kernel.tasks import task, task_at, task_enqueue
from payments.gateways import CheckoutLine, CheckoutRequest, GatewayError, gateway
from qr.selectors import windows_from_annotation, windows_showing_annotation
from realtime.events import ITEM_HANDED_OVER, ITEM_RELEASED, ITEM_RESERVED
from realtime.services import event_emit
from receipts.details import ReceiptDetails

# --- Checkout: reservations, orders and gifts -------------------------------------------------

# The tip's line on the provider's payment page.
TIP_LINE = _("Contribution aux frais de Trëmma")
# One parcel's line on the provider's payment page (paid by the buyer, never the campaign's).
SHIPPING_LINE = _("Frais de port — %(organisation)s")

logger = logging.getLogger(__name__)

# Letters and digits a person reads aloud without confusion (no 0/O, 1/I/L).
# The signed reference of the return pages (success / cancel) to their order or gift.
RETURN_SALT = "tremma.payment-return"
_CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class ItemUnavailable(Conflict):
    code = "item_unavailable"
    default_detail = _("Cet objet n'est plus disponible : quelqu'un l'a déjà réservé ou acheté.")
    # The ids of the basket's items that could not be held (none was held).
    unavailable: list[int] = []

    @classmethod
    def naming(cls, item_ids: Iterable[int]) -> ItemUnavailable:
        """The refusal of a hold naming each item (by id) that is not listed."""
        ids = sorted(item_ids)
        refused = cls(f"items {ids} are not listed")
        refused.unavailable = ids
        return refused


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


# The holds of one e-mail address and of one client address running now, counted in the items'
# read (orders, not items: a basket of five is one), as two plain SQL subqueries: the ORM's
# aggregate cost more to build than to run, and as a statement of its own, a round trip more at
# every checkout. The e-mail's upper case is what the partial index reservation_held_email reads
# (donations 0027); the client's, reservation_client_status. Tables as the migrations named them;
# the checkout tests run these on SQLite and PostgreSQL.
_HOLDS_BY_EMAIL_SQL = """SELECT COUNT(DISTINCT order_id) FROM donations_reservation
WHERE status = %s AND expires_at > %s AND UPPER(email) = UPPER(%s)"""
_HOLDS_BY_CLIENT_SQL = """SELECT COUNT(DISTINCT order_id) FROM donations_reservation
WHERE status = %s AND expires_at > %s AND client_key = %s"""


def holds_counted(*, email: str, client_key: str, now: datetime) -> dict[str, tuple[str, list[Any]]]:
    """The running holds of ``email`` and of ``client_key`` as ``rows_select`` annotations
    (``holds_by_email``, ``holds_by_client``). Without a client address, none is counted for it
    (no row has an empty key and a hold)."""
    at = transaction.get_connection().ops.adapt_datetimefield_value(now)
    held = Reservation.Status.HELD
    return {
        "holds_by_email": (_HOLDS_BY_EMAIL_SQL, [held, at, email]),
        "holds_by_client": (_HOLDS_BY_CLIENT_SQL, [held, at, client_key or None]),
    }


def _holds_check_cap(*, by_email: int, by_client: int, email: str, client_key: str, now: datetime) -> None:
    """Refuse a checkout past the caps of running holds (counted by ``holds_counted``).

    A cap is a count, not a uniqueness rule: two simultaneous requests of one person may both
    pass; the cap only needs to stop hoarding, not be exact. So it is counted in the items' read,
    before the hold's transaction: orders waiting for payment (a basket of five is one), not items."""
    caps = [(by_email, Q(email__iexact=email), settings.HOLDS_MAX_PER_EMAIL, f"holds cap for email {email}")]
    if client_key:
        caps.append(
            (by_client, Q(client_key=client_key), settings.HOLDS_MAX_PER_CLIENT, "holds cap for client address")
        )
    for count, mine, cap, why in caps:
        if count >= cap:
            holds = Reservation.objects.filter(mine, status=Reservation.Status.HELD, expires_at__gt=now)
            refused = TooManyHolds(why)
            # The first of these holds to end frees a place.
            first_end = holds.order_by("expires_at").values_list("expires_at", flat=True).first()
            refused.retry_after = int((first_end - now).total_seconds()) + 1 if first_end else None
            raise refused


class TipOutOfBounds(DomainError):
    code = "invalid"
    field = "tip_cents"
    default_detail = _("La contribution aux frais de Trëmma va de 0 au montant du don, au plus %(max)s.")


def tip_max_cents(amount_cents: int) -> int:
    """The largest tip on a gift of ``amount_cents``: never more than the gift, nor than ``TIP_MAX_CENTS``."""
    return max(min(amount_cents, settings.TIP_MAX_CENTS), 0)


def tip_refused_text() -> str:
    """What a giver reads when the tip is out of bounds, in the active language."""
    return str(TipOutOfBounds.default_detail) % {"max": format_money(settings.TIP_MAX_CENTS, language=_language())}


class BasketEmpty(DomainError):
    code = "basket_empty"
    field = "items"
    default_detail = _("Le panier est vide.")


class BasketTooLarge(DomainError):
    code = "basket_too_large"
    field = "items"
    default_detail = _("Un panier contient au plus %(max)d objets.")


def _items_hold(*, item_ids: list[int], now: datetime, quoted: Mapping[int, Item]) -> list[Item]:
    """Hold every item of ``item_ids`` (ascending ids), or none: raise ``ItemUnavailable``
    naming each one that is not listed. Caller's transaction.

    Each hold is the conditional UPDATE that makes a unique item unsellable twice
    (listed → reserved). Two baskets that overlap take their locks in the same
    order (ascending item id), so one waits for the other and never deadlocks;
    the loser sees its UPDATE match nothing and raises, and its transaction rolls
    back every hold it took.

    When every item was listed as ``quoted`` (read before the transaction), each
    UPDATE also asks for the columns the quote was made of (``quoted_columns``), so
    the rows quoted are the rows held without reading them again; otherwise (an
    item reserved at quote time, whose hold may have expired) they are read here."""
    if all(pk in quoted and quoted[pk].status == ItemStatus.LISTED for pk in item_ids):
        return _items_hold_as_quoted(item_ids=item_ids, quoted=quoted)
    items = {
        item.pk: item
        for item in Item.objects.select_related("campaign").filter(pk__in=item_ids, status__in=PUBLIC_STATUSES)
    }
    expired = Reservation.objects.filter(
        item_id__in=[pk for pk, item in items.items() if item.status == ItemStatus.RESERVED],
        status=Reservation.Status.HELD,
        expires_at__lte=now,
    )
    # Lazy expiry: an expired hold is void as soon as someone asks for the item.
    for order_id in sorted(set(expired.values_list("order_id", flat=True))):
        reservation_release(order_id=order_id, to=PaymentStatus.EXPIRED)
    unavailable = [pk for pk in item_ids if pk not in items]
    held: list[Item] = []
    for pk in item_ids:
        if pk not in items:
            continue
        try:
            item_transition(item=items[pk], to=ItemStatus.RESERVED, expected=ItemStatus.LISTED, note="checkout")
        except TransitionRefused:
            unavailable.append(pk)
            continue
        held.append(items[pk])
    if unavailable:
        raise ItemUnavailable.naming(unavailable)
    return held


def _refuse_sold(*, wanted: list[int], public: list[Item]) -> None:
    """Refuse at once a basket that asks for an item just read as sold, when none of its items is
    reserved: the refusal the hold's transaction would give (``ItemUnavailable`` naming the sold
    items and those that are not public), without the carrier's quote, the transaction, its holds
    cap and its row locks (which wait behind the winner's payment of the same item). Nine in ten
    checkouts of a crowd at a window ask for an object sold seconds before. A reserved item goes
    through the transaction, where a hold that has expired gives way, so it is never refused here."""
    if any(item.status == ItemStatus.RESERVED for item in public):
        return
    sold = {item.pk for item in public if item.status == ItemStatus.SOLD}
    if sold:
        raise ItemUnavailable.naming(sold | (set(wanted) - {item.pk for item in public}))


def _items_hold_as_quoted(*, item_ids: list[int], quoted: Mapping[int, Item]) -> list[Item]:
    refused: list[int] = []
    for pk in item_ids:
        item = quoted[pk]
        try:
            item_transition(
                item=item,
                to=ItemStatus.RESERVED,
                expected=ItemStatus.LISTED,
                unchanged=quoted_columns(item),
                note="checkout",
            )
        except TransitionRefused:
            refused.append(pk)
    if refused:
        # Taken meanwhile (409), or still listed but changed since the quote (QuoteStale).
        listed = set(Item.objects.filter(pk__in=refused, status=ItemStatus.LISTED).values_list("pk", flat=True))
        if taken := set(refused) - listed:
            raise ItemUnavailable.naming(taken)
        raise QuoteStale(f"items {sorted(listed)} changed between quote and hold")
    return [quoted[pk] for pk in item_ids]


def order_start(
    *,
    email: str,
    item_ids: Sequence[int] = (),
    item_id: int | None = None,
    user: User | None = None,
    client_key: str = "",
    delivery: Mapping[SenderKey, DeliveryChoice] | DeliveryChoice | None = None,
    shipping_cents_shown: int | None = None,
) -> Order:
    """Hold every item of a basket (or none), create the order with one line per
    item and one fulfilment per sender (the organisation, or a private giver who
    keeps their objects), each travelling as ``delivery`` says (per sender, or one
    choice for all; None: collected), then the provider checkout, whose page has
    one line per item and one "Frais de port" line per parcel.

    The delivery choice is checked and each parcel quoted by the carrier first,
    before any hold (checkout.services.shipping: DeliveryRefused, ShippingUnavailable,
    nothing held). Then three short transactions, each durable (never inside a
    caller's): neither the carrier nor the provider is called while the database is
    locked. If the held items are no longer those quoted, QuoteStale and nothing is
    held. If the provider fails, the order is marked failed and every item released
    (item.released), then ``PaymentUnavailable`` is raised. A one-item order for an
    item that does not exist (or is not public) is ``NotFound``, as the one-item
    checkout always said. ``item_id`` is the one-item order (``POST /api/items/{id}/checkout/``).
    ``shipping_cents_shown``: the shipping the buyer saw (the basket page); another quote now is
    ``ShippingChanged``, before any hold, so that nobody pays a total they were not shown."""
    wanted = sorted({int(pk) for pk in item_ids} | ({int(item_id)} if item_id is not None else set()))
    if not wanted:
        raise BasketEmpty("no items")
    if len(wanted) > settings.BASKET_MAX_ITEMS:
        raise BasketTooLarge(
            f"{len(wanted)} items", detail=BasketTooLarge.default_detail % {"max": settings.BASKET_MAX_ITEMS}
        )
    read_at = timezone.now()
    # Quoted before any hold: the carrier is an outside party, never called under row locks.
    # One plain SELECT with the campaign and its organisation (kernel.sql): the ORM's select_related
    # took a quarter of a checkout's time in the web process to build and read the same row. The
    # buyer's running holds are counted in it.
    public = rows_select(
        Item,
        related=("campaign", "campaign__organisation"),
        where=f"t0.id IN ({marks(len(wanted))}) AND t0.status IN ({marks(len(PUBLIC_STATUSES))})",
        params=[*wanted, *PUBLIC_STATUSES],
        order_by="t0.id",
        annotations={
            **holds_counted(email=email, client_key=client_key, now=read_at),
            "windows_showing": windows_showing_annotation(item_column="t0.id", now=read_at),
        },
    )
    if len(wanted) == 1 and not public:
        raise NotFound(f"item {wanted[0]}")
    _refuse_sold(wanted=wanted, public=public)
    plan = delivery_plan(items=public, choices=delivery)
    if shipping_cents_shown is not None and shipping_cents_shown != plan.shipping_cents:
        raise ShippingChanged(f"shipping {plan.shipping_cents}, shown {shipping_cents_shown}")
    now = timezone.now()  # after the carrier's quote, which may take its time
    # Whole seconds, as Stripe keeps a session's end: its answer then matches and needs no second write.
    hold_until = (now + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES)).replace(microsecond=0)
    provider = gateway()
    if public:  # none: the hold below refuses the basket (nothing of it is public)
        counted: Any = public[0]
        caps = {"by_email": counted.holds_by_email, "by_client": counted.holds_by_client}
        _holds_check_cap(**caps, email=email, client_key=client_key, now=read_at)
    # Every row this writes (the items' logs, the order, its fulfilments, lines and holds, the
    # events) gathered and written together when the holds are taken: on PostgreSQL one statement
    # instead of one per table (kernel.sql.rows_together), each a round trip under the item's lock.
    with transaction.atomic(durable=True), rows_together():
        items = _items_hold(item_ids=wanted, now=now, quoted={item.pk: item for item in public})
        plan_check(plan, items)
        items_cents = sum(item.price_cents or 0 for item in items)
        # The rows as plain INSERTs (kernel.sql): the ORM's compiling cost more than the writes.
        order = row_insert(
            Order(
                user=user,
                email=email,
                amount_cents=items_cents + plan.shipping_cents,
                shipping_cents=plan.shipping_cents,
                currency=CURRENCY,
                provider=provider.name,
                expires_at=hold_until,
                language=_language(),
            )
        )
        fulfilments: dict[SenderKey, Fulfilment] = {
            part.key: Fulfilment(
                order=order,
                organisation_id=part.organisation.pk,
                giver_id=part.giver_id,
                method=part.method,
                shipping_cents=part.shipping_cents,
                relay_point=part.relay_point.as_dict() if part.relay_point is not None else {},
                address=part.address_dict(),
                carrier=part.carrier,
                claim_code=_claim_code(),
            )
            for part in plan.parts
        }
        rows_insert(list(fulfilments.values()))
        rows_insert(
            [
                OrderLine(
                    order=order,
                    fulfilment=fulfilments[item_sender(item)],
                    item=item,
                    campaign=item.campaign,
                    amount_cents=item.price_cents or 0,
                )
                for item in items
            ]
        )
        rows_insert(
            [
                Reservation(item=item, order=order, email=email, client_key=client_key, expires_at=hold_until)
                for item in items
            ]
        )
        # The windows each item stands in, read with it in the items' read (a round trip fewer).
        windows = {item.pk: windows_from_annotation(item.windows_showing) for item in public}  # type: ignore[attr-defined]
        for item in items:
            event_emit(
                type=ITEM_RESERVED,
                public={"item": item.pk, "status": ItemStatus.RESERVED, "until": hold_until.isoformat()},
                private={"title": item.title},
                **item_streams(item, windows=windows.get(item.pk)),
            )
    success_url, cancel_url = _return_urls(kind="order", pk=order.pk)
    request = CheckoutRequest(
        kind="order",
        object_id=order.pk,
        amount_cents=order.amount_cents,
        currency=order.currency,
        description=items[0].title if len(items) == 1 else str(_("Panier de %(count)d objets") % {"count": len(items)}),
        email=email,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=hold_until,
        idempotency_key=f"tremma-order-{order.pk}-checkout",
        lines=checkout_lines(items, plan),
        locale=order.language,
    )
    try:
        session = provider.checkout_create(request)
    except GatewayError:
        logger.warning("checkout: provider failed for order %s", order.pk, exc_info=True)
        reservation_release(order_id=order.pk, to=PaymentStatus.FAILED)
        raise PaymentUnavailable(f"order {order.pk}") from None
    except BaseException:
        # A bug, not the provider: still never leave the items held by a dead order.
        reservation_release(order_id=order.pk, to=PaymentStatus.FAILED)
        raise
    if session.expires_at == hold_until:
        # The provider keeps the hold's end (whole seconds, as Stripe has it): one UPDATE, no transaction.
        rows_update(
            Order, where={"pk": order.pk}, values={"provider_session_id": session.id, "checkout_url": session.url}
        )
    else:
        with transaction.atomic(durable=True):
            Order.objects.filter(pk=order.pk).update(
                provider_session_id=session.id, checkout_url=session.url, expires_at=session.expires_at
            )
            holds = Reservation.objects.filter(order=order, status=Reservation.Status.HELD)
            holds.update(expires_at=session.expires_at)
    order.provider_session_id, order.checkout_url, order.expires_at = session.id, session.url, session.expires_at
    return order


def checkout_lines(items: list[Item], plan: Plan) -> tuple[CheckoutLine, ...]:
    """The provider's page: one line per item at its price, then one "Frais de port" line per parcel."""
    lines = [CheckoutLine(description=item.title, amount_cents=item.price_cents or 0) for item in items]
    for part in plan.parts:
        if part.shipping_cents:
            description = SHIPPING_LINE % {"organisation": part.organisation.name}
            lines.append(CheckoutLine(description=str(description), amount_cents=part.shipping_cents))
    return tuple(lines)


@transaction.atomic
def reservation_release(*, order_id: int, to: PaymentStatus, note: str = "") -> bool:
    """End the holds of ``order_id`` (expired, failed, abandoned, cancelled): the
    order gets status ``to``, its items go back to listed, watchers get
    item.released. Returns False when the holds were already over (idempotent)."""
    order = Order.objects.select_for_update().get(pk=order_id)
    released = reservation_transition(order_id=order_id, to=Reservation.Status.RELEASED, released_at=timezone.now())
    if not released:
        return False
    if order.status == PaymentStatus.PENDING:
        payment_transition(order, to=to)
    for item in Item.objects.select_related("campaign").filter(pk__in=released).order_by("pk"):
        item_transition(item=item, to=ItemStatus.LISTED, expected=ItemStatus.RESERVED, note=note or f"hold {to}")
        event_emit(type=ITEM_RELEASED, public={"item": item.pk, "status": ItemStatus.LISTED}, **item_streams(item))
    return True


def order_cancel(*, order_id: int) -> bool:
    """The buyer left the payment page ("annuler"): every item of the order is
    available again at once, not when the hold would have expired. A payment
    that still arrives later is handled as any late payment (items still free
    are sold, otherwise refunded). False when nothing was held any more.
    The provider's page is closed too, so that the buyer cannot pay it by going back."""
    released = reservation_release(order_id=order_id, to=PaymentStatus.EXPIRED, note="cancelled by the buyer")
    session_id = Order.objects.filter(pk=order_id).values_list("provider_session_id", flat=True).first()
    if released and session_id:
        try:
            gateway().checkout_expire(session_id)
        except GatewayError:
            logger.warning("checkout: session of order %s not expired at the provider", order_id, exc_info=True)
    return released


# Holds expiring within this are given a run at their expiry by the periodic release.
RELEASE_PLAN_AHEAD = timedelta(minutes=2)


@task(timeout=50)
def reservations_release_expired(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): release every hold past its expiry.

    The provider's session expires at the same instant (we gave it our
    ``expires_at``), so there is nothing to expire there."""
    now = timezone.now()
    held = Reservation.objects.filter(status=Reservation.Status.HELD)
    order_ids = list(
        held.filter(expires_at__lte=now).order_by("order_id").values_list("order_id", flat=True).distinct()[:limit]
    )
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
    interval: str | None = None,
    news: bool = False,
    tip_cents: int = 0,
) -> Gift:
    """Record a pending gift and open the provider checkout. It counts only once paid.
    With ``receipt`` (validated by receipts.details), the tax receipt is
    issued to those details, account or not.
    ``interval="month"``: a monthly gift (``RecurringGift``), this gift its first month's
    charge, the checkout a subscription (checkout.services.recurring).
    ``news``: the giver agreed to hear from the campaign (subscribed once the payment is confirmed).
    ``tip_cents`` (0 unless the giver chose one, at most ``tip_max_cents``) is paid in the same
    checkout, on its own line, and is Trëmma's; a monthly gift takes none (the tip is once).
    If the provider fails, the gift is marked failed and ``PaymentUnavailable`` is raised."""
    if not settings.GIFT_MIN_CENTS <= amount_cents <= settings.GIFT_MAX_CENTS:
        raise DomainError(f"gift amount {amount_cents} out of bounds")
    if interval not in (None, *RecurringGift.Interval.values):
        raise DomainError(f"gift interval {interval!r} is not one of ours")
    if interval and tip_cents:
        raise TipOutOfBounds(
            f"tip {tip_cents} on a monthly gift",
            detail=_("Un don mensuel ne comporte pas de contribution aux frais de Trëmma : laissez-la à 0."),
        )
    if not 0 <= tip_cents <= tip_max_cents(amount_cents):
        raise TipOutOfBounds(f"tip {tip_cents} out of bounds", detail=tip_refused_text())
    campaign = Campaign.objects.filter(slug=campaign_slug, status=Campaign.Status.LIVE).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_slug}")
    provider = gateway()
    # Its own transaction, committed before the provider is called (never under a caller's locks).
    with transaction.atomic(durable=True):
        details = {
            "campaign": campaign,
            "user": user,
            "email": email,
            "name": name,
            "anonymous": anonymous,
            "message": message,
            "amount_cents": amount_cents,
            "provider": provider.name,
            "language": _language(),
            **_receipt_fields(receipt),
        }
        recurring = RecurringGift.objects.create(**details, interval=interval) if interval else None
        gift = Gift.objects.create(**details, recurring=recurring, news=news, tip_cents=tip_cents)
    success_url, cancel_url = _return_urls(kind="gift", pk=gift.pk)
    gift_line = str(
        (_("Don mensuel pour « %(title)s »") if interval else _("Don pour « %(title)s »")) % {"title": campaign.title}
    )
    lines: tuple[CheckoutLine, ...] = ()
    description = gift_line
    if tip_cents:
        # Two lines on the provider's page: the gift, and the tip, each with its own amount.
        tip_line = str(TIP_LINE)
        lines = (
            CheckoutLine(description=gift_line, amount_cents=amount_cents),
            CheckoutLine(description=tip_line, amount_cents=tip_cents),
        )
        description = f"{gift_line} + {tip_line}"
    request = CheckoutRequest(
        kind="gift",
        object_id=gift.pk,
        amount_cents=amount_cents + tip_cents,
        currency=gift.currency,
        description=description,
        lines=lines,
        email=email,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=timezone.now() + timedelta(minutes=settings.CHECKOUT_HOLD_MINUTES),
        idempotency_key=f"tremma-gift-{gift.pk}-checkout",
        interval=interval or "",
        subscription_ref=("recurring", recurring.pk) if recurring is not None else None,
    )
    try:
        session = provider.checkout_create(request)
    except GatewayError:
        logger.warning("gift: provider failed for gift %s", gift.pk, exc_info=True)
        with transaction.atomic():
            payment_transition(gift, to=PaymentStatus.FAILED, expected=PaymentStatus.PENDING)
            if recurring is not None:
                recurring_abandon(recurring_id=recurring.pk)
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


def fulfilment_hand_over(*, fulfilment: Fulfilment, claim_code: str, actor: User) -> Fulfilment:
    """A member of the organisation (every role may), or the private giver who keeps the
    objects of that part (``Fulfilment.giver``), hands its part of an order to
    the buyer, who shows that part's claim code: its items go sold → handed_over
    (a line refunded in full stays out), ``handed_over_at`` starts the return
    period (then the sellers' tax receipts), and the organisation is paid by
    transfer after commit. Lock order: the order, then the fulfilment, then items by id."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=fulfilment.order_id).first()
        locked = Fulfilment.objects.select_for_update().filter(pk=fulfilment.pk).first()
        if order is None or locked is None:
            raise NotFound(f"fulfilment {fulfilment.pk}")
        # Another organisation's part answers as a missing one: its ids are not a hint.
        if locked.giver_id is None or locked.giver_id != actor.pk:
            permission_require(actor, locked.organisation_id, Permission.HAND_OVER)
        if not _claim_code_matches(expected=locked.claim_code, typed=claim_code):
            raise ClaimCodeInvalid(f"fulfilment {locked.pk}")
        if order.status != PaymentStatus.PAID or locked.handed_over_at or locked.pickup_expired_at is not None:
            # Never collected in time: its refund is on its way (checkout.services.pickups).
            raise NotHandable(f"fulfilment {locked.pk}: order {order.status}, expired {locked.pickup_expired_at}")
        fulfilment_handed_over(order=order, fulfilment=locked, actor=actor, at=timezone.now())
    return locked


def fulfilment_handed_over(*, order: Order, fulfilment: Fulfilment, actor: User | None, at: datetime) -> None:
    """The objects of ``fulfilment`` reached their buyer at ``at``: handed over at the counter,
    or their parcel delivered (``actor`` None: the carrier said so, checkout.services.parcels).
    Its items go sold → handed_over (a line refunded in full stays out), ``handed_over_at``
    starts the return period (then the sellers' tax receipts), and the organisation is paid
    by transfer after commit. The caller holds the order's and the fulfilment's locks."""
    lines = list(
        OrderLine.objects.select_related("item__campaign")
        .filter(fulfilment=fulfilment, refunded_cents__lt=F("amount_cents"))
        .order_by("item_id")
    )
    if not lines:
        raise NotHandable(f"fulfilment {fulfilment.pk} has nothing left to hand over")
    for line in lines:
        try:
            item_transition(item=line.item, to=ItemStatus.HANDED_OVER, expected=ItemStatus.SOLD, actor=actor)
        except TransitionRefused as refused:
            raise NotHandable(f"item {line.item_id} is {line.item.status}") from refused
    Fulfilment.objects.filter(pk=fulfilment.pk).update(handed_over_at=at)
    fulfilment.handed_over_at = at
    for line in lines:
        event_emit(
            type=ITEM_HANDED_OVER,
            public={"item": line.item_id, "status": ItemStatus.HANDED_OVER},
            private={"order": order.pk},
            **item_streams(line.item),
        )
    task_enqueue(fulfilment_transfer, fulfilment_id=fulfilment.pk)
