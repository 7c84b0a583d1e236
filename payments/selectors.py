"""Reads on payments: the reconciliation of the ledger with our rows and the
provider, and a campaign's ledger for export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Campaign, LedgerEntry, Membership, Organisation
from campaigns.selectors import organisation_balance_cents
from donations.models import Gift, Order, PaymentStatus
from donations.selectors import organisations_administered
from payments.gateways import GatewayError, gateway


def _sums(target: Order | Gift) -> dict[str, int]:
    key = Q(order=target) if isinstance(target, Order) else Q(gift=target)
    rows = LedgerEntry.objects.filter(key).values("reason").annotate(total=Sum("amount_cents"))
    return {row["reason"]: row["total"] for row in rows}


def ledger_differences(*, with_provider: bool = False) -> Iterator[str]:
    """Every paid order or gift has exactly its amount credited once, refunds
    debited as recorded, and (``with_provider``) the provider agrees on what
    was received and refunded. Yields one line per difference."""
    paid = Q(status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDED]) & ~Q(provider_payment_id="")
    targets: list[Order | Gift] = [*Order.objects.filter(paid).exclude(refund_reason="item_unavailable")]
    targets += [*Gift.objects.filter(paid)]
    provider = gateway() if with_provider else None
    for target in targets:
        name = f"{type(target).__name__.lower()} {target.pk}"
        sums = _sums(target)
        if sums.get(LedgerEntry.Reason.PAYMENT, 0) != target.amount_cents:
            yield f"{name}: credited {sums.get('payment', 0)}, paid {target.amount_cents}"
        if sums.get(LedgerEntry.Reason.REFUND, 0) != target.refunded_cents:
            yield f"{name}: refunds debited {sums.get('refund', 0)}, refunded {target.refunded_cents}"
        if provider is not None and target.provider == provider.name:
            try:
                received, refunded = provider.payment_amounts(target.provider_payment_id)
            except GatewayError as error:
                yield f"{name}: provider not reachable ({error})"
                continue
            if (received, refunded) != (target.amount_cents, target.refunded_cents):
                yield f"{name}: provider says received {received}, refunded {refunded}"
    orphans = LedgerEntry.objects.filter(
        Q(order__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
        | Q(gift__status__in=[PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.EXPIRED])
    )
    for entry in orphans:
        yield f"ledger entry {entry.pk} ({entry.key}) belongs to an unpaid payment"


def campaign_ledger_for_manager(*, user_id: int, is_superuser: bool, slug: str) -> QuerySet[LedgerEntry] | None:
    """A campaign's ledger, oldest first, if ``user_id`` manages its organisation; None otherwise."""
    campaign = Campaign.objects.filter(slug=slug).first()
    if campaign is None:
        return None
    if (
        not is_superuser
        and not Membership.objects.filter(user_id=user_id, organisation=campaign.organisation_id).exists()
    ):
        return None
    return LedgerEntry.objects.filter(campaign=campaign).select_related("order", "gift").order_by("id")


# --- Connect: an organisation's connected account, as its admins see it --------------------------


def organisation_for_payments_admin(*, user: User, slug: str) -> Organisation | None:
    """The organisation whose payments page ``user`` may see: its admins (the
    most trusted role: they connect the bank account), and superusers."""
    administered = Organisation.objects.all() if user.is_superuser else organisations_administered(user=user)
    return administered.filter(slug=slug).first()


# Stripe's names of what an account still has to give (requirements.currently_due), by prefix.
REQUIREMENT_LABELS: list[tuple[str, Promise]] = [
    ("external_account", _("coordonnées bancaires (IBAN)")),
    ("tos_acceptance", _("acceptation des conditions de Stripe")),
    ("business_profile", _("description de l'activité")),
    ("company", _("informations sur la structure")),
    ("representative", _("représentant légal")),
    ("owners", _("propriétaires ou dirigeants")),
    ("directors", _("propriétaires ou dirigeants")),
    ("executives", _("propriétaires ou dirigeants")),
    ("person_", _("représentant légal")),
    ("individual", _("identité")),
    ("documents", _("justificatifs")),
]


@dataclass(frozen=True)
class ConnectSummary:
    status: str  # "none", "pending", "restricted" or "ready"
    requirements: list[str]
    balance_cents: int


def connect_summary(organisation: Organisation) -> ConnectSummary:
    if not organisation.stripe_account_id:
        status = "none"
    elif organisation.stripe_transfers_active:
        status = "ready"
    elif organisation.stripe_disabled_reason.startswith("rejected"):
        status = "restricted"
    else:
        status = "pending"
    labels: list[str] = []
    for name in organisation.stripe_requirements_due or []:
        label = next((str(text) for prefix, text in REQUIREMENT_LABELS if str(name).startswith(prefix)), str(name))
        if label not in labels:
            labels.append(label)
    balance = organisation_balance_cents(organisation_id=organisation.pk)
    return ConnectSummary(status=status, requirements=labels, balance_cents=balance)
