"""Matchfunding pledges, as managers run them: a partner's promise recorded and
edited (campaign managers), the partner asked to pay once it is over, and its
payment recorded (treasurers): the money enters the campaign's ledger as money
the organisation received itself (never through the provider, never
transferred), and the partner's receipt is issued on the organisation's one
counter. Every change is in the organisation's audit trail, in its transaction.

The shares of each gift are recorded as gifts are paid and refunded
(checkout.services.matches)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import PLEDGE_TRANSITIONS, AuditEntry, Campaign, Partner, Pledge
from campaigns.permissions import Permission
from campaigns.selectors import permission_require
from campaigns.services import audit_record
from checkout.services.progress import campaign_progress_emit
from kernel.errors import Conflict, DomainError
from kernel.money import format_money
from kernel.states import transition_apply
from kernel.tasks import task, task_enqueue
from ledger.models import LedgerEntry
from ledger.pledges import pledge_matched_cents
from ledger.services import ledger_record
from receipts.issuing import receipt_issue_for_pledge

logger = logging.getLogger(__name__)

PARTNER_FIELDS = (
    "kind",
    "legal_name",
    "legal_form",
    "siren",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "contact_email",
)


class CampaignClosed(Conflict):
    code = "campaign_closed"
    default_detail = _("Cette campagne est terminée : elle ne reçoit plus d'abondement.")


class PledgeSettled(Conflict):
    code = "pledge_settled"
    default_detail = _("Le versement de ce partenaire est enregistré : l'abondement ne se modifie plus.")


class PledgeRunning(Conflict):
    code = "pledge_running"
    default_detail = _("L'abondement court encore : son versement s'enregistre une fois la date de fin passée.")


class CapBelowMatched(DomainError):
    code = "cap_below_matched"
    field = "cap_cents"


class ReceivedAboveCap(DomainError):
    code = "received_above_cap"
    field = "received_cents"


class ReceivedBeforePledge(DomainError):
    code = "received_before_pledge"
    field = "received_on"


def pledge_create(
    *,
    actor: User,
    campaign: Campaign,
    partner: dict[str, str],
    ratio_percent: int,
    cap_cents: int,
    ends_at: datetime,
) -> Pledge:
    """Record a partner and its pledge to ``campaign`` (campaign managers of its organisation)."""
    permission_require(actor, campaign.organisation_id, Permission.CAMPAIGNS)
    if campaign.status == Campaign.Status.CLOSED:
        raise CampaignClosed(f"campaign {campaign.pk} closed")
    with transaction.atomic():
        row = Partner.objects.create(
            organisation_id=campaign.organisation_id, **{name: partner[name] for name in PARTNER_FIELDS}
        )
        pledge = Pledge.objects.create(
            campaign=campaign, partner=row, ratio_percent=ratio_percent, cap_cents=cap_cents, ends_at=ends_at
        )
        audit_record(
            organisation_id=campaign.organisation_id,
            actor=actor,
            action=AuditEntry.Action.PLEDGE_CREATED,
            subject=f"{row.legal_name} → {campaign.title}",
            details={
                "pledge": pledge.pk,
                "kind": row.kind,
                "ratio_percent": ratio_percent,
                "cap_cents": cap_cents,
                "ends_at": ends_at.isoformat(),
            },
        )
        campaign_progress_emit(campaign)  # its screens now say "votre don est doublé"
    return pledge


def pledge_update(
    *,
    actor: User,
    pledge_id: int,
    partner: dict[str, str],
    ratio_percent: int,
    cap_cents: int,
    ends_at: datetime,
) -> Pledge:
    """Change a pledge and its partner while it is not settled. The new ratio and end
    apply to gifts paid from now on (shares already recorded stay); the cap cannot go
    below what the pledge already matched."""
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().select_related("campaign", "partner").filter(pk=pledge_id).first()
        if pledge is None:
            raise Conflict(f"pledge {pledge_id} gone")
        permission_require(actor, pledge.campaign.organisation_id, Permission.CAMPAIGNS)
        if pledge.status != Pledge.Status.ACTIVE:
            raise PledgeSettled(f"pledge {pledge.pk} settled")
        matched = pledge_matched_cents(pledge_id=pledge.pk)
        if cap_cents < matched:
            raise CapBelowMatched(
                f"pledge {pledge.pk}: cap {cap_cents} < matched {matched}",
                detail=gettext("Ce partenaire a déjà promis %(matched)s : le plafond ne peut pas être plus bas.")
                % {"matched": format_money(matched, language=translation.get_language() or "fr")},
            )
        changes: dict[str, Any] = {}
        for name in PARTNER_FIELDS:
            if getattr(pledge.partner, name) != partner[name]:
                changes[name] = partner[name]
        if changes:
            Partner.objects.filter(pk=pledge.partner_id).update(**changes)
        terms = {"ratio_percent": ratio_percent, "cap_cents": cap_cents, "ends_at": ends_at}
        moved = {name: value for name, value in terms.items() if getattr(pledge, name) != value}
        if moved:
            Pledge.objects.filter(pk=pledge.pk).update(**moved)
        if changes or moved:
            audit_record(
                organisation_id=pledge.campaign.organisation_id,
                actor=actor,
                action=AuditEntry.Action.PLEDGE_CHANGED,
                subject=f"{partner['legal_name']} → {pledge.campaign.title}",
                details={
                    "pledge": pledge.pk,
                    "changed": sorted([*changes, *moved]),
                    **{
                        name: value.isoformat() if isinstance(value, datetime) else value
                        for name, value in moved.items()
                    },
                },
            )
            campaign_progress_emit(pledge.campaign)
    pledge.refresh_from_db()
    return pledge


def pledge_settle(
    *, actor: User, pledge_id: int, received_cents: int, received_on: date, means: str, now: datetime | None = None
) -> Pledge:
    """The partner paid (a transfer or a cheque to the organisation itself): record it
    once the pledge is over, credit the campaign's ledger with what was received, and
    record the partner's receipt to be issued (same transaction). Treasurers and admins:
    it is money received and a tax receipt."""
    now = now or timezone.now()
    with transaction.atomic():
        pledge = Pledge.objects.select_for_update().select_related("campaign", "partner").filter(pk=pledge_id).first()
        if pledge is None:
            raise Conflict(f"pledge {pledge_id} gone")
        campaign = pledge.campaign
        permission_require(actor, campaign.organisation_id, Permission.RECEIPTS)
        if pledge.status != Pledge.Status.ACTIVE:
            raise PledgeSettled(f"pledge {pledge.pk} settled")
        if now <= pledge.ends_at:
            raise PledgeRunning(f"pledge {pledge.pk} runs until {pledge.ends_at}")
        if received_cents > pledge.cap_cents:
            raise ReceivedAboveCap(
                f"pledge {pledge.pk}: received {received_cents} > cap {pledge.cap_cents}",
                detail=gettext("Le partenaire s'est engagé pour %(cap)s au plus : vérifiez le montant.")
                % {"cap": format_money(pledge.cap_cents, language=translation.get_language() or "fr")},
            )
        if received_on < timezone.localdate(pledge.created_at):
            raise ReceivedBeforePledge(
                f"pledge {pledge.pk}: received on {received_on}",
                detail=gettext("Cette date précède l'engagement du partenaire."),
            )
        transition_apply(
            model=Pledge,
            pk=pledge.pk,
            table=PLEDGE_TRANSITIONS,
            current=Pledge.Status.ACTIVE,
            to=Pledge.Status.SETTLED,
            received_cents=received_cents,
            received_on=received_on,
            received_means=Pledge.Means(means),
            settled_at=now,
        )
        key = f"pledge:{pledge.pk}:received"
        ledger_record(
            kind=LedgerEntry.Kind.CREDIT,
            reason=LedgerEntry.Reason.PLEDGE,
            amount_cents=received_cents,
            campaign=campaign,
            pledge=pledge,
            key=key,
            provider_event_id=key,  # no provider: the organisation received it itself
        )
        audit_record(
            organisation_id=campaign.organisation_id,
            actor=actor,
            action=AuditEntry.Action.PLEDGE_SETTLED,
            subject=f"{pledge.partner.legal_name} → {campaign.title}",
            details={
                "pledge": pledge.pk,
                "received_cents": received_cents,
                "received_on": received_on.isoformat(),
                "means": means,
                "matched_cents": pledge_matched_cents(pledge_id=pledge.pk),
            },
        )
        campaign_progress_emit(campaign)  # the promise leaves "abondement promis" and enters "collecté"
        task_enqueue(receipt_issue_for_pledge, pledge_id=pledge.pk)
    pledge.refresh_from_db()
    return pledge


@task(timeout=60)
def pledge_call_send(*, pledge_id: int) -> None:
    """Ask the partner, by email, to pay what its pledge matched (once it is over)."""
    pledge = Pledge.objects.select_related("partner", "campaign__organisation").get(pk=pledge_id)
    matched = pledge_matched_cents(pledge_id=pledge.pk)
    organisation = pledge.campaign.organisation
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "pledge": pledge,
            "organisation": organisation,
            "matched": format_money(matched, language=settings.LANGUAGE_CODE),
        }
        EmailMessage(
            gettext("Votre abondement pour « %(campaign)s » : %(amount)s")
            % {"campaign": pledge.campaign.title, "amount": context["matched"]},
            render_to_string("checkout/email/pledge_call.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [pledge.partner.contact_email],
            cc=[organisation.contact_email],
        ).send()


@task(timeout=120)
def pledges_call(*, now: datetime | None = None) -> int:
    """Periodic job: each pledge over and not yet settled, that matched something, has its
    partner asked once to pay (the claim is one conditional UPDATE; the email a task
    recorded with it). Returns how many were asked."""
    now = now or timezone.now()
    called = 0
    over = Pledge.objects.filter(status=Pledge.Status.ACTIVE, ends_at__lt=now, called_at__isnull=True)
    for pledge_id in over.order_by("pk").values_list("pk", flat=True)[:200]:
        if pledge_matched_cents(pledge_id=pledge_id) <= 0:
            continue
        with transaction.atomic():
            if Pledge.objects.filter(pk=pledge_id, called_at__isnull=True).update(called_at=now) != 1:
                continue
            task_enqueue(pledge_call_send, pledge_id=pledge_id)
        called += 1
    return called
