"""The audit trail: each sensitive action writes exactly one entry (who, when, what)
in the transaction of the change; the journal page shows an organisation's entries
to its treasurers and admins only; the platform reads them, read-only, in the admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from campaigns import team
from campaigns.models import AuditEntry, Membership, Organisation
from campaigns.services import audit_record
from donations.models import Gift, PaymentStatus, Refund
from payments.events import event_receive
from payments.services import connect
from receipts.changes import organisation_legal_details_update, receipt_cancel
from receipts.models import TaxReceipt
from tests.factories import CampaignFactory, OrganisationFactory, UserFactory, manager_of
from tests.receipts_support import paid_gift, ready_organisation, refund_event
from tests.test_receipts_api_and_pages import receipts_for

pytestmark = pytest.mark.django_db

Role = Membership.Role
Action = AuditEntry.Action


def only_entry(action: str) -> AuditEntry:
    (entry,) = AuditEntry.objects.filter(action=action)
    return entry


def assert_recorded(entry: AuditEntry, *, organisation: Organisation, actor: User | None, subject: str) -> None:
    assert entry.organisation_id == organisation.pk
    assert entry.actor == actor and entry.actor_email == (actor.email if actor else "")
    assert entry.subject == subject
    assert timezone.now() - timedelta(minutes=1) < entry.at <= timezone.now()


# --- Refunds ----------------------------------------------------------------------------------


def test_a_refund_writes_one_entry_with_its_amount_and_reason() -> None:
    campaign = CampaignFactory()
    gift = paid_gift(campaign, 3000)
    treasurer = manager_of(campaign.organisation, role=Role.TREASURER)
    api = APIClient()
    api.force_authenticate(treasurer)
    response = api.post(f"/api/gifts/{gift.pk}/refund/", {"amount_cents": 1200, "reason": "Doublon"}, format="json")
    assert response.status_code == 201

    entry = only_entry(Action.REFUND)
    assert_recorded(entry, organisation=campaign.organisation, actor=treasurer, subject=f"gift:{gift.pk}")
    assert entry.details == {
        "refund": Refund.objects.get().pk,
        "amount_cents": 1200,
        "whole": False,
        "reason": "Doublon",
    }


def test_a_refused_refund_writes_nothing_and_a_failed_record_undoes_the_refund() -> None:
    campaign = CampaignFactory()
    gift = paid_gift(campaign, 3000)
    api = APIClient()
    api.force_authenticate(manager_of(campaign.organisation, role=Role.VOLUNTEER))
    assert api.post(f"/api/gifts/{gift.pk}/refund/", {"reason": "x"}, format="json").status_code == 403
    assert not AuditEntry.objects.exists()

    # One transaction: if the journal cannot be written, no refund is recorded either.
    api.force_authenticate(manager_of(campaign.organisation, role=Role.ADMIN))
    with (
        mock.patch("checkout.services.payouts.audit_record", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        api.post(f"/api/gifts/{gift.pk}/refund/", {"reason": "x"}, format="json")
    assert not Refund.objects.exists() and not AuditEntry.objects.exists()
    assert Gift.objects.get(pk=gift.pk).status == PaymentStatus.PAID


# --- Receipts ---------------------------------------------------------------------------------


def test_a_receipt_cancelled_by_hand_or_by_a_refund_writes_one_entry_each() -> None:
    organisation = ready_organisation()
    first, second = receipts_for(organisation, [1500, 2500])
    treasurer = manager_of(organisation, role=Role.TREASURER)
    receipt_cancel(receipt_id=first.pk, actor=treasurer, reason="Adresse erronée")
    entry = only_entry(Action.RECEIPT_CANCELLED)
    assert_recorded(entry, organisation=organisation, actor=treasurer, subject=first.number)
    assert entry.details == {"receipt": first.pk, "amount_cents": 1500, "reason": "Adresse erronée"}

    with pytest.raises(Exception, match="receipt"):
        receipt_cancel(receipt_id=first.pk, actor=treasurer, reason="Encore")  # already cancelled: nothing more
    assert AuditEntry.objects.count() == 1

    # The provider's refund cancels the other one: Trëmma is the actor.
    gift = Gift.objects.get(receipt_lines__receipt=second)
    event_receive(event=refund_event(gift, gift.amount_cents))
    assert TaxReceipt.objects.get(pk=second.pk).status == TaxReceipt.Status.CANCELLED
    automatic = AuditEntry.objects.get(action=Action.RECEIPT_CANCELLED, subject=second.number)
    assert automatic.actor is None and automatic.actor_email == ""


def test_legal_details_changed_write_one_entry_naming_the_fields() -> None:
    organisation = ready_organisation()
    admin = manager_of(organisation, role=Role.ADMIN)
    organisation_legal_details_update(
        organisation=organisation, actor=admin, signatory_name="Jeanne Petit", signatory_title="Présidente"
    )
    entry = only_entry(Action.LEGAL_DETAILS_CHANGED)
    assert_recorded(entry, organisation=organisation, actor=admin, subject=organisation.name)
    assert entry.details == {"fields": ["signatory_name"]}  # the title was already "Présidente"


# --- The payout account -----------------------------------------------------------------------


def test_the_payout_account_created_reopened_and_enabled_writes_one_entry_each() -> None:
    organisation = OrganisationFactory()
    treasurer = manager_of(organisation, role=Role.TREASURER)
    connect.organisation_connect_start(organisation_id=organisation.pk, actor=treasurer)
    organisation.refresh_from_db()
    created = only_entry(Action.PAYOUT_ACCOUNT_CREATED)
    assert_recorded(created, organisation=organisation, actor=treasurer, subject=organisation.stripe_account_id)

    admin = manager_of(organisation, role=Role.ADMIN)
    connect.organisation_connect_start(organisation_id=organisation.pk, actor=admin)
    assert_recorded(
        only_entry(Action.PAYOUT_ONBOARDING_OPENED),
        organisation=organisation,
        actor=admin,
        subject=organisation.stripe_account_id,
    )
    assert AuditEntry.objects.filter(action=Action.PAYOUT_ACCOUNT_CREATED).count() == 1

    connect.demo_onboarding_complete(account_id=organisation.stripe_account_id)
    updated = only_entry(Action.PAYOUT_ACCOUNT_UPDATED)
    assert_recorded(updated, organisation=organisation, actor=None, subject=organisation.stripe_account_id)
    assert updated.details["transfers_active"] == [False, True]
    connect.demo_onboarding_complete(account_id=organisation.stripe_account_id)  # a replay changes nothing
    assert AuditEntry.objects.filter(action=Action.PAYOUT_ACCOUNT_UPDATED).count() == 1


# --- The team -----------------------------------------------------------------------------------


def test_role_changes_removals_and_invitations_write_one_entry_each() -> None:
    organisation = OrganisationFactory()
    admin = manager_of(organisation, role=Role.ADMIN)
    volunteer = manager_of(organisation, role=Role.VOLUNTEER, email="benevole@example.org")
    membership = Membership.objects.get(user=volunteer)

    team.member_role_change(actor=admin, membership_id=membership.pk, organisation_id=organisation.pk, role="manager")
    changed = only_entry(Action.ROLE_CHANGED)
    assert_recorded(changed, organisation=organisation, actor=admin, subject="benevole@example.org")
    assert changed.details == {"member": volunteer.pk, "from": "volunteer", "to": "manager"}

    with pytest.raises(team.LastAdmin):
        team.member_role_change(
            actor=admin,
            membership_id=Membership.objects.get(user=admin).pk,
            organisation_id=organisation.pk,
            role="manager",
        )
    assert AuditEntry.objects.filter(action=Action.ROLE_CHANGED).count() == 1

    team.member_remove(actor=admin, membership_id=membership.pk, organisation_id=organisation.pk)
    removed = only_entry(Action.MEMBER_REMOVED)
    assert removed.details == {"member": volunteer.pk, "role": "manager"}

    dropped = team.invitation_send(actor=admin, organisation_id=organisation.pk, email="a@example.org", role="manager")
    team.invitation_revoke(actor=admin, organisation_id=organisation.pk, invitation_id=dropped.pk)
    assert only_entry(Action.INVITATION_REVOKED).subject == "a@example.org"
    kept = team.invitation_send(actor=admin, organisation_id=organisation.pk, email="b@example.org", role="treasurer")
    assert AuditEntry.objects.filter(action=Action.INVITATION_SENT).count() == 2
    newcomer = UserFactory(email="b@example.org")
    team.invitation_accept(token=team.invitation_token(kept), user=newcomer)
    accepted = only_entry(Action.INVITATION_ACCEPTED)
    assert_recorded(accepted, organisation=organisation, actor=newcomer, subject="b@example.org")
    assert accepted.details["role"] == "treasurer"


def test_an_entry_outlives_its_actors_account_and_needs_a_transaction() -> None:
    organisation = OrganisationFactory()
    admin = manager_of(organisation, role=Role.ADMIN, email="partie@example.org")
    team.invitation_send(actor=admin, organisation_id=organisation.pk, email="x@example.org", role="volunteer")
    User.objects.filter(pk=admin.pk).delete()
    entry = only_entry(Action.INVITATION_SENT)
    assert entry.actor is None and entry.actor_email == "partie@example.org"


@pytest.mark.django_db(transaction=True)
def test_recording_outside_the_transaction_of_a_change_is_refused() -> None:
    organisation = OrganisationFactory()
    with pytest.raises(RuntimeError, match="outside a transaction"):
        audit_record(organisation_id=organisation.pk, actor=None, action=Action.REFUND, subject="gift:1")
    assert not AuditEntry.objects.exists()


# --- The journal page and the admin -----------------------------------------------------------


def journal_url(organisation: Organisation) -> str:
    return f"/gestion/organisations/{organisation.slug}/journal/"


def test_the_journal_shows_an_organisations_entries_to_its_treasurers_and_admins_only(client: Client) -> None:
    mine, other = OrganisationFactory(), OrganisationFactory()
    admin = manager_of(mine, role=Role.ADMIN, email="chef@example.org")
    team.invitation_send(actor=admin, organisation_id=mine.pk, email="nous@example.org", role="volunteer")
    other_admin = manager_of(other, role=Role.ADMIN)
    team.invitation_send(actor=other_admin, organisation_id=other.pk, email="eux@example.org", role="volunteer")

    for role in (Role.TREASURER, Role.ADMIN):
        client.force_login(manager_of(mine, role=role))
        page = client.get(journal_url(mine))
        assert page.status_code == 200
        html = page.content.decode()
        assert "nous@example.org" in html and "chef@example.org" in html and "Invitation envoyée" in html
        assert "eux@example.org" not in html
        assert page["Cache-Control"] == "private, no-store"
    for role in (Role.MANAGER, Role.VOLUNTEER):
        client.force_login(manager_of(mine, role=role))
        assert client.get(journal_url(mine)).status_code == 404
    client.force_login(other_admin)
    assert client.get(journal_url(mine)).status_code == 404
    client.force_login(manager_of(mine, role=Role.ADMIN))
    assert client.get(journal_url(mine) + "?action=invitation_sent").status_code == 200
    assert client.get(journal_url(mine) + "?action=everything").status_code == 400
    assert "nous@example.org" not in client.get(journal_url(mine) + "?action=refund").content.decode()


def test_the_platform_reads_the_journal_in_the_admin_and_cannot_change_it(client: Client) -> None:
    organisation = OrganisationFactory()
    admin = manager_of(organisation, role=Role.ADMIN)
    team.invitation_send(actor=admin, organisation_id=organisation.pk, email="x@example.org", role="volunteer")
    entry = only_entry(Action.INVITATION_SENT)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert "x@example.org" in client.get("/admin/campaigns/auditentry/").content.decode()
    assert client.get(f"/admin/campaigns/auditentry/{entry.pk}/change/").status_code == 200  # a view, no form
    assert client.get("/admin/campaigns/auditentry/add/").status_code == 403
    assert client.post(f"/admin/campaigns/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_every_journal_entry_is_shown_with_the_time_of_paris(client: Client, settings: Any) -> None:
    organisation = OrganisationFactory()
    admin = manager_of(organisation, role=Role.ADMIN)
    team.invitation_send(actor=admin, organisation_id=organisation.pk, email="x@example.org", role="volunteer")
    AuditEntry.objects.update(at=datetime(2026, 7, 14, 10, 30, tzinfo=UTC))
    client.force_login(admin)
    html = client.get(journal_url(organisation)).content.decode()
    assert "14/07/2026 12:30" in html  # summer time in Paris
