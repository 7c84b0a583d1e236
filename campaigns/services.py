"""Writes on campaigns, and the organisations' audit trail.

Managers create, edit, publish and close the campaigns of their own
organisation (the caller found the organisation or the campaign through
``organisations_user_may(user, Permission.CAMPAIGNS)`` / ``campaigns_managed_by``).
Sensitive actions of every room are recorded by ``audit_record``."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry, Campaign, Organisation
from campaigns.selectors import CAMPAIGN_GENERATION_SECONDS, campaign_generation
from kernel.errors import Conflict, DomainError
from kernel.generations import CATALOGUE, generation_bump
from kernel.photos import PreparedPhoto, delete_renditions_of, delete_stored, store_photos
from kernel.states import TransitionRefused, transition_apply


def campaigns_changed(*pks: int) -> None:
    """Campaigns ``pks`` changed (their row, their organisation or their ledger): what the item pages
    keep of them goes when the current transaction commits (now outside one)."""
    for pk in pks:
        generation_bump(campaign_generation(pk), seconds=CAMPAIGN_GENERATION_SECONDS)


def organisation_campaigns_changed(organisation_id: int) -> None:
    """Organisation ``organisation_id`` changed: its campaigns carry its name and opening hours."""
    campaigns_changed(*Campaign.objects.filter(organisation_id=organisation_id).values_list("pk", flat=True))


@transaction.atomic
def organisation_opening_hours_set(*, organisation_id: int, opening_hours: str) -> None:
    """The opening hours its shop page shows (the caller checked the permission: CAMPAIGNS)."""
    Organisation.objects.filter(pk=organisation_id).update(opening_hours=opening_hours.strip())
    organisation_campaigns_changed(organisation_id)


# The campaign state machine, as data: draft → live → closed.
CAMPAIGN_TRANSITIONS: dict[str, frozenset[str]] = {
    Campaign.Status.DRAFT: frozenset({Campaign.Status.LIVE}),
    Campaign.Status.LIVE: frozenset({Campaign.Status.CLOSED}),
    Campaign.Status.CLOSED: frozenset(),
}
EDITABLE_FIELDS = frozenset({"title", "summary", "story", "goal_cents", "starts_at", "ends_at"})


class InvalidDates(DomainError):
    code = "invalid_dates"
    default_detail = _("La fin de la campagne doit venir après son début.")


def _check(goal_cents: int, starts_at: datetime, ends_at: datetime | None) -> None:
    if goal_cents <= 0:
        raise DomainError("goal", detail=_("L'objectif doit être supérieur à zéro."))
    if ends_at is not None and ends_at <= starts_at:
        raise InvalidDates(f"{starts_at} >= {ends_at}")


def _unique_slug(title: str) -> str:
    base = slugify(title)[:60].strip("-") or "campagne"
    if not Campaign.objects.filter(slug=base).exists():
        return base
    return f"{base}-{secrets.token_hex(3)}"


def campaign_create(
    *,
    actor: User,
    organisation: Organisation,
    title: str,
    summary: str,
    story: str = "",
    goal_cents: int,
    starts_at: datetime,
    ends_at: datetime | None = None,
    cover: PreparedPhoto | None = None,
) -> Campaign:
    """A new campaign, in draft, with its cover stored through the photo pipeline."""
    _check(goal_cents, starts_at, ends_at)
    written: list[str] = []
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                organisation=organisation,
                slug=_unique_slug(title),
                title=title,
                summary=summary,
                story=story,
                goal_cents=goal_cents,
                starts_at=starts_at,
                ends_at=ends_at,
            )
            if cover is not None:
                _set_cover(campaign, cover, written)
    except IntegrityError as error:
        delete_stored(written)
        raise Conflict("slug taken", detail=_("Réessayez : une autre campagne vient de prendre ce nom.")) from error
    except BaseException:
        delete_stored(written)
        raise
    return campaign


def _set_cover(campaign: Campaign, cover: PreparedPhoto, written: list[str]) -> None:
    stored = store_photos([cover], prefix=f"campaigns/{campaign.pk}", written=written)[0]
    Campaign.objects.filter(pk=campaign.pk).update(cover=stored.image)
    campaign.cover.name = stored.image


def campaign_update(
    *, campaign: Campaign, actor: User, changes: dict[str, Any], cover: PreparedPhoto | None = None
) -> Campaign:
    """Edit a campaign (any status but closed); a new cover replaces the old one, whose files go after commit."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise DomainError(f"not editable: {sorted(unknown)}")
    _check(
        changes.get("goal_cents", campaign.goal_cents),
        changes.get("starts_at", campaign.starts_at),
        changes.get("ends_at", campaign.ends_at),
    )
    # Covers stored by the pipeline live in their own random folder; older ones (seeded) are single files.
    old_cover = campaign.cover.name if cover is not None else ""
    written: list[str] = []
    try:
        with transaction.atomic():
            # ``status=F("status")`` keeps the UPDATE (and its status check) even for a cover-only change.
            updated = (
                Campaign.objects.filter(pk=campaign.pk)
                .exclude(status=Campaign.Status.CLOSED)
                .update(status=F("status"), **changes)
            )
            if updated != 1:
                raise TransitionRefused("closed", detail=_("Une campagne terminée ne se modifie plus."))
            generation_bump(CATALOGUE)  # items show their campaign's title
            campaigns_changed(campaign.pk)
            if cover is not None:
                _set_cover(campaign, cover, written)
            if old_cover:
                transaction.on_commit(lambda: _delete_cover(old_cover))
    except BaseException:
        delete_stored(written)
        raise
    for name, value in changes.items():
        setattr(campaign, name, value)
    return campaign


def _delete_cover(name: str) -> None:
    if name.startswith("campaigns/") and name.count("/") >= 3:
        delete_renditions_of(name)
    else:
        delete_stored([name])


@transaction.atomic
def campaign_transition(*, campaign: Campaign, actor: User, to: Campaign.Status) -> Campaign:
    """Publish (draft → live) or close (live → closed), as one conditional UPDATE."""
    current = Campaign.Status(campaign.status)
    transition_apply(model=Campaign, pk=campaign.pk, table=CAMPAIGN_TRANSITIONS, current=current, to=to)
    campaigns_changed(campaign.pk)
    campaign.status = to
    return campaign


# --- The audit trail ----------------------------------------------------------------------------


class AuditOutsideTransaction(RuntimeError):
    """An entry recorded apart from its change could say what never happened, or miss what did."""


def audit_record(
    *,
    organisation_id: int,
    actor: User | None,
    action: AuditEntry.Action,
    subject: str,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one sensitive action (refund, receipt cancelled, payout account changed,
    role changed, invitation…) in the journal of its organisation. Call it inside the
    transaction of the change: both are kept, or neither. ``actor`` None: Trëmma itself."""
    if not transaction.get_connection().in_atomic_block:
        raise AuditOutsideTransaction(f"{action} of organisation {organisation_id} outside a transaction")
    person = actor if actor is not None and actor.pk is not None else None
    return AuditEntry.objects.create(
        organisation_id=organisation_id,
        actor=person,
        actor_email=person.email if person is not None else "",
        action=action,
        subject=subject[:200],
        details=details or {},
    )
