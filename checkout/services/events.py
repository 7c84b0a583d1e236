"""Applying payment events, the same for the Stripe webhook and the demo
gateway: payments.events records each event once and hands it here, in its
transaction; this moves our rows forward, writes the ledger and the realtime
events. Side effects that talk to the outside (emails, refunds, transfers)
run after commit.

Lock order, everywhere: the order or gift row first, then its item (through
``item_transition``'s conditional UPDATE)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from campaigns.models import Campaign
from checkout import emails
from checkout.selectors import item_streams
from checkout.services.matches import gift_match, gift_match_take_back
from checkout.services.orders import reservation_release
from checkout.services.parcels import parcel_labels_enqueue
from checkout.services.payouts import gift_transfer, order_refund_late, refund_split
from checkout.services.progress import campaign_progress_emit as _progress
from checkout.services.recurring import (
    charge_failed,
    recurring_abandon,
    recurring_charge_gift,
    subscription_ended,
    subscription_started,
)
from checkout.services.settlements import payment_fee_after_commit, transfer_reverse_after_commit
from checkout.services.states import payment_transition, reservation_transition
from checkout.services.targets import payment_charged_cents, payment_of, payment_ref
from donations.models import (
    HOME,
    RELAY,
    Fulfilment,
    Gift,
    ItemStatus,
    Order,
    OrderLine,
    PaymentStatus,
    Reservation,
    ShipmentStatus,
)
from donations.services import item_transition
from kernel.states import TransitionRefused
from kernel.tasks import task_enqueue
from kernel.words import de_name
from ledger.models import LedgerEntry
from ledger.services import ledger_record, ledger_totals_for
from news.services import subscription_consent
from payments import gateways as gw
from payments.events import events_waiting_apply
from payments.gateways import PaymentEvent
from payments.models import ProviderEvent
from realtime.events import GIFT_RECEIVED, ITEM_RELEASED, ITEM_SOLD
from realtime.services import event_emit
from receipts.changes import dispute_reason, receipts_cancel_for_line, receipts_cancel_for_payment, refund_reason
from receipts.issuing import receipt_issue_for_gift

logger = logging.getLogger(__name__)

PARCEL_METHODS = (RELAY, HOME)

CLOSED_TYPES = {
    gw.CHECKOUT_EXPIRED: PaymentStatus.EXPIRED,
    gw.PAYMENT_FAILED: PaymentStatus.FAILED,
}


def payment_event_apply(event: PaymentEvent) -> bool:
    """Apply one payment event (recorded once by payments.events, in this
    transaction); False when it must wait for its payment (a refund or dispute
    delivered first). Registered as the adapter's receiver in CheckoutConfig.ready."""
    if event.type == gw.PAYMENT_SUCCEEDED:
        _payment_received(event)
    elif event.type in CLOSED_TYPES:
        _checkout_closed(event, CLOSED_TYPES[event.type])
    elif event.type == gw.CHARGE_SUCCEEDED:
        _charge_received(event)
    elif event.type in SUBSCRIPTION_TYPES:
        SUBSCRIPTION_TYPES[event.type](event)
    elif event.type in AFTER_PAYMENT_TYPES:
        target = _locked_target(event)
        if target is None or not target.provider_payment_id:
            return False
        if event.payment_id and event.payment_id != target.provider_payment_id:
            logger.error("payments: event %s names another payment than %s; it waits", event.id, payment_ref(target))
            return False
        return AFTER_PAYMENT_TYPES[event.type](event, target)
    # Any other type (payment.processing, other) is recorded and ignored.
    return True


def _locked_target(event: PaymentEvent) -> Order | Gift | None:
    """The order or gift an event is about, locked: by our metadata, else by the provider's payment id."""
    if event.kind == "order" and event.object_id:
        return Order.objects.select_for_update().filter(pk=event.object_id).first()
    if event.kind == "gift" and event.object_id:
        return Gift.objects.select_for_update().filter(pk=event.object_id).first()
    if event.payment_id:
        order = Order.objects.select_for_update().filter(provider_payment_id=event.payment_id).first()
        if order is not None:
            return order
        return Gift.objects.select_for_update().filter(provider_payment_id=event.payment_id).first()
    return None


def _matches(target: Order | Gift, event: PaymentEvent) -> bool:
    """Money received must be what we asked (a gift and its tip), for the session we opened."""
    ok = (
        target.provider == event.provider
        and target.provider_session_id == event.session_id
        and payment_charged_cents(target) == event.amount_cents
        and target.currency == event.currency
    )
    if not ok:
        logger.error("payments: event %s does not match %s %s; ignored", event.id, type(target).__name__, target.pk)
    return ok


def _payment_received(event: PaymentEvent) -> None:
    target = _locked_target(event)
    if target is None or not _matches(target, event):
        return
    if target.provider_payment_id or target.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
        # Already handled: a second paid event for the same payment (the success page's
        # refetch then the webhook, or completed then async_payment_succeeded) changes
        # nothing. Checked on the status too, so that it never depends on the provider
        # having named its payment: a second pass would find the item sold and refund.
        return
    if isinstance(target, Order):
        order_mark_paid(order=target, event=event)
    else:
        gift_mark_paid(gift=target, event=event)
    payment_fee_after_commit(target)
    events_waiting_apply(payment_id=event.payment_id)


def _charge_received(event: PaymentEvent) -> None:
    """One month of a monthly gift is paid: that month's gift is paid as any gift (recurring.py)."""
    gift = recurring_charge_gift(event)
    if gift is None:
        return
    gift_mark_paid(gift=gift, event=event)
    payment_fee_after_commit(gift)
    if event.payment_id:
        events_waiting_apply(payment_id=event.payment_id)


# The other events of a subscription (monthly gifts): checkout.services.recurring.
SUBSCRIPTION_TYPES: dict[str, Callable[[PaymentEvent], None]] = {
    gw.SUBSCRIPTION_STARTED: subscription_started,
    gw.CHARGE_FAILED: charge_failed,
    gw.SUBSCRIPTION_ENDED: subscription_ended,
}


def order_mark_paid(*, order: Order, event: PaymentEvent) -> None:
    """The buyer paid: every item of the order is sold to them, each line's price
    credited to its own campaign. If the holds were over (a late payment) and one
    item was bought by someone else meanwhile, the order is refunded as a whole
    (a basket is all or none) and says why. Caller holds the order's lock."""
    Order.objects.filter(pk=order.pk).update(provider_payment_id=event.payment_id)
    order.provider_payment_id = event.payment_id
    lines = list(order.lines.select_related("item__campaign", "campaign", "fulfilment").order_by("item_id"))
    still_held = set(reservation_transition(order_id=order.pk, to=Reservation.Status.CONVERTED))
    try:
        with transaction.atomic():  # a savepoint: a refused item undoes the others' moves
            for line in lines:
                if line.item_id not in still_held:
                    # Its hold is over (expired or cancelled); the item may still be free: take it now.
                    item_transition(
                        item=line.item, to=ItemStatus.RESERVED, expected=ItemStatus.LISTED, note="late payment"
                    )
                item_transition(
                    item=line.item, to=ItemStatus.SOLD, expected=ItemStatus.RESERVED, note=f"order {order.pk}"
                )
    except TransitionRefused:
        payment_transition(
            order, to=PaymentStatus.REFUNDED, refunded_cents=order.amount_cents, refund_reason="item_unavailable"
        )
        logger.warning("payments: order %s paid after one of its items was taken; refunding", order.pk)
        task_enqueue(order_refund_late, order_id=order.pk)
        return
    now = timezone.now()
    payment_transition(order, to=PaymentStatus.PAID, paid_at=now)
    # Every fulfilment of the order has its lines (one per sender): read with them.
    fulfilments = list({line.fulfilment_id: line.fulfilment for line in lines}.values())
    _shipping_paid(order=order, event=event, paid_at=now, fulfilments=fulfilments)
    for line in lines:
        ledger_record(
            kind=LedgerEntry.Kind.CREDIT,
            reason=LedgerEntry.Reason.PAYMENT,
            amount_cents=line.amount_cents,
            campaign=line.campaign,
            order=order,
            order_line=line,
            key=f"order:{order.pk}:line:{line.pk}:credit",
            provider_event_id=event.id,
        )
        event_emit(
            type=ITEM_SOLD,
            public={"item": line.item_id, "status": ItemStatus.SOLD, "price_cents": line.amount_cents},
            # The dashboard's feed says what sold, for which campaign (organisation streams only).
            private={
                "order": order.pk,
                "email": order.email,
                "title": line.item.title,
                "campaign_title": line.campaign.title,
            },
            **item_streams(line.item),
        )
    for campaign in {line.campaign_id: line.campaign for line in lines}.values():
        _progress(campaign)
    task_enqueue(emails.order_receipt_send, order_id=order.pk)
    for line in lines:
        task_enqueue(emails.seller_sold_send, line_id=line.pk)
    parcel_labels_enqueue(fulfilments=fulfilments)


def _shipping_paid(*, order: Order, event: PaymentEvent, paid_at: datetime, fulfilments: list[Fulfilment]) -> None:
    """What the buyer paid for parcels goes to the platform's shipping account (it pays the
    carrier), never a campaign's, never on a receipt; each paid parcel is then to be shipped
    within SHIP_BY_DAYS (the organisation's, or the giver's, parcels page takes it from there).
    ``fulfilments``: the order's; an order without a parcel (collected at the shop) writes nothing."""
    ledger_record(
        account=LedgerEntry.Account.PLATFORM_SHIPPING,
        kind=LedgerEntry.Kind.CREDIT,
        reason=LedgerEntry.Reason.PAYMENT,
        amount_cents=order.shipping_cents,
        campaign=None,
        order=order,
        key=f"order:{order.pk}:shipping:credit",
        provider_event_id=event.id,
    )
    if not any(fulfilment.method in PARCEL_METHODS for fulfilment in fulfilments):
        return
    Fulfilment.objects.filter(order=order, method__in=PARCEL_METHODS, shipment_status=ShipmentStatus.NONE).update(
        shipment_status=ShipmentStatus.TO_SHIP, ship_by=paid_at + timedelta(days=settings.SHIP_BY_DAYS)
    )


def gift_mark_paid(*, gift: Gift, event: PaymentEvent) -> None:
    """The giver paid (even late: a gift never conflicts): credit the campaign with the gift, and the
    platform's tips account with the tip if any. Caller holds the gift's lock."""
    payment_transition(gift, to=PaymentStatus.PAID, provider_payment_id=event.payment_id, paid_at=timezone.now())
    ledger_record(
        kind=LedgerEntry.Kind.CREDIT,
        reason=LedgerEntry.Reason.PAYMENT,
        amount_cents=gift.amount_cents,
        campaign=gift.campaign,
        gift=gift,
        key=f"gift:{gift.pk}:credit",
        provider_event_id=event.id,
    )
    # The tip, paid with the gift, is Trëmma's: the platform's tips account, never the campaign's.
    ledger_record(
        account=LedgerEntry.Account.PLATFORM_TIPS,
        kind=LedgerEntry.Kind.CREDIT,
        reason=LedgerEntry.Reason.PAYMENT,
        amount_cents=gift.tip_cents,
        campaign=None,
        gift=gift,
        key=f"gift:{gift.pk}:tip:credit",
        provider_event_id=event.id,
    )
    event_emit(
        type=GIFT_RECEIVED,
        public={
            "campaign": gift.campaign.slug,
            "amount_cents": gift.amount_cents,
            "name": "" if gift.anonymous else gift.name,
        },
        private={
            "gift": gift.pk,
            "email": gift.email,
            "name": gift.name,
            "de_name": de_name(gift.name) if gift.name else "",
            "message": gift.message,
            "campaign_title": gift.campaign.title,
        },
        campaigns=[gift.campaign_id],
        organisations=[gift.campaign.organisation_id],
    )
    gift_match(gift=gift)  # matchfunding: each running pledge's share, with the payment
    _progress(gift.campaign)
    if gift.news:
        subscription_consent(campaign_id=gift.campaign_id, email=gift.email, language=gift.language)
    # Tasks recorded with the payment: none of them can fail it, and none is lost if a process dies.
    task_enqueue(emails.gift_thanks_send, gift_id=gift.pk)
    task_enqueue(gift_transfer, gift_id=gift.pk)
    task_enqueue(receipt_issue_for_gift, gift_id=gift.pk)


def _checkout_closed(event: PaymentEvent, status: PaymentStatus) -> None:
    target = _locked_target(event)
    if target is None or target.provider_session_id != event.session_id:
        return
    if isinstance(target, Order):
        reservation_release(order_id=target.pk, to=status, note=event.type)
    else:
        if target.status == PaymentStatus.PENDING:
            payment_transition(target, to=status)
        if target.recurring_id is not None:
            recurring_abandon(recurring_id=target.recurring_id)


def _refunded(event: PaymentEvent, target: Order | Gift) -> bool:
    """``charge.refunded`` carries the charge's cumulative ``amount_refunded``,
    and the provider may deliver the events of several partial refunds in any
    order, or twice. So the payment's refunded total is the largest cumulative
    amount seen (never more than was paid): a smaller one arriving late is an
    older snapshot and changes nothing. The ledger debits what that total adds
    to the refunds already debited, never more than remains credited; the
    entry's key names the total it brings the refunds to, so it is written once.
    An order's refunded total is shared among its lines and its parcels' shipping (``refund_split``)
    and each line is debited on its own campaign.
    Caller holds the payment's lock, so ``target`` is current."""
    model = type(target)
    before = target.refunded_cents
    refunded = max(before, min(event.refunded_cents, target.amount_cents))
    if refunded > before:
        model.objects.filter(pk=target.pk).update(
            refunded_cents=Least(Greatest(F("refunded_cents"), refunded), F("amount_cents"))
        )
        target.refunded_cents = refunded
    if isinstance(target, Order):
        return _order_refunded(event, target, before=before, refunded=refunded)
    _tip_refunded(event, target)
    totals = ledger_totals_for(gift=target)
    wanted = min(refunded, totals["credit"]) - totals["refund"]
    entry = ledger_record(
        kind=LedgerEntry.Kind.DEBIT,
        reason=LedgerEntry.Reason.REFUND,
        amount_cents=min(wanted, totals["credit"] - totals["debit"]),
        campaign=target.campaign,
        key=f"{payment_ref(target)}:refund:{refunded}",
        provider_event_id=event.id,
        gift=target,
    )
    if entry is None and refunded == before:
        return True  # an older snapshot, nothing was ever credited, or only the tip was refunded
    # An issued tax receipt no longer says the truth: cancel it, in this transaction
    # (the receipts job issues a corrected one for what the organisation kept).
    receipts_cancel_for_payment(reason=refund_reason(refunded), gift=target)
    if refunded >= target.amount_cents and target.status == PaymentStatus.PAID:
        payment_transition(target, to=PaymentStatus.REFUNDED)
    gift_match_take_back(gift=target)  # matchfunding: the partners' shares follow what the gift kept
    _progress(target.campaign)
    transfer_reverse_after_commit(target)
    return True


def _tip_totals(gift: Gift) -> dict[str, int]:
    """Credited and debited cents of a gift's tip (the platform's tips account), and refunds debited."""
    totals = {"credit": 0, "debit": 0, "refund": 0}
    entries = LedgerEntry.objects.filter(gift=gift, account=LedgerEntry.Account.PLATFORM_TIPS)
    for kind, reason, amount in entries.values_list("kind", "reason", "amount_cents"):
        totals[kind] += amount
        if kind == LedgerEntry.Kind.DEBIT and reason == LedgerEntry.Reason.REFUND:
            totals["refund"] += amount
    return totals


def _tip_refunded(event: PaymentEvent, gift: Gift) -> LedgerEntry | None:
    """The provider's cumulative refund of a tipped payment goes to the gift first, then to the tip:
    what exceeds the gift's amount is the tip given back, debited on the platform's tips account
    (never more than its credit). A manager's whole refund of the gift sends the tip back too
    (checkout.services.payouts.payment_refund); a partial one leaves it."""
    if not gift.tip_cents:
        return None
    tip_refunded = min(max(event.refunded_cents - gift.amount_cents, 0), gift.tip_cents)
    totals = _tip_totals(gift)
    wanted = min(tip_refunded, totals["credit"]) - totals["refund"]
    return ledger_record(
        account=LedgerEntry.Account.PLATFORM_TIPS,
        kind=LedgerEntry.Kind.DEBIT,
        reason=LedgerEntry.Reason.REFUND,
        amount_cents=min(wanted, totals["credit"] - totals["debit"]),
        campaign=None,
        key=f"gift:{gift.pk}:tip:refund:{tip_refunded}",
        provider_event_id=event.id,
        gift=gift,
    )


def _order_refunded(event: PaymentEvent, order: Order, *, before: int, refunded: int) -> bool:
    """Debit each line of ``order`` what its share of the refunded total adds; cancel
    the receipts of the lines it touched; relist or withdraw the items refunded in full."""
    share, shipping_share = refund_split(order, refunded)
    shipping_entry = _shipping_refunded(event, order, sum(shipping_share.values()))
    touched = []
    for line in order.lines.select_related("campaign", "item__campaign").order_by("pk"):
        totals = ledger_totals_for(order_line=line)
        wanted = min(share[line.pk], totals["credit"]) - totals["refund"]
        entry = ledger_record(
            kind=LedgerEntry.Kind.DEBIT,
            reason=LedgerEntry.Reason.REFUND,
            amount_cents=min(wanted, totals["credit"] - totals["debit"]),
            campaign=line.campaign,
            key=f"order:{order.pk}:line:{line.pk}:refund:{share[line.pk]}",
            provider_event_id=event.id,
            order=order,
            order_line=line,
        )
        if share[line.pk] > line.refunded_cents:
            OrderLine.objects.filter(pk=line.pk).update(refunded_cents=share[line.pk])
            line.refunded_cents = share[line.pk]
        if entry is None:
            continue
        touched.append(line)
        # An issued tax receipt no longer says the truth: cancel it, in this transaction
        # (the receipts job issues a corrected one for what the organisation kept).
        receipts_cancel_for_line(line=line, reason=refund_reason(share[line.pk]))
        if line.refunded_cents >= line.amount_cents:
            _item_back_after_refund(order, line)
    if not touched and shipping_entry is None and refunded == before:
        return True  # an older snapshot, or nothing was ever credited (a late payment refunded at once)
    if refunded >= order.amount_cents and order.status == PaymentStatus.PAID:
        payment_transition(order, to=PaymentStatus.REFUNDED)
    for campaign in {line.campaign_id: line.campaign for line in touched}.values():
        _progress(campaign)
    transfer_reverse_after_commit(order)
    return True


def _shipping_refunded(event: PaymentEvent, order: Order, shipping_refunded: int) -> LedgerEntry | None:
    """Debit the platform's shipping account with what the order's refunded shipping adds
    (``refund_split``: a fulfilment's refund that includes its shipping, or a whole order's
    beyond its lines), never more than it credited; the key names the cumulative total."""
    totals = {"credit": 0, "debit": 0, "refund": 0}
    entries = LedgerEntry.objects.filter(order=order, account=LedgerEntry.Account.PLATFORM_SHIPPING)
    for kind, reason, amount in entries.values_list("kind", "reason", "amount_cents"):
        totals[kind] += amount
        if kind == LedgerEntry.Kind.DEBIT and reason == LedgerEntry.Reason.REFUND:
            totals["refund"] += amount
    wanted = min(shipping_refunded, totals["credit"]) - totals["refund"]
    return ledger_record(
        account=LedgerEntry.Account.PLATFORM_SHIPPING,
        kind=LedgerEntry.Kind.DEBIT,
        reason=LedgerEntry.Reason.REFUND,
        amount_cents=min(wanted, totals["credit"] - totals["debit"]),
        campaign=None,
        order=order,
        key=f"order:{order.pk}:shipping:refund:{shipping_refunded}",
        provider_event_id=event.id,
    )


def _item_back_after_refund(order: Order, line: OrderLine) -> None:
    """A line refunded in full: an item not yet handed over goes back on sale; one
    already handed over is withdrawn (the object left with the buyer)."""
    item = line.item
    item.refresh_from_db(fields=["status"])
    if item.status == ItemStatus.SOLD:
        item_transition(item=item, to=ItemStatus.LISTED, expected=ItemStatus.SOLD, note=f"order {order.pk} refunded")
        event_emit(
            type=ITEM_RELEASED,
            public={"item": item.pk, "status": ItemStatus.LISTED},
            **item_streams(item),
        )
    elif item.status == ItemStatus.HANDED_OVER:
        item_transition(item=item, to=ItemStatus.WITHDRAWN, expected=ItemStatus.HANDED_OVER, note="refunded")


def _debit_split(target: Order | Gift, amount: int) -> list[tuple[OrderLine | None, Campaign, int]]:
    """Where a debit of ``amount`` on a payment falls: a gift's campaign; an order's
    lines in turn, each at most what remains credited to it."""
    if isinstance(target, Gift):
        totals = ledger_totals_for(gift=target)
        return [(None, target.campaign, min(amount, totals["credit"] - totals["debit"]))]
    parts: list[tuple[OrderLine | None, Campaign, int]] = []
    for line in target.lines.select_related("campaign").order_by("pk"):
        totals = ledger_totals_for(order_line=line)
        part = min(amount, totals["credit"] - totals["debit"])
        if part > 0:
            parts.append((line, line.campaign, part))
            amount -= part
    return parts


def _dispute_opened(event: PaymentEvent, target: Order | Gift) -> bool:
    """Stripe takes the disputed amount back when the dispute opens: debit it now
    (an order's lines in turn, each at most what it still has)."""
    written = False
    campaigns = {}
    split = _debit_split(target, event.amount_cents)
    for line, campaign, amount in split:
        line_part = f":line:{line.pk}" if line is not None else ""
        entry = ledger_record(
            kind=LedgerEntry.Kind.DEBIT,
            reason=LedgerEntry.Reason.DISPUTE,
            amount_cents=amount,
            campaign=campaign,
            key=f"{payment_ref(target)}{line_part}:dispute:{event.dispute_id}",
            provider_event_id=event.id,
            order_line=line,
            **payment_of(target),
        )
        written = written or entry is not None
        campaigns[campaign.pk] = campaign
    if isinstance(target, Gift) and target.tip_cents:
        # The bank took the whole payment back: what exceeds the gift is the tip, the platform's.
        _tip_disputed(event, target, beyond_gift=event.amount_cents - sum(amount for _l, _c, amount in split))
    if isinstance(target, Order) and target.shipping_cents:
        # What exceeds the lines is the shipping, the platform's: debited there, never a campaign.
        _shipping_disputed(event, target, beyond_lines=event.amount_cents - sum(amount for _l, _c, amount in split))
    if written:
        receipts_cancel_for_payment(reason=dispute_reason(), **payment_of(target))
    for campaign in campaigns.values() or [_first_campaign(target)]:
        _progress(campaign)
    return True


def _tip_disputed(event: PaymentEvent, gift: Gift, *, beyond_gift: int) -> None:
    """Debit the platform's tips account with the part of a disputed amount beyond what the gift still
    had (``beyond_gift``); its key ends as the campaign's, ``:dispute:<id>``, so a won dispute credits it back."""
    totals = _tip_totals(gift)
    tip_part = min(max(beyond_gift, 0), totals["credit"] - totals["debit"])
    ledger_record(
        account=LedgerEntry.Account.PLATFORM_TIPS,
        kind=LedgerEntry.Kind.DEBIT,
        reason=LedgerEntry.Reason.DISPUTE,
        amount_cents=tip_part,
        campaign=None,
        key=f"gift:{gift.pk}:tip:dispute:{event.dispute_id}",
        provider_event_id=event.id,
        gift=gift,
    )


def _shipping_disputed(event: PaymentEvent, order: Order, *, beyond_lines: int) -> None:
    """Debit the shipping account with the part of a disputed amount beyond what the lines still had; its
    key ends as the lines' (``:dispute:<id>``), so a won dispute credits it back (``_dispute_closed``)."""
    entries = LedgerEntry.objects.filter(order=order, account=LedgerEntry.Account.PLATFORM_SHIPPING)
    credited = sum(entries.filter(kind=LedgerEntry.Kind.CREDIT).values_list("amount_cents", flat=True))
    debited = sum(entries.filter(kind=LedgerEntry.Kind.DEBIT).values_list("amount_cents", flat=True))
    ledger_record(
        account=LedgerEntry.Account.PLATFORM_SHIPPING,
        kind=LedgerEntry.Kind.DEBIT,
        reason=LedgerEntry.Reason.DISPUTE,
        amount_cents=min(max(beyond_lines, 0), credited - debited),
        campaign=None,
        order=order,
        key=f"order:{order.pk}:shipping:dispute:{event.dispute_id}",
        provider_event_id=event.id,
    )


def _first_campaign(target: Order | Gift) -> Campaign:
    if isinstance(target, Gift):
        return target.campaign
    return target.lines.select_related("campaign").order_by("pk").first().campaign  # type: ignore[union-attr]


def _campaigns(target: Order | Gift) -> list[Campaign]:
    if isinstance(target, Gift):
        return [target.campaign]
    return list(Campaign.objects.filter(order_lines__order=target).distinct().order_by("pk"))


def _dispute_closed(event: PaymentEvent, target: Order | Gift) -> bool:
    """A won dispute gives the money back: credit what its opening debited. A
    lost one changes no total (its opening took the money), but the
    organisation's transfer is reversed. A won close that comes before its
    opening waits for it. Either way, screens hear how the campaign stands."""
    if event.dispute_status == "lost":
        transfer_reverse_after_commit(target)
    if event.dispute_status != "won":
        for campaign in _campaigns(target):
            _progress(campaign)
        return True
    opening = ProviderEvent.objects.filter(
        type=gw.DISPUTE_OPENED, event__dispute_id=event.dispute_id, processed_at__isnull=False
    )
    if not opening.exists():
        return False
    # What the opening debited (none if nothing was left to take), line by line for an order.
    opened = LedgerEntry.objects.filter(
        **payment_of(target), reason=LedgerEntry.Reason.DISPUTE, key__endswith=f":dispute:{event.dispute_id}"
    ).select_related("campaign", "order_line")
    for entry in opened:
        ledger_record(
            account=LedgerEntry.Account(entry.account),
            kind=LedgerEntry.Kind.CREDIT,
            reason=LedgerEntry.Reason.DISPUTE_WON,
            amount_cents=entry.amount_cents,
            campaign=entry.campaign,
            key=entry.key.replace(":dispute:", ":dispute_won:"),
            provider_event_id=event.id,
            order_line=entry.order_line,
            **payment_of(target),
        )
    for campaign in _campaigns(target):
        _progress(campaign)
    return True


# Events about money already received: they wait (ProviderEvent.processed_at empty) until it is.
AFTER_PAYMENT_TYPES: dict[str, Callable[[PaymentEvent, Order | Gift], bool]] = {
    gw.PAYMENT_REFUNDED: _refunded,
    gw.DISPUTE_OPENED: _dispute_opened,
    gw.DISPUTE_CLOSED: _dispute_closed,
}
