"""Reads on payments: an organisation's connected account, as its admins see it."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import Organisation
from campaigns.permissions import Permission
from campaigns.selectors import organisations_user_may

# --- Connect: an organisation's connected account, as its admins see it --------------------------


def organisation_for_payments_admin(*, user: User, slug: str) -> Organisation | None:
    """The organisation whose payments page ``user`` may see: its treasurers and
    admins (they connect the bank account), and superusers."""
    administered = (
        Organisation.objects.all() if user.is_superuser else organisations_user_may(user, Permission.PAYOUT_ACCOUNT)
    )
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


def connect_summary(organisation: Organisation, *, balance_cents: int) -> ConnectSummary:
    """The account's state as its admins see it, with ``balance_cents`` (what awaits transfer, from the ledger)."""
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
    return ConnectSummary(status=status, requirements=labels, balance_cents=balance_cents)
