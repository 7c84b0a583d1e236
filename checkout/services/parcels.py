"""Parcels after the payment: the label, the sender's "shipped", the carrier's
tracking, and the ship-by rule.

- Once an order is paid, each parcel's label is asked of the carrier in a task
  (``parcel_label_make``): the carrier answers the same label for the same
  reference (``fulfilment-<id>``), and the fulfilment keeps the first one stored
  (a conditional UPDATE on an empty ``label``), so a retry never makes two. A
  carrier that is down fails the task, which the engine tries again; the
  periodic ``parcels_sweep`` asks again for any label still missing.
- The sender (the organisation's members, or the private giver) prints the
  labels and marks parcels shipped (to_ship → shipped), each in the audit trail.
- Tracking (``tracking_apply``, registered with ``delivery.events`` in
  CheckoutConfig.ready): in transit; delivered — the same clock as a hand-over
  at the counter (``fulfilment_handed_over``: return period, sellers' receipts,
  transfer to the organisation); returned, never collected at the relay point —
  the objects' prices are refunded, the shipping is kept (it was carried), and
  the objects go back on sale as any refunded object.
- The ship-by rule: a parcel still to ship after its ``ship_by`` is cancelled,
  its objects and its shipping refunded, its objects back on sale, the buyer and
  the sender told once. The move to_ship → cancelled is one conditional UPDATE
  with its tasks recorded in the same transaction: a second run does nothing.

Every status moves through SHIPMENT_TRANSITIONS (kernel.states.transition_apply)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import timedelta
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from pypdf import PdfReader, PdfWriter

from accounts.models import User
from campaigns.models import AuditEntry
from campaigns.permissions import Permission
from campaigns.selectors import user_may
from campaigns.services import audit_record
from checkout.parcel_emails import parcel_cancelled_sender_send, parcel_news_send
from checkout.services.orders import NotHandable, fulfilment_handed_over
from checkout.services.payouts import RefundRefused, RefundTooLarge, fulfilment_refund, payment_refund
from delivery import carriers
from delivery.carriers import Address, CarrierError, ParcelRequest, TrackingUpdate, carrier
from donations.models import (
    HOME,
    RELAY,
    SHIPMENT_TRANSITIONS,
    Fulfilment,
    Order,
    PaymentStatus,
    Refund,
    ShipmentStatus,
)
from kernel.errors import NotFound
from kernel.states import TransitionRefused, transition_apply
from kernel.tasks import task, task_enqueue

logger = logging.getLogger(__name__)

PARCEL_METHODS = (RELAY, HOME)

# What the refund rows say (managers read them); in French, as the organisation's books are.
SHIP_BY_REFUND_REASON = "Colis non expédié à temps : remboursé avec le port (règle des {days} jours)"
RETURNED_REFUND_REASON = "Colis jamais retiré au point relais : objets remboursés, port conservé"

# Where the labels are stored: an unguessable name, served only to whoever ships the parcel.
LABELS_DIR = "parcels/labels"

# A label the carrier could not make when the order was paid is asked again after this long.
LABEL_RETRY_AFTER = timedelta(minutes=10)

# The carrier's words → a parcel's status.
TRACKED: dict[str, ShipmentStatus] = {
    carriers.IN_TRANSIT: ShipmentStatus.IN_TRANSIT,
    carriers.DELIVERED: ShipmentStatus.DELIVERED,
    carriers.RETURNED: ShipmentStatus.RETURNED,
}


def shipment_transition(fulfilment: Fulfilment, *, to: ShipmentStatus, **fields: Any) -> None:
    """Move a parcel from the status it was read with to ``to`` (SHIPMENT_TRANSITIONS), with
    ``fields`` in the same UPDATE; ``TransitionRefused`` when the table forbids it or another
    caller moved it first."""
    transition_apply(
        model=Fulfilment,
        pk=fulfilment.pk,
        table=SHIPMENT_TRANSITIONS,
        current=fulfilment.shipment_status,
        to=to,
        field="shipment_status",
        **fields,
    )
    fulfilment.shipment_status = to
    for name, value in fields.items():
        setattr(fulfilment, name, value)


# --- Labels -------------------------------------------------------------------------------------


def parcel_labels_enqueue(*, fulfilments: Iterable[Fulfilment]) -> None:
    """Ask for the label of each parcel among a paid order's ``fulfilments`` (all of them, as its
    payment read them), after commit (caller's transaction)."""
    for fulfilment_id in sorted(fulfilment.pk for fulfilment in fulfilments if fulfilment.method in PARCEL_METHODS):
        task_enqueue(parcel_label_make, fulfilment_id=fulfilment_id)


def parcel_weight_grams(fulfilment: Fulfilment) -> int:
    """The parcel's weight: the sum of its objects' weights (those not refunded)."""
    total = fulfilment.lines.aggregate(total=Sum("item__weight_grams"))["total"]
    return max(int(total or 0), 1)


def _sender(fulfilment: Fulfilment) -> Address:
    """Who sends it: the organisation, at its address; a private giver, known to the carrier by
    their name and postal code only (they drop it at a relay point: relay points only)."""
    if fulfilment.giver_id is not None:
        first = fulfilment.lines.select_related("item").order_by("pk").first()
        giver = fulfilment.giver
        return Address(
            name=(giver.get_full_name() if giver is not None else "") or "Trëmma",
            address_line1="",
            postal_code=first.item.postal_code if first is not None else "",
            city="",
        )
    organisation = fulfilment.organisation
    return Address(
        name=organisation.name,
        address_line1=organisation.address_line1,
        address_line2=organisation.address_line2,
        postal_code=organisation.postal_code,
        city=organisation.city,
    )


def parcel_request(fulfilment: Fulfilment) -> ParcelRequest:
    """What the carrier is told about one parcel: weights, places and our reference, nothing else."""
    address = fulfilment.address or {}
    recipient = None
    if fulfilment.method == HOME:
        recipient = Address(
            name=str(address.get("name", "")),
            address_line1=str(address.get("address_line1", "")),
            address_line2=str(address.get("address_line2", "")),
            postal_code=str(address.get("postal_code", "")),
            city=str(address.get("city", "")),
            country=str(address.get("country", "FR")),
        )
    return ParcelRequest(
        reference=f"fulfilment-{fulfilment.pk}",
        method=fulfilment.method,
        weight_grams=parcel_weight_grams(fulfilment),
        sender=_sender(fulfilment),
        recipient_name=str(address.get("name", "")) or fulfilment.order.email.split("@")[0],
        recipient_email=fulfilment.order.email,
        relay_point_id=str((fulfilment.relay_point or {}).get("id", "")) if fulfilment.method == RELAY else "",
        recipient=recipient,
    )


@task(timeout=90)
def parcel_label_make(*, fulfilment_id: int) -> None:
    """Make and store one parcel's label (its tracking number with it). Safe to run twice: the
    carrier answers the same label for the same reference, and only the first one stored is kept.
    CarrierError is raised: the task engine tries again later."""
    fulfilment = Fulfilment.objects.select_related("order", "organisation", "giver").get(pk=fulfilment_id)
    if fulfilment.label or not fulfilment.is_parcel or fulfilment.shipment_status != ShipmentStatus.TO_SHIP:
        return
    label = carrier().label_create(parcel_request(fulfilment))
    name = default_storage.save(f"{LABELS_DIR}/{secrets.token_urlsafe(24)}.pdf", ContentFile(label.pdf))
    stored = Fulfilment.objects.filter(pk=fulfilment.pk, label="").update(
        label=name, tracking_number=label.tracking_number, carrier=label.carrier
    )
    if not stored:
        default_storage.delete(name)  # another run stored it first


def parcel_label_pdf(fulfilment: Fulfilment) -> bytes | None:
    """The stored label of a parcel, or None when it is not made yet."""
    if not fulfilment.label:
        return None
    with default_storage.open(fulfilment.label, "rb") as stored:
        content: bytes = stored.read()
    return content


# --- The sender's side: who may ship, labels printed, shipped -----------------------------------


def user_may_ship(user: User, fulfilment: Fulfilment) -> bool:
    """A private giver ships their own parcels; an organisation's members (every role, as for a
    hand-over at the counter) ship the organisation's."""
    if fulfilment.giver_id is not None:
        return fulfilment.giver_id == user.pk
    return user_may(user, fulfilment.organisation_id, Permission.HAND_OVER)


def _parcels_of(actor: User, fulfilment_ids: Iterable[int]) -> list[Fulfilment]:
    """The parcels named, each one ``actor`` may ship; any other answers as a missing one."""
    wanted = sorted(set(fulfilment_ids))
    found = list(
        Fulfilment.objects.select_related("order", "organisation")
        .filter(pk__in=wanted, method__in=PARCEL_METHODS)
        .order_by("pk")
    )
    if len(found) != len(wanted) or not all(user_may_ship(actor, fulfilment) for fulfilment in found):
        raise NotFound(f"parcels {wanted}")
    return found


def parcels_labels_print(*, actor: User, fulfilment_ids: Iterable[int]) -> bytes:
    """The labels of the parcels named, in one PDF (one page each, in their order), recorded in
    the audit trail. NotFound for a parcel ``actor`` may not ship or whose label is not made yet."""
    parcels = _parcels_of(actor, fulfilment_ids)
    if not parcels or not all(parcel.label for parcel in parcels):
        raise NotFound("labels not made yet")
    writer = PdfWriter()
    for parcel in parcels:
        with default_storage.open(parcel.label, "rb") as stored:
            for page in PdfReader(stored).pages:
                writer.add_page(page)
    with transaction.atomic():
        for organisation_id in sorted({parcel.organisation_id for parcel in parcels}):
            audit_record(
                organisation_id=organisation_id,
                actor=actor,
                action=AuditEntry.Action.PARCEL_LABELS_PRINTED,
                subject=", ".join(f"commande {p.order_id}" for p in parcels if p.organisation_id == organisation_id),
                details={"fulfilments": [p.pk for p in parcels if p.organisation_id == organisation_id]},
            )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def parcels_mark_shipped(*, actor: User, fulfilment_ids: Iterable[int]) -> list[Fulfilment]:
    """The sender handed these parcels to the carrier: to_ship → shipped (``shipped_at``), in the
    audit trail, and the buyer told. A parcel already shipped (a double tap) or cancelled is left
    as it is and not returned; one ``actor`` may not ship is NotFound, and nothing moves."""
    now = timezone.now()
    moved = []
    with transaction.atomic():
        for parcel in _parcels_of(actor, fulfilment_ids):
            if parcel.order.status != PaymentStatus.PAID:
                continue
            try:
                shipment_transition(parcel, to=ShipmentStatus.SHIPPED, shipped_at=now)
            except TransitionRefused:
                continue
            audit_record(
                organisation_id=parcel.organisation_id,
                actor=actor,
                action=AuditEntry.Action.PARCEL_SHIPPED,
                subject=f"commande {parcel.order_id}",
                details={"fulfilment": parcel.pk, "tracking_number": parcel.tracking_number},
            )
            task_enqueue(parcel_news_send, fulfilment_id=parcel.pk, news="shipped")
            moved.append(parcel)
    return moved


# --- Tracking -------------------------------------------------------------------------------------


def tracking_apply(update: TrackingUpdate) -> bool:
    """Apply one tracking event (recorded once by delivery.events, in this transaction); False for
    a tracking number we never gave. An event the parcel's status cannot take (late, out of order,
    a parcel cancelled meanwhile) is recorded and changes nothing. Lock order: the order, then its
    fulfilment, as the hand-over's."""
    to = TRACKED.get(update.status)
    found = (
        Fulfilment.objects.filter(tracking_number=update.tracking_number, carrier=update.carrier)
        .exclude(tracking_number="")
        .values_list("pk", "order_id")
        .first()
    )
    if to is None or found is None:
        return False
    order = Order.objects.select_for_update().get(pk=found[1])
    parcel = Fulfilment.objects.select_for_update().select_related("organisation").get(pk=found[0])
    if to not in SHIPMENT_TRANSITIONS.get(parcel.shipment_status, frozenset()):
        logger.info("tracking: %s for fulfilment %s (%s) changes nothing", to, parcel.pk, parcel.shipment_status)
        return True
    now = timezone.now()
    if to == ShipmentStatus.IN_TRANSIT:
        shipment_transition(parcel, to=to)
    elif to == ShipmentStatus.DELIVERED:
        shipment_transition(parcel, to=to, delivered_at=now)
        if order.status == PaymentStatus.PAID and parcel.handed_over_at is None:
            try:
                # The same clock as a hand-over at the counter: return period, receipts, transfer.
                # A savepoint: an object that cannot move (withdrawn meanwhile) leaves none moved.
                with transaction.atomic():
                    fulfilment_handed_over(order=order, fulfilment=parcel, actor=None, at=now)
            except NotHandable:
                logger.warning("tracking: fulfilment %s delivered with nothing left to hand over", parcel.pk)
        task_enqueue(parcel_news_send, fulfilment_id=parcel.pk, news="delivered")
    else:
        shipment_transition(parcel, to=to, returned_at=now)
        audit_record(
            organisation_id=parcel.organisation_id,
            actor=None,
            action=AuditEntry.Action.PARCEL_RETURNED,
            subject=f"commande {parcel.order_id}",
            details={"fulfilment": parcel.pk, "tracking_number": parcel.tracking_number},
        )
        if order.status == PaymentStatus.PAID:
            task_enqueue(parcel_refund, fulfilment_id=parcel.pk, include_shipping=False, reason=RETURNED_REFUND_REASON)
        task_enqueue(parcel_news_send, fulfilment_id=parcel.pk, news="returned")
    return True


# --- Refunds of a parcel ------------------------------------------------------------------------


@task(timeout=120)
def parcel_refund(
    *, fulfilment_id: int, include_shipping: bool, reason: str, line_ids: list[int] | None = None
) -> None:
    """Refund a parcel by Trëmma's rule (no actor): what remains of all its lines, and its shipping
    when ``include_shipping`` (``fulfilment_refund``: one refund naming the part; the ledger then
    debits each campaign its lines and the shipping account the shipping); only ``line_ids`` when
    given (a withdrawal of some of its objects: one refund per line, no shipping). Safe to run twice:
    a line a rule already refunded is skipped and a part with nothing left refunds nothing. A
    provider failure is raised: the task is tried again later."""
    fulfilment = Fulfilment.objects.select_related("order").get(pk=fulfilment_id)
    if fulfilment.order.status != PaymentStatus.PAID:
        return
    every_line = set(fulfilment.lines.values_list("pk", flat=True))
    if line_ids is None or set(line_ids) >= every_line:
        try:
            fulfilment_refund(fulfilment_id=fulfilment_id, include_shipping=include_shipping, reason=reason)
        except RefundRefused:
            logger.info("parcels: fulfilment %s had nothing left to refund", fulfilment_id)
        return
    by_rule = Refund.objects.exclude(status=Refund.Status.FAILED).filter(actor__isnull=True)
    lines = fulfilment.lines.exclude(refunds__in=by_rule).filter(pk__in=line_ids)
    for line_id in lines.order_by("pk").values_list("pk", flat=True):
        try:
            payment_refund(actor=None, reason=reason, order_id=fulfilment.order_id, line_id=line_id)
        except (RefundTooLarge, RefundRefused):
            logger.info("parcels: line %s of fulfilment %s had nothing left to refund", line_id, fulfilment_id)


# --- The ship-by rule ------------------------------------------------------------------------------


def parcels_late() -> QuerySet[Fulfilment]:
    """Paid parcels still to ship after their ship-by date."""
    return Fulfilment.objects.filter(
        shipment_status=ShipmentStatus.TO_SHIP, ship_by__lt=timezone.now(), order__status=PaymentStatus.PAID
    )


def _ship_by_expire(fulfilment_id: int) -> bool:
    with transaction.atomic():
        parcel = Fulfilment.objects.filter(pk=fulfilment_id, shipment_status=ShipmentStatus.TO_SHIP).first()
        if parcel is None:
            return False
        try:
            shipment_transition(parcel, to=ShipmentStatus.CANCELLED)
        except TransitionRefused:
            return False  # shipped (or cancelled) meanwhile
        audit_record(
            organisation_id=parcel.organisation_id,
            actor=None,
            action=AuditEntry.Action.PARCEL_CANCELLED,
            subject=f"commande {parcel.order_id}",
            details={"fulfilment": parcel.pk, "ship_by": parcel.ship_by.isoformat() if parcel.ship_by else None},
        )
        task_enqueue(
            parcel_refund,
            fulfilment_id=parcel.pk,
            include_shipping=True,
            reason=SHIP_BY_REFUND_REASON.format(days=settings.SHIP_BY_DAYS),
        )
        task_enqueue(parcel_news_send, fulfilment_id=parcel.pk, news="cancelled")
        task_enqueue(parcel_cancelled_sender_send, fulfilment_id=parcel.pk)
    return True


@task(timeout=240)
def parcels_sweep(*, limit: int = 200) -> int:
    """Periodic job (settings.PERIODIC_JOBS): the ship-by rule, then the labels the carrier could
    not make when asked. Returns how many parcels it cancelled."""
    done = 0
    for fulfilment_id in parcels_late().order_by("ship_by", "id").values_list("pk", flat=True)[:limit]:
        done += _ship_by_expire(fulfilment_id)
    unlabelled = Fulfilment.objects.filter(
        shipment_status=ShipmentStatus.TO_SHIP,
        label="",
        order__status=PaymentStatus.PAID,
        order__paid_at__lt=timezone.now() - LABEL_RETRY_AFTER,
    )
    for fulfilment_id in unlabelled.order_by("id").values_list("pk", flat=True)[:limit]:
        try:
            parcel_label_make(fulfilment_id=fulfilment_id)
        except CarrierError:
            logger.warning("parcels: the carrier still makes no label for fulfilment %s", fulfilment_id)
            break  # down: the next run tries again
    return done
