"""Stripe Connect onboarding: an organisation's admins connect its account from
our pages (the provider's hosted onboarding form), and the provider tells us
what the account can do through ``account.updated`` events on the Connect
endpoint. Transfers wait until the account can receive them
(``Organisation.stripe_transfers_active``); the moment it can, the pending
ones go out after commit (``payments.signals.transfers_enabled``, which checkout
answers), and the periodic ``transfers_pay`` catches the rest.

The demo gateway drives the same ``connect_event_receive`` with a synthetic event."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry, Organisation
from campaigns.permissions import Permission
from campaigns.selectors import user_may
from campaigns.services import audit_record
from kernel.errors import DomainError, PermissionDenied
from kernel.tasks import task, task_enqueue
from payments import signals
from payments.gateways import ConnectAccountRequest, ConnectAccountState, ConnectEvent, GatewayError, gateway
from payments.models import ProviderEvent

logger = logging.getLogger(__name__)

# Stripe's business_type for our legal forms; "" leaves the choice to the onboarding form.
BUSINESS_TYPES: dict[str, str] = {
    Organisation.LegalForm.ASSOCIATION: "non_profit",
    Organisation.LegalForm.FOUNDATION: "non_profit",
    Organisation.LegalForm.ENTERPRISE: "company",
}


class ConnectUnavailable(DomainError):
    status_code = 503
    code = "connect_unavailable"
    default_detail = _("Stripe est momentanément indisponible. Réessayez dans un instant.")


def payments_page_url(organisation: Organisation) -> str:
    return settings.SITE_URL + reverse("ledger:organisation-payments", kwargs={"slug": organisation.slug})


def organisation_connect_start(*, organisation_id: int, actor: User) -> str:
    """A treasurer or an admin of the organisation starts (or resumes) its onboarding: the
    connected account is created once (idempotency key from our row, so a
    double click or a retry gets the same account), then a fresh onboarding
    link is returned, to redirect to. The provider is never called inside a transaction."""
    if not user_may(actor, organisation_id, Permission.PAYOUT_ACCOUNT):
        raise PermissionDenied(f"user {actor.pk} may not change the payout account of organisation {organisation_id}")
    organisation = Organisation.objects.get(pk=organisation_id)
    created = False
    try:
        if not organisation.stripe_account_id:
            created = True
            state = gateway().connect_account_create(
                ConnectAccountRequest(
                    organisation_id=organisation.pk,
                    country=organisation.country,
                    email=organisation.contact_email,
                    business_type=BUSINESS_TYPES.get(organisation.legal_form, ""),
                    # The slug too: primary keys come back after a database is restored or reset.
                    idempotency_key=f"tremma-organisation-{organisation.pk}-{organisation.slug}-account",
                )
            )
            created = _account_store(organisation=organisation, state=state, actor=actor)
            organisation.refresh_from_db()
        page = payments_page_url(organisation)
        link = gateway().connect_onboarding_link(
            account_id=organisation.stripe_account_id, refresh_url=f"{page}?lien=expire", return_url=f"{page}?retour=1"
        )
    except GatewayError:
        logger.warning("connect: onboarding of organisation %s not started", organisation.pk, exc_info=True)
        raise ConnectUnavailable(f"organisation {organisation.pk}") from None
    if not created:
        # The form where the bank account is given or changed, opened again: the journal says by whom.
        with transaction.atomic():
            audit_record(
                organisation_id=organisation.pk,
                actor=actor,
                action=AuditEntry.Action.PAYOUT_ONBOARDING_OPENED,
                subject=organisation.stripe_account_id,
            )
    return link


def _account_store(*, organisation: Organisation, state: ConnectAccountState, actor: User) -> bool:
    """Keep the new account id, unless a concurrent request stored one first
    (the same account, thanks to the idempotency key). True when this call stored it."""
    try:
        with transaction.atomic():
            stored = Organisation.objects.filter(pk=organisation.pk, stripe_account_id="").update(
                stripe_account_id=state.account_id, **_state_fields(state)
            )
            if stored:
                audit_record(
                    organisation_id=organisation.pk,
                    actor=actor,
                    action=AuditEntry.Action.PAYOUT_ACCOUNT_CREATED,
                    subject=state.account_id,
                )
    except IntegrityError:
        # Another organisation holds this account: never share one.
        logger.error("connect: account %s already belongs to another organisation", state.account_id)
        raise GatewayError(f"account {state.account_id} taken") from None
    if not stored:
        logger.info("connect: organisation %s was connected by a concurrent request", organisation.pk)
    return bool(stored)


def _state_fields(state: ConnectAccountState) -> dict[str, Any]:
    return {
        "stripe_transfers_active": state.transfers_active,
        "stripe_payouts_enabled": state.payouts_enabled,
        "stripe_details_submitted": state.details_submitted,
        "stripe_requirements_due": list(state.requirements_due),
        "stripe_disabled_reason": state.disabled_reason,
        "stripe_state_at": state.as_of,
    }


def connect_event_receive(*, event: ConnectEvent) -> bool:
    """Record an event of the Connect endpoint once and apply it, in one
    transaction. False for a replay (nothing changes). An ``account.updated``
    about an account no organisation holds is recorded and ignored."""
    normalised: dict[str, Any] = {"type": event.type}
    if event.account is not None:
        normalised["account"] = {**_state_fields(event.account), "id": event.account.account_id}
        normalised["account"]["stripe_state_at"] = event.account.as_of.isoformat()
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = ProviderEvent.objects.create(
                    provider=event.provider, event_id=event.id, type=event.type, payload=event.payload, event=normalised
                )
        except IntegrityError:
            return False
        if event.account is not None:
            organisation_connect_state_apply(state=event.account)
        ProviderEvent.objects.filter(pk=record.pk).update(processed_at=timezone.now())
    return True


def organisation_connect_state_apply(*, state: ConnectAccountState) -> bool:
    """Take the provider's word about an account, unless we already hold newer
    news (events may arrive out of order). When the account becomes able to
    receive transfers, the pending ones go out after commit. False when nothing changed."""
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().filter(stripe_account_id=state.account_id).first()
        if organisation is None:
            logger.info("connect: account %s belongs to no organisation; ignored", state.account_id)
            return False
        if organisation.stripe_state_at is not None and organisation.stripe_state_at > state.as_of:
            logger.info("connect: older state of %s ignored", state.account_id)
            return False
        fields = _state_fields(state)
        Organisation.objects.filter(pk=organisation.pk).update(**fields)
        # What the account can do, as the provider says: the journal keeps each change (Trëmma as the actor).
        changes = {
            name.removeprefix("stripe_"): [getattr(organisation, name), value]
            for name, value in fields.items()
            if name != "stripe_state_at" and getattr(organisation, name) != value
        }
        if changes:
            audit_record(
                organisation_id=organisation.pk,
                actor=None,
                action=AuditEntry.Action.PAYOUT_ACCOUNT_UPDATED,
                subject=state.account_id,
                details=changes,
            )
        if state.transfers_active and not organisation.stripe_transfers_active:
            # Whoever pays what waited (checkout) hears it from a task recorded with the state:
            # a provider error there never undoes the state, and the periodic job retries.
            task_enqueue(transfers_enabled_announce, organisation_id=organisation.pk)
    return True


@task(timeout=120)
def transfers_enabled_announce(*, organisation_id: int) -> None:
    """Task: tell the receivers of payments.signals.transfers_enabled (checkout pays what waited)."""
    signals.transfers_enabled.send_robust(sender=Organisation, organisation_id=organisation_id)


def organisation_connect_refresh(*, organisation_id: int) -> None:
    """The admin is back from the onboarding form, maybe before the event:
    refetch the account, if the gateway can, and apply it like an event."""
    organisation = Organisation.objects.get(pk=organisation_id)
    if not organisation.stripe_account_id:
        return
    try:
        state = gateway().connect_account_state(organisation.stripe_account_id)
    except GatewayError:
        logger.warning("connect: account of organisation %s not refetched", organisation_id, exc_info=True)
        return
    if state is not None and state.account_id == organisation.stripe_account_id:
        organisation_connect_state_apply(state=state)


def demo_onboarding_complete(*, account_id: str) -> bool:
    """What Stripe sends once the onboarding form is complete, for the demo
    gateway: the same ``account.updated`` processing, with a synthetic event."""
    return connect_event_receive(
        event=ConnectEvent(
            provider="demo",
            # One id per account: submitting the demo form twice is a replay.
            id=f"demo_evt_account_updated_{account_id}",
            type="account.updated",
            account=ConnectAccountState(
                account_id=account_id,
                transfers_active=True,
                payouts_enabled=True,
                details_submitted=True,
                requirements_due=(),
                disabled_reason="",
                as_of=timezone.now(),
            ),
        )
    )
