"""Changes to receipts once issued, and their settings: cancellations (a
refund, a dispute, an admin's correction: never an edit, a later receipt
``replaces`` it), givers' yearly preference, organisations' legal details.
Issuing is in receipts.issuing."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from donations.models import Gift, Order, OrderLine
from kernel.errors import Conflict, NotFound
from kernel.money import format_money
from kernel.tasks import task_enqueue
from receipts.delivery import receipt_cancelled_notify
from receipts.issuing import LEGAL_DETAILS
from receipts.models import ReceiptPreference, TaxReceipt, TaxReceiptLine


class ReceiptNotCancellable(Conflict):
    code = "receipt_not_cancellable"
    default_detail = _("Ce reçu est déjà annulé.")


def _cancel(*, receipt_id: int, reason: str, actor: User | None = None) -> bool:
    """Cancel one issued receipt with its reason and time; never edits what it certified.
    The organisation's journal says who (``actor``; None: a refund's or a dispute's consequence)."""
    cancelled = TaxReceipt.objects.filter(pk=receipt_id, status=TaxReceipt.Status.ISSUED).update(
        status=TaxReceipt.Status.CANCELLED, cancellation_reason=reason[:300], cancelled_at=timezone.now()
    )
    if cancelled:
        TaxReceiptLine.objects.filter(receipt_id=receipt_id).update(active=False)
        task_enqueue(receipt_cancelled_notify, receipt_id=receipt_id)
        organisation_id, number, amount_cents = TaxReceipt.objects.values_list(
            "organisation_id", "number", "amount_cents"
        ).get(pk=receipt_id)
        audit_record(
            organisation_id=organisation_id,
            actor=actor,
            action=AuditEntry.Action.RECEIPT_CANCELLED,
            subject=number,
            details={"receipt": receipt_id, "amount_cents": amount_cents, "reason": reason[:300]},
        )
    return bool(cancelled)


def _cancel_covering(target: Q, *, reason: str) -> int:
    receipt_ids = set(TaxReceiptLine.objects.filter(target, active=True).values_list("receipt_id", flat=True))
    return sum(_cancel(receipt_id=receipt_id, reason=reason) for receipt_id in sorted(receipt_ids))


def receipts_cancel_for_payment(*, reason: str, gift: Gift | None = None, order: Order | None = None) -> int:
    """A refund or a dispute reached a receipted payment: cancel its receipt(s)
    (an order's: the receipts of every line of it, whichever seller), in the
    caller's transaction (checkout.services holds the payment's lock). The job
    issues a corrected receipt later if something is still due."""
    if (gift is None) == (order is None):
        raise ValueError("a gift or an order")
    return _cancel_covering(Q(gift=gift) if gift is not None else Q(order=order), reason=reason)


def receipts_cancel_for_line(*, line: OrderLine, reason: str) -> int:
    """A refund reached one item of an order: cancel the receipt covering that
    line only (a yearly receipt covering it is cancelled whole, and the job
    issues again what its other lines are still due); the basket's other
    items keep theirs. In the caller's transaction, like receipts_cancel_for_payment."""
    return _cancel_covering(Q(order_line=line), reason=reason)


def refund_reason(refunded_cents: int) -> str:
    with translation.override("fr"):
        return gettext("Remboursement (%(amount)s remboursés en tout)") % {"amount": format_money(refunded_cents)}


def dispute_reason() -> str:
    with translation.override("fr"):
        return gettext("Contestation du paiement (litige ouvert)")


def _receipts_of(*, actor: User, organisation_id: int) -> None:
    """Only the organisation's treasurers and admins; its other members are told they may not,
    anyone else gets the same answer as for a missing receipt (another organisation's ids are not a hint)."""
    permission_require(actor, organisation_id, Permission.RECEIPTS)


def receipt_cancel(*, receipt_id: int, actor: User, reason: str) -> TaxReceipt:
    """A treasurer or an admin of the organisation cancels a receipt issued in error (e.g. a
    wrong address), with a reason. If its payments are still due a receipt,
    the next run issues a corrected one that references it."""
    with transaction.atomic():
        receipt = TaxReceipt.objects.filter(pk=receipt_id).first()
        if receipt is None:
            raise NotFound(f"receipt {receipt_id}")
        _receipts_of(actor=actor, organisation_id=receipt.organisation_id)
        if not _cancel(receipt_id=receipt.pk, reason=reason, actor=actor):
            raise ReceiptNotCancellable(f"receipt {receipt_id} is {receipt.status}")
    receipt.refresh_from_db()
    return receipt


def receipt_preference_set(*, user: User, consolidated: bool) -> ReceiptPreference:
    preference, _created = ReceiptPreference.objects.update_or_create(
        user=user, defaults={"consolidated": consolidated}
    )
    return preference


def organisation_legal_details_update(*, organisation: Organisation, actor: User, **fields: object) -> Organisation:
    """Treasurers and admins of the organisation only: the legal details and signatory printed on
    receipts. Receipts already issued keep their snapshot."""
    _receipts_of(actor=actor, organisation_id=organisation.pk)
    unknown = set(fields) - set(LEGAL_DETAILS)
    if unknown:
        raise ValueError(f"not legal details: {sorted(unknown)}")
    before = {name: str(getattr(organisation, name)) for name in fields}
    for name, value in fields.items():
        # As a ModelForm would: a file field takes an upload, False (cleared) or its current file.
        Organisation._meta.get_field(name).save_form_data(organisation, value)  # type: ignore[union-attr]
    changed = sorted(name for name in fields if str(getattr(organisation, name)) != before[name])
    with transaction.atomic():
        organisation.save(update_fields=list(fields))
        if changed:
            audit_record(
                organisation_id=organisation.pk,
                actor=actor,
                action=AuditEntry.Action.LEGAL_DETAILS_CHANGED,
                subject=organisation.name,
                details={"fields": changed},
            )
    return organisation
