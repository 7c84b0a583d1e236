"""The shop counter: sales and gifts a manager records for money the organisation
already holds (cash, a cheque, its own card terminal), and their correction.

- A sale of a catalogue object claims it with the very conditional UPDATE an online
  hold makes (listed → reserved, ``item_transition``), so a counter sale and an online
  checkout never both win; it is then sold and handed over in the same transaction.
- A free line sells an object that was never in the catalogue (a description, a price).
- A gift records money given by cash, cheque or card at the counter.

Each is an order of one line (one fulfilment, handed over at once) or a gift, with
provider ``counter`` (``donations.models.COUNTER_PROVIDER``), paid at once; the ledger
credits its campaign (it counts in the campaign's total), but nothing is ever charged
or transferred through the payment provider: the organisation holds the money already
(checkout.services.payouts and ledger.selectors.organisation_balance_cents leave them
out). Receipts take the organisation's one gapless counter (receipts.issuing): a gift's
receipt is issued in the same transaction, so the counter can hand it over at once.
Every entry and every correction is in the organisation's audit trail, in the same
transaction. Lock order: the order or gift first, then the entry, then the item."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry, Campaign
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from checkout import emails
from checkout.selectors import item_streams
from checkout.services.events import _progress
from checkout.services.orders import ItemUnavailable, _claim_code, _language, _receipt_fields, reservation_release
from checkout.services.states import payment_transition
from donations.models import (
    COUNTER_PROVIDER,
    CounterEntry,
    Fulfilment,
    Gift,
    Item,
    ItemStatus,
    Order,
    OrderLine,
    PaymentStatus,
    Reservation,
)
from donations.services import item_create_sold_at_counter, item_transition
from kernel.errors import Conflict, DomainError, NotFound
from kernel.money import CURRENCY
from kernel.states import TransitionRefused
from kernel.tasks import task_enqueue
from kernel.words import de_name
from ledger.models import LedgerEntry
from ledger.services import ledger_record
from realtime.events import GIFT_RECEIVED, ITEM_HANDED_OVER, ITEM_RELEASED, ITEM_SOLD
from realtime.services import event_emit
from receipts.changes import receipts_cancel_for_line, receipts_cancel_for_payment
from receipts.details import ReceiptDetails
from receipts.issuing import receipt_issue_for_gift
from receipts.models import TaxReceipt

# Beyond this an amount typed at a counter is a typo (50 000 €): a larger gift is not a counter's.
COUNTER_MAX_CENTS = 5_000_000
# A free line's price may be small (a cup at 0,50 €); a gift at least the 1 € every gift is.
LINE_MIN_CENTS = 1
COUNTER_GIFT_MIN_CENTS = 100
# A French cheque's number is 7 digits; other banks' up to 12. Digits only, nothing else.
CHEQUE_NUMBER = re.compile(r"^[0-9]{4,12}$", re.ASCII)


class CounterAmountInvalid(DomainError):
    code = "amount_invalid"
    field = "amount"
    default_detail = _("Ce montant n'est pas accepté au comptoir.")


class ChequeNumberInvalid(DomainError):
    code = "cheque_number_invalid"
    field = "cheque_number"
    default_detail = _("Un numéro de chèque a de 4 à 12 chiffres, sans lettre ni espace.")


class CounterEntryCancelled(Conflict):
    code = "counter_entry_cancelled"
    default_detail = _("Cette saisie est déjà annulée.")


class CounterItemChanged(Conflict):
    code = "counter_item_changed"
    default_detail = _("L'objet de cette vente a changé d'état depuis : la saisie ne peut pas être annulée ici.")


def _means_check(*, means: str, cheque_number: str) -> str:
    """The cheque number as stored ("" for anything but a cheque); a cheque without a valid one is refused."""
    if means not in CounterEntry.Means.values:
        raise DomainError(f"means {means!r}", detail=_("Choisissez un moyen de paiement."))
    if means != CounterEntry.Means.CHEQUE:
        return ""
    number = cheque_number.strip()
    if not CHEQUE_NUMBER.match(number):
        raise ChequeNumberInvalid(f"cheque number {number[:30]!r}")
    return number


def _amount_check(amount_cents: int, *, minimum: int) -> None:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise CounterAmountInvalid(f"amount {amount_cents!r}")
    if not minimum <= amount_cents <= COUNTER_MAX_CENTS:
        raise CounterAmountInvalid(f"amount {amount_cents} out of [{minimum}, {COUNTER_MAX_CENTS}]")


def _campaign_of(organisation_id: int, campaign_id: int) -> Campaign:
    """A live campaign of the organisation; any other one answers as a missing one."""
    campaign = Campaign.objects.filter(
        pk=campaign_id, organisation_id=organisation_id, status=Campaign.Status.LIVE
    ).first()
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} of organisation {organisation_id}")
    return campaign


def _entry_create(
    *, organisation_id: int, kind: str, means: str, cheque_number: str, actor: User, **target: Order | Gift
) -> CounterEntry:
    now = timezone.now()
    return CounterEntry.objects.create(
        organisation_id=organisation_id,
        kind=kind,
        means=means,
        cheque_number=cheque_number,
        recorded_by=actor,
        recorded_at=now,
        day=timezone.localdate(now),
        **target,
    )


def _audit(entry: CounterEntry, *, actor: User, subject: str, **details: object) -> None:
    audit_record(
        organisation_id=entry.organisation_id,
        actor=actor,
        action=AuditEntry.Action.COUNTER_RECORDED,
        subject=subject,
        details={
            "entry": entry.pk,
            "kind": entry.kind,
            "means": entry.means,
            "cheque_number": entry.cheque_number,
            **details,
        },
    )


def _item_claim(*, item: Item, actor: User) -> None:
    """listed → reserved: the conditional UPDATE an online hold makes (checkout.services.orders),
    so of a counter sale and a checkout at the same instant exactly one wins. A hold whose time
    is over is void, as for an online buyer (lazy expiry)."""
    if item.status == ItemStatus.RESERVED:
        expired = Reservation.objects.filter(
            item=item, status=Reservation.Status.HELD, expires_at__lte=timezone.now()
        ).values_list("order_id", flat=True)
        for order_id in list(expired):
            reservation_release(order_id=order_id, to=PaymentStatus.EXPIRED)
    try:
        item_transition(item=item, to=ItemStatus.RESERVED, expected=ItemStatus.LISTED, actor=actor, note="counter")
    except TransitionRefused:
        raise ItemUnavailable.naming([item.pk]) from None


def _order_paid_and_handed_over(
    *,
    organisation_id: int,
    item: Item,
    kind: str,
    means: str,
    cheque_number: str,
    email: str,
    actor: User,
) -> CounterEntry:
    """The order of one line for ``item`` (already claimed or created handed over), paid and
    handed over now, credited to its campaign. Caller's transaction."""
    now = timezone.now()
    amount = item.price_cents or 0
    order = Order.objects.create(
        email=email,
        amount_cents=amount,
        currency=CURRENCY,
        provider=COUNTER_PROVIDER,
        expires_at=now,
        language=_language(),
    )
    fulfilment = Fulfilment.objects.create(
        order=order, organisation_id=organisation_id, claim_code=_claim_code(), handed_over_at=now
    )
    line = OrderLine.objects.create(
        order=order, fulfilment=fulfilment, item=item, campaign=item.campaign, amount_cents=amount
    )
    if item.status == ItemStatus.RESERVED:
        item_transition(item=item, to=ItemStatus.SOLD, expected=ItemStatus.RESERVED, actor=actor, note="counter")
        item_transition(
            item=item, to=ItemStatus.HANDED_OVER, expected=ItemStatus.SOLD, actor=actor, note=f"counter {order.pk}"
        )
    # The provider's payment id names our own row: the reconciliation counts it, the provider is never asked.
    payment_transition(
        order,
        to=PaymentStatus.PAID,
        expected=PaymentStatus.PENDING,
        paid_at=now,
        provider_payment_id=f"counter-o{order.pk}",
    )
    entry = _entry_create(
        organisation_id=organisation_id,
        kind=kind,
        means=means,
        cheque_number=cheque_number,
        actor=actor,
        order=order,
    )
    ledger_record(
        kind=LedgerEntry.Kind.CREDIT,
        reason=LedgerEntry.Reason.PAYMENT,
        amount_cents=amount,
        campaign=item.campaign,
        order=order,
        order_line=line,
        key=f"order:{order.pk}:line:{line.pk}:credit",
        provider_event_id=f"counter:{entry.pk}",
    )
    event_emit(
        type=ITEM_SOLD,
        public={"item": item.pk, "status": ItemStatus.SOLD, "price_cents": amount},
        private={"order": order.pk, "email": email, "title": item.title, "campaign_title": item.campaign.title},
        **item_streams(item),
    )
    event_emit(
        type=ITEM_HANDED_OVER,
        public={"item": item.pk, "status": ItemStatus.HANDED_OVER},
        private={"order": order.pk},
        **item_streams(item),
    )
    _progress(item.campaign)
    _audit(
        entry,
        actor=actor,
        subject=gettext("commande %(number)s") % {"number": order.pk},
        order=order.pk,
        item=item.pk,
        title=item.title,
        campaign=item.campaign.slug,
        amount_cents=amount,
    )
    return entry


def counter_sale(
    *, actor: User, organisation_id: int, item_id: int, means: str, cheque_number: str = "", email: str = ""
) -> CounterEntry:
    """Sell a catalogue object at the counter, at its price: claimed as an online hold is
    (``ItemUnavailable`` if someone holds or bought it), then sold and handed over. Its seller
    is told, and gets the tax receipt of the price once the sale is final, as for any sale.
    Another organisation's object answers as a missing one."""
    permission_require(actor, organisation_id, Permission.COUNTER)
    number = _means_check(means=means, cheque_number=cheque_number)
    with transaction.atomic():
        item = (
            Item.objects.select_related("campaign")
            .filter(pk=item_id, campaign__organisation_id=organisation_id)
            .first()
        )
        if item is None:
            raise NotFound(f"item {item_id} of organisation {organisation_id}")
        _item_claim(item=item, actor=actor)
        entry = _order_paid_and_handed_over(
            organisation_id=organisation_id,
            item=item,
            kind=CounterEntry.Kind.SALE,
            means=means,
            cheque_number=number,
            email=email,
            actor=actor,
        )
        task_enqueue(emails.seller_sold_send, line_id=entry.order.lines.get().pk)  # type: ignore[union-attr]
    return entry


def counter_line(
    *,
    actor: User,
    organisation_id: int,
    campaign_id: int,
    description: str,
    amount_cents: int,
    means: str,
    cheque_number: str = "",
    email: str = "",
) -> CounterEntry:
    """Sell at the counter an object that is not in the catalogue (a description and a price),
    for a live campaign of the organisation: the organisation's own object, no seller's receipt."""
    permission_require(actor, organisation_id, Permission.COUNTER)
    number = _means_check(means=means, cheque_number=cheque_number)
    _amount_check(amount_cents, minimum=LINE_MIN_CENTS)
    title = description.strip()
    if not title or len(title) > 120:
        raise DomainError("description", detail=_("Décrivez l'objet en 120 caractères au plus."))
    with transaction.atomic():
        campaign = _campaign_of(organisation_id, campaign_id)
        item = item_create_sold_at_counter(campaign=campaign, title=title, price_cents=amount_cents, actor=actor)
        return _order_paid_and_handed_over(
            organisation_id=organisation_id,
            item=item,
            kind=CounterEntry.Kind.LINE,
            means=means,
            cheque_number=number,
            email=email,
            actor=actor,
        )


def counter_gift(
    *,
    actor: User,
    organisation_id: int,
    campaign_id: int,
    amount_cents: int,
    means: str,
    cheque_number: str = "",
    name: str = "",
    email: str = "",
    receipt: ReceiptDetails | None = None,
) -> CounterEntry:
    """Record a gift handed over at the counter (cash, cheque, card) for a live campaign of the
    organisation. With ``receipt`` (validated by receipts.details), its tax receipt is issued in
    this transaction, under the organisation's next number, and says how the money was given."""
    permission_require(actor, organisation_id, Permission.COUNTER)
    number = _means_check(means=means, cheque_number=cheque_number)
    _amount_check(amount_cents, minimum=COUNTER_GIFT_MIN_CENTS)
    with transaction.atomic():
        campaign = _campaign_of(organisation_id, campaign_id)
        now = timezone.now()
        gift = Gift.objects.create(
            campaign=campaign,
            email=email,
            name=name.strip()[:120],
            # Nobody at a counter ticked "show my name": the public screens show none.
            anonymous=True,
            amount_cents=amount_cents,
            provider=COUNTER_PROVIDER,
            language=_language(),
            **_receipt_fields(receipt),
        )
        payment_transition(
            gift,
            to=PaymentStatus.PAID,
            expected=PaymentStatus.PENDING,
            paid_at=now,
            provider_payment_id=f"counter-g{gift.pk}",
        )
        entry = _entry_create(
            organisation_id=organisation_id,
            kind=CounterEntry.Kind.GIFT,
            means=means,
            cheque_number=number,
            actor=actor,
            gift=gift,
        )
        ledger_record(
            kind=LedgerEntry.Kind.CREDIT,
            reason=LedgerEntry.Reason.PAYMENT,
            amount_cents=amount_cents,
            campaign=campaign,
            gift=gift,
            key=f"gift:{gift.pk}:credit",
            provider_event_id=f"counter:{entry.pk}",
        )
        event_emit(
            type=GIFT_RECEIVED,
            public={"campaign": campaign.slug, "amount_cents": amount_cents, "name": ""},
            private={
                "gift": gift.pk,
                "email": email,
                "name": gift.name,
                "de_name": de_name(gift.name) if gift.name else "",
                "message": "",
                "campaign_title": campaign.title,
            },
            campaigns=[campaign.pk],
            organisations=[organisation_id],
        )
        _progress(campaign)
        _audit(
            entry,
            actor=actor,
            subject=gettext("don %(number)s") % {"number": gift.pk},
            gift=gift.pk,
            campaign=campaign.slug,
            amount_cents=amount_cents,
            receipt_requested=receipt is not None,
        )
        if receipt is not None:
            receipt_issue_for_gift(gift_id=gift.pk)
    return entry


def counter_entry_receipt(entry: CounterEntry) -> TaxReceipt | None:
    """The issued receipt of a counter gift, if any (the page shows its number and PDF)."""
    if entry.gift_id is None:
        return None
    return (
        TaxReceipt.objects.filter(lines__gift_id=entry.gift_id, lines__active=True, status=TaxReceipt.Status.ISSUED)
        .order_by("-id")
        .first()
    )


def counter_cancel(*, actor: User, entry_id: int, reason: str) -> CounterEntry:
    """Correct a mistaken counter entry: cancelled with its reason (once: a second call is
    ``CounterEntryCancelled``), the payment marked refunded, the campaign debited, a receipt
    already issued cancelled, and a catalogue object put back on sale (an object that was
    never in the catalogue is withdrawn). Audited; nothing is paid back through the provider:
    the counter gives the money back by hand, if it was ever taken."""
    reason = reason.strip()
    if not reason:
        raise DomainError("reason", detail=_("Indiquez le motif de l'annulation."))
    with transaction.atomic():
        entry = CounterEntry.objects.filter(pk=entry_id).first()
        if entry is None:
            raise NotFound(f"counter entry {entry_id}")
        permission_require(actor, entry.organisation_id, Permission.COUNTER)
        # The payment's lock first (the lock order of checkout.services), then the entry.
        target: Order | Gift
        if entry.order_id is not None:
            target = Order.objects.select_for_update().get(pk=entry.order_id)
        else:
            target = Gift.objects.select_for_update(of=("self",)).select_related("campaign").get(counter_entry=entry)
        now = timezone.now()
        cancelled = CounterEntry.objects.filter(pk=entry.pk, cancelled_at__isnull=True).update(
            cancelled_at=now, cancellation_reason=reason[:300], cancelled_by=actor
        )
        if not cancelled:
            raise CounterEntryCancelled(f"counter entry {entry.pk}")
        payment_transition(
            target, to=PaymentStatus.REFUNDED, expected=PaymentStatus.PAID, refunded_cents=target.amount_cents
        )
        with_reason = gettext("Saisie au comptoir annulée : %(reason)s") % {"reason": reason}
        key = f"counter:{entry.pk}:cancel"
        if isinstance(target, Gift):
            campaign = target.campaign
            ledger_record(
                kind=LedgerEntry.Kind.DEBIT,
                reason=LedgerEntry.Reason.REFUND,
                amount_cents=target.amount_cents,
                campaign=campaign,
                gift=target,
                key=f"gift:{target.pk}:refund:{target.amount_cents}",
                provider_event_id=key,
            )
            receipts_cancel_for_payment(reason=with_reason[:300], gift=target)
            subject = gettext("don %(number)s") % {"number": target.pk}
        else:
            line = OrderLine.objects.select_related("campaign", "item__campaign").get(order=target)
            campaign = line.campaign
            OrderLine.objects.filter(pk=line.pk).update(refunded_cents=F("amount_cents"))
            ledger_record(
                kind=LedgerEntry.Kind.DEBIT,
                reason=LedgerEntry.Reason.REFUND,
                amount_cents=line.amount_cents,
                campaign=campaign,
                order=target,
                order_line=line,
                key=f"order:{target.pk}:line:{line.pk}:refund:{line.amount_cents}",
                provider_event_id=key,
            )
            receipts_cancel_for_line(line=line, reason=with_reason[:300])
            _item_back(entry=entry, item=line.item, actor=actor)
            subject = gettext("commande %(number)s") % {"number": target.pk}
        _progress(campaign)
        audit_record(
            organisation_id=entry.organisation_id,
            actor=actor,
            action=AuditEntry.Action.COUNTER_CANCELLED,
            subject=subject,
            details={
                "entry": entry.pk,
                "kind": entry.kind,
                "amount_cents": target.amount_cents,
                "reason": reason[:300],
            },
        )
        entry.refresh_from_db()
    return entry


def _item_back(*, entry: CounterEntry, item: Item, actor: User) -> None:
    """A catalogue object goes back on sale (handed_over → listed); a free line's object, never
    in the catalogue, is withdrawn. Refused if the object moved since (it is no longer ours to move)."""
    to = ItemStatus.LISTED if entry.kind == CounterEntry.Kind.SALE else ItemStatus.WITHDRAWN
    try:
        item_transition(
            item=item, to=to, expected=ItemStatus.HANDED_OVER, actor=actor, note=f"counter entry {entry.pk} cancelled"
        )
    except TransitionRefused as refused:
        raise CounterItemChanged(f"item {item.pk}") from refused
    if to == ItemStatus.LISTED:
        event_emit(type=ITEM_RELEASED, public={"item": item.pk, "status": ItemStatus.LISTED}, **item_streams(item))
