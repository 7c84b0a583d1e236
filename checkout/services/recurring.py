"""Monthly gifts: the giver's commitment (``RecurringGift``, the provider's
subscription) and its charges, each one a ``Gift`` of its own.

The provider's subscription events are applied here, in the transaction in
which payments.events records them (called by ``events.payment_event_apply``):
the first charge pays the gift the checkout opened, each later one creates the
month's gift; ``events`` then marks it paid as any gift (ledger credit, thanks
email with the management link, transfer, receipt). A charge counts once per
provider invoice (``Gift.provider_invoice_id`` is unique, and checked under the
monthly gift's lock). The giver changes the amount or stops from a signed link
(no account needed) or their space; the provider is told first, outside any
transaction, then our row follows.

Lock order: the monthly gift first, then its gifts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from checkout.services.states import recurring_transition
from checkout.services.targets import PaymentUnavailable
from donations.models import Gift, PaymentStatus, RecurringGift
from kernel.errors import Conflict, DomainError, NotFound
from payments.gateways import GatewayError, PaymentEvent, gateway

logger = logging.getLogger(__name__)

MANAGE_SALT = "tremma.recurring-gift"
# What a monthly gift copies to each of its charges.
COPIED_FIELDS = (
    "campaign_id",
    "user_id",
    "email",
    "name",
    "anonymous",
    "message",
    "currency",
    "language",
    "receipt_requested",
    "receipt_first_name",
    "receipt_last_name",
    "receipt_address_line1",
    "receipt_address_line2",
    "receipt_postal_code",
    "receipt_city",
    "receipt_country",
)


class RecurringNotActive(Conflict):
    code = "recurring_not_active"
    default_detail = _("Ce don mensuel n'est pas actif : son montant ne peut plus changer.")


# --- The giver's signed link ----------------------------------------------------------------------


def recurring_manage_signed(recurring: RecurringGift) -> str:
    """The signed part of the management link: the monthly gift and its secret token. No expiry:
    it is in every month's email; it stops working only if the token changes."""
    return signing.dumps({"id": recurring.pk, "t": recurring.token}, salt=MANAGE_SALT, compress=True)


def recurring_manage_url(recurring: RecurringGift) -> str:
    path = reverse("checkout:recurring-manage", kwargs={"signed": recurring_manage_signed(recurring)})
    return settings.SITE_URL + path


def recurring_from_signed(signed: str) -> RecurringGift | None:
    """The monthly gift of a management link; None for a forged, altered or unknown one."""
    try:
        data = signing.loads(signed, salt=MANAGE_SALT)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) or not isinstance(data.get("t"), str):
        return None
    recurring = RecurringGift.objects.select_related("campaign__organisation").filter(pk=data["id"]).first()
    if recurring is None or not constant_time_compare(recurring.token, data["t"]):
        return None
    return recurring


# --- The provider's events (caller: events.payment_event_apply, in the event's transaction) --------


def _recurring_locked(event: PaymentEvent) -> RecurringGift | None:
    """The monthly gift an event is about, locked: by our metadata, else by the provider's subscription."""
    rows = RecurringGift.objects.select_for_update().select_related("campaign__organisation")
    if event.kind == "recurring" and event.object_id:
        return rows.filter(pk=event.object_id, provider=event.provider).first()
    if event.subscription_id:
        return rows.filter(provider_subscription_id=event.subscription_id, provider=event.provider).first()
    return None


def _subscription_attach(recurring: RecurringGift, event: PaymentEvent) -> None:
    """Name the provider's subscription and start the monthly gift (whichever event comes first)."""
    if event.subscription_id and not recurring.provider_subscription_id:
        RecurringGift.objects.filter(pk=recurring.pk).update(provider_subscription_id=event.subscription_id)
        recurring.provider_subscription_id = event.subscription_id
    if recurring.status == RecurringGift.Status.PENDING:
        recurring_transition(recurring, to=RecurringGift.Status.ACTIVE, started_at=timezone.now())


def subscription_started(event: PaymentEvent) -> None:
    """The checkout of a monthly gift is complete: the subscription exists. Its money comes
    with its invoices (``recurring_charge_gift``)."""
    if event.kind != "gift" or not event.object_id:
        return
    recurring_id = Gift.objects.filter(pk=event.object_id).values_list("recurring_id", flat=True).first()
    rows = RecurringGift.objects.select_for_update()
    recurring = rows.filter(pk=recurring_id, provider=event.provider).first() if recurring_id else None
    if recurring is None:
        logger.error("payments: subscription event %s names no monthly gift; ignored", event.id)
        return
    first = Gift.objects.filter(pk=event.object_id).values_list("provider_session_id", flat=True).first()
    if first != event.session_id:
        logger.error("payments: event %s is not the session of monthly gift %s; ignored", event.id, recurring.pk)
        return
    _subscription_attach(recurring, event)


def recurring_charge_gift(event: PaymentEvent) -> Gift | None:
    """One invoice of a monthly gift is paid: the gift of that month, pending and locked, for
    ``gift_mark_paid``; None when that invoice was already counted (a replay, or the same
    invoice under another event id) or names no monthly gift of ours."""
    recurring = _recurring_locked(event)
    if recurring is None or not event.invoice_id:
        logger.error("payments: paid invoice %s names no monthly gift; ignored", event.id)
        return None
    if event.amount_cents <= 0 or event.currency != recurring.currency:
        logger.warning("payments: invoice %s of monthly gift %s took nothing; ignored", event.id, recurring.pk)
        return None
    if Gift.objects.filter(provider_invoice_id=event.invoice_id).exists():
        return None  # safe: the monthly gift's lock is held, and the column is unique besides
    _subscription_attach(recurring, event)
    RecurringGift.objects.filter(pk=recurring.pk).update(last_paid_at=timezone.now(), next_attempt_at=None)
    # The first invoice pays the gift its checkout opened (the return page shows that one).
    first = (
        Gift.objects.select_for_update()
        .filter(recurring=recurring, provider_invoice_id__isnull=True, status__in=_UNPAID)
        .order_by("pk")
        .first()
    )
    if first is not None:
        Gift.objects.filter(pk=first.pk).update(provider_invoice_id=event.invoice_id, amount_cents=event.amount_cents)
        first.provider_invoice_id, first.amount_cents = event.invoice_id, event.amount_cents
        return first
    return Gift.objects.select_related("campaign__organisation").get(
        pk=Gift.objects.create(
            **{name: getattr(recurring, name) for name in COPIED_FIELDS},
            recurring=recurring,
            amount_cents=event.amount_cents,
            provider=recurring.provider,
            provider_invoice_id=event.invoice_id,
        ).pk
    )


# A charge's gift is never more than one of these before it is paid.
_UNPAID = (PaymentStatus.PENDING, PaymentStatus.EXPIRED, PaymentStatus.FAILED)


def charge_failed(event: PaymentEvent) -> None:
    """A month's charge failed; the provider retries it (``next_attempt_at``) or gives up
    (then it ends the subscription). Recorded for the managers' list; no gift, no money."""
    recurring = _recurring_locked(event)
    if recurring is None:
        logger.error("payments: failed invoice %s names no monthly gift; ignored", event.id)
        return
    retry = datetime.fromtimestamp(event.next_attempt_at, tz=UTC) if event.next_attempt_at else None
    RecurringGift.objects.filter(pk=recurring.pk).update(
        failed_charges=F("failed_charges") + 1, last_failed_at=timezone.now(), next_attempt_at=retry
    )


def subscription_ended(event: PaymentEvent) -> None:
    """The provider cancelled the subscription (asked by us, or after its last retry): stopped."""
    recurring = _recurring_locked(event)
    if recurring is None or recurring.status == RecurringGift.Status.STOPPED:
        return
    recurring_transition(recurring, to=RecurringGift.Status.STOPPED, stopped_at=timezone.now(), stopped_by="provider")


def recurring_abandon(*, recurring_id: int) -> None:
    """The first checkout expired or failed: the monthly gift never started. Caller's transaction."""
    recurring = RecurringGift.objects.select_for_update().filter(pk=recurring_id).first()
    if recurring is not None and recurring.status == RecurringGift.Status.PENDING:
        recurring_transition(recurring, to=RecurringGift.Status.STOPPED, stopped_at=timezone.now(), stopped_by="")


# --- The giver's changes --------------------------------------------------------------------------


def recurring_gift_change_amount(*, recurring_id: int, amount_cents: int) -> RecurringGift:
    """The giver's new monthly amount, from the next charge on: the provider first (nothing
    changes here if it refuses: ``PaymentUnavailable``), then our row."""
    if not settings.GIFT_MIN_CENTS <= amount_cents <= settings.GIFT_MAX_CENTS:
        raise DomainError(f"monthly amount {amount_cents} out of bounds")
    recurring = RecurringGift.objects.filter(pk=recurring_id).first()
    if recurring is None:
        raise NotFound(f"recurring gift {recurring_id}")
    if recurring.status != RecurringGift.Status.ACTIVE or not recurring.provider_subscription_id:
        raise RecurringNotActive(f"recurring gift {recurring_id} is {recurring.status}")
    if recurring.amount_cents == amount_cents:
        return recurring
    change = recurring.amount_changes + 1
    try:
        gateway().subscription_update(
            subscription_id=recurring.provider_subscription_id,
            amount_cents=amount_cents,
            # Derived from our row: a retry of this very change is the same request at the provider.
            idempotency_key=f"tremma-recurring-{recurring.pk}-amount-{change}-{amount_cents}",
        )
    except GatewayError:
        logger.warning("recurring: amount of %s not changed at the provider", recurring.pk, exc_info=True)
        raise PaymentUnavailable(f"recurring gift {recurring.pk}") from None
    with transaction.atomic():
        RecurringGift.objects.filter(pk=recurring.pk, amount_changes=recurring.amount_changes).update(
            amount_cents=amount_cents, amount_changes=change
        )
    recurring.refresh_from_db()
    return recurring


def recurring_gift_stop(*, recurring_id: int) -> RecurringGift:
    """The giver stops: the provider cancels the subscription first (no further charge), then
    the monthly gift is stopped. The charges already made stay given. Stopping twice is nothing."""
    recurring = RecurringGift.objects.filter(pk=recurring_id).first()
    if recurring is None:
        raise NotFound(f"recurring gift {recurring_id}")
    if recurring.status == RecurringGift.Status.STOPPED:
        return recurring
    if recurring.provider_subscription_id:
        try:
            gateway().subscription_cancel(subscription_id=recurring.provider_subscription_id)
        except GatewayError:
            logger.warning("recurring: %s not cancelled at the provider", recurring.pk, exc_info=True)
            raise PaymentUnavailable(f"recurring gift {recurring.pk}") from None
    with transaction.atomic():
        locked = RecurringGift.objects.select_for_update().get(pk=recurring.pk)
        if locked.status != RecurringGift.Status.STOPPED:
            recurring_transition(locked, to=RecurringGift.Status.STOPPED, stopped_at=timezone.now(), stopped_by="giver")
        else:
            # The provider's own "ended" event came back first (the demo sends it at once): the giver stopped it.
            RecurringGift.objects.filter(pk=locked.pk, stopped_by="provider").update(stopped_by="giver")
    recurring.refresh_from_db()
    return recurring
