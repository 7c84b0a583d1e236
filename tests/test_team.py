"""The team page (``/gestion/organisations/<slug>/equipe/``, admins only) and
invitations: a signed, expiring, single-use link sent by email, accepted by the
account of the invited address only, never to a role above the inviter's, and
never leaving an organisation without an admin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from campaigns import team
from campaigns.models import Invitation, Membership, Organisation
from campaigns.permissions import PERMISSIONS, Permission
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, manager_of

pytestmark = pytest.mark.django_db

Role = Membership.Role


def url(organisation: Organisation) -> str:
    return f"/gestion/organisations/{organisation.slug}/equipe/"


@pytest.fixture
def organisation() -> Organisation:
    return OrganisationFactory()


@pytest.fixture
def admin(organisation: Organisation) -> Any:
    return manager_of(organisation, role=Role.ADMIN, first_name="Alice", last_name="Admin")


def invite(client: Client, organisation: Organisation, capture: Any, email: str, role: str) -> Any:
    with capture(execute=True):
        return client.post(url(organisation), {"action": "invite", "email": email, "role": role})


def link_in(message: Any) -> str:
    (found,) = re.findall(r"http://testserver(/gestion/invitations/[^/\s]+/)", message.body)
    return str(found)


# --- The page ---------------------------------------------------------------------------------


def test_only_the_organisations_admins_see_its_team(client: Client, organisation: Organisation, admin: Any) -> None:
    colleague = manager_of(organisation, role=Role.VOLUNTEER, email="benevole@example.org")
    for role in (Role.TREASURER, Role.MANAGER, Role.VOLUNTEER):
        client.force_login(manager_of(organisation, role=role))
        assert client.get(url(organisation)).status_code == 404
        assert client.post(url(organisation), {"action": "remove", "member": 1}).status_code == 404
    client.force_login(manager_of(OrganisationFactory(), role=Role.ADMIN))
    assert client.get(url(organisation)).status_code == 404

    client.force_login(admin)
    page = client.get(url(organisation))
    assert page.status_code == 200
    html = page.content.decode()
    assert "benevole@example.org" in html and "Alice Admin" in html
    assert Membership.objects.filter(user=colleague).exists()


def test_an_admin_changes_a_role_but_not_with_a_made_up_role_nor_in_another_organisation(
    client: Client, organisation: Organisation, admin: Any
) -> None:
    volunteer = manager_of(organisation, role=Role.VOLUNTEER)
    membership = Membership.objects.get(user=volunteer)
    elsewhere = Membership.objects.get(user=manager_of(OrganisationFactory(), role=Role.VOLUNTEER))
    client.force_login(admin)

    done = client.post(url(organisation), {"action": "role", "member": membership.pk, "role": Role.TREASURER})
    assert done.status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.TREASURER

    made_up = client.post(url(organisation), {"action": "role", "member": membership.pk, "role": "owner"})
    assert made_up.status_code == 400
    theirs = client.post(url(organisation), {"action": "role", "member": elsewhere.pk, "role": Role.ADMIN})
    assert theirs.status_code == 404
    assert Membership.objects.get(pk=elsewhere.pk).role == Role.VOLUNTEER
    assert Membership.objects.get(pk=membership.pk).role == Role.TREASURER


def test_the_last_admin_can_be_neither_demoted_nor_removed(
    client: Client, organisation: Organisation, admin: Any
) -> None:
    mine = Membership.objects.get(user=admin)
    client.force_login(admin)
    demoted = client.post(url(organisation), {"action": "role", "member": mine.pk, "role": Role.MANAGER})
    assert demoted.status_code == 409
    assert "au moins un administrateur" in demoted.content.decode()
    assert client.post(url(organisation), {"action": "remove", "member": mine.pk}).status_code == 409
    assert Membership.objects.get(pk=mine.pk).role == Role.ADMIN

    second = Membership.objects.get(user=manager_of(organisation, role=Role.ADMIN))
    assert client.post(url(organisation), {"action": "remove", "member": second.pk}).status_code == 302
    assert not Membership.objects.filter(pk=second.pk).exists()
    with pytest.raises(team.LastAdmin):
        team.member_remove(actor=admin, membership_id=mine.pk, organisation_id=organisation.pk)


# --- Invitations ------------------------------------------------------------------------------


def test_an_invitation_brings_a_newcomer_through_sign_up_into_the_team(
    client: Client, organisation: Organisation, admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(admin)
    sent = invite(client, organisation, django_capture_on_commit_callbacks, "Nouvelle@Example.org", Role.TREASURER)
    assert sent.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == ("nouvelle@example.org", "treasurer", admin)
    (message,) = mail.outbox
    assert message.to == ["nouvelle@example.org"] and organisation.name in message.subject
    assert "Trésorier" in message.body and "Alice Admin" in message.body
    link = link_in(message)
    assert "nouvelle@example.org" in client.get(url(organisation)).content.decode()  # pending

    client.logout()
    page = client.get(link)
    assert page.status_code == 200
    html = page.content.decode()
    sign_up = f"/comptes/inscription/?next={quote(link, safe='')}"
    assert sign_up in html and "nouvelle@example.org" in html
    with django_capture_on_commit_callbacks(execute=True):
        signed_up = client.post(
            "/comptes/inscription/",
            {
                "email": "nouvelle@example.org",
                "first_name": "Nina",
                "last_name": "Nouvelle",
                "password": "un mot de passe assez long 42",
                "next": link,
            },
        )
    assert signed_up.status_code == 302 and signed_up["Location"] == link
    joined = client.post(link)
    assert joined.status_code == 302
    membership = Membership.objects.get(organisation=organisation, user__email="nouvelle@example.org")
    assert membership.role == Role.TREASURER
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == membership.user

    # Single use: the same link opens nothing any more.
    again = client.get(link)
    assert again.status_code == 400 and "déjà servi" in again.content.decode()


def test_sign_up_never_sends_anyone_to_another_site(client: Client) -> None:
    response = client.post(
        "/comptes/inscription/",
        {
            "email": "x@example.org",
            "first_name": "X",
            "last_name": "Y",
            "password": "un mot de passe assez long 42",
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/comptes/profil/"


def test_an_existing_account_signs_in_and_joins(client: Client, organisation: Organisation, admin: Any) -> None:
    person = UserFactory(email="vero@example.org")
    invitation = team.invitation_send(
        actor=admin, organisation_id=organisation.pk, email="vero@example.org", role=Role.VOLUNTEER
    )
    link = f"/gestion/invitations/{team.invitation_token(invitation)}/"
    assert "/comptes/connexion/?next=" in client.get(link).content.decode()
    signed = client.post("/comptes/connexion/", {"username": person.email, "password": PASSWORD, "next": link})
    assert signed.status_code == 302 and signed["Location"] == link
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=person, organisation=organisation).role == Role.VOLUNTEER


def test_an_expired_revoked_or_forged_link_opens_nothing(
    client: Client, organisation: Organisation, admin: Any
) -> None:
    person = UserFactory(email="tard@example.org")
    client.force_login(person)
    expired = team.invitation_send(actor=admin, organisation_id=organisation.pk, email=person.email, role="manager")
    token = team.invitation_token(expired)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.post(f"/gestion/invitations/{token}/")
    assert response.status_code == 400 and "expiré" in response.content.decode()

    revoked = team.invitation_send(actor=admin, organisation_id=organisation.pk, email=person.email, role="manager")
    team.invitation_revoke(actor=admin, organisation_id=organisation.pk, invitation_id=revoked.pk)
    assert client.post(f"/gestion/invitations/{team.invitation_token(revoked)}/").status_code == 400

    forged = team.invitation_token(revoked).replace(":", "x:", 1)
    assert client.get(f"/gestion/invitations/{forged}/").status_code == 400
    assert client.get("/gestion/invitations/abc/").status_code == 400
    assert not Membership.objects.filter(user=person).exists()


def test_a_signed_link_older_than_its_days_is_expired_whatever_the_row_says(
    organisation: Organisation, admin: Any, monkeypatch: Any
) -> None:
    invitation = team.invitation_send(
        actor=admin, organisation_id=organisation.pk, email="a@example.org", role="manager"
    )
    token = team.invitation_token(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(days=365))
    later = timezone.now().timestamp() + (team.INVITATION_DAYS + 1) * 86400
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    with pytest.raises(team.InvitationExpired):
        team.invitation_from_token(token)


def test_another_accounts_click_is_refused(client: Client, organisation: Organisation, admin: Any) -> None:
    invitation = team.invitation_send(
        actor=admin, organisation_id=organisation.pk, email="invitee@example.org", role=Role.ADMIN
    )
    link = f"/gestion/invitations/{team.invitation_token(invitation)}/"
    intruder = UserFactory(email="intrus@example.org")
    client.force_login(intruder)
    assert client.get(link).status_code == 403
    refused = client.post(link)
    assert refused.status_code == 403 and "autre adresse" in refused.content.decode()
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None  # still good for its person


def test_nobody_invites_to_a_role_above_their_own(
    client: Client, organisation: Organisation, admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # A manager may not invite at all (the team is the admins'), let alone an admin.
    client.force_login(manager_of(organisation, role=Role.MANAGER))
    refused = invite(client, organisation, django_capture_on_commit_callbacks, "boss@example.org", Role.ADMIN)
    assert refused.status_code == 404
    assert not Invitation.objects.exists() and not mail.outbox

    # An admin's invitation to be admin dies with the inviter's admin role.
    invitation = team.invitation_send(
        actor=admin, organisation_id=organisation.pk, email="boss@example.org", role=Role.ADMIN
    )
    manager_of(organisation, role=Role.ADMIN)  # someone else stays admin
    Membership.objects.filter(user=admin).update(role=Role.MANAGER)
    person = UserFactory(email="boss@example.org")
    with pytest.raises(team.InvitationVoid):
        team.invitation_accept(token=team.invitation_token(invitation), user=person)
    assert not Membership.objects.filter(user=person).exists()


def test_if_managers_ran_teams_they_still_could_not_give_a_role_above_theirs(
    organisation: Organisation, admin: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(PERMISSIONS, Permission.TEAM, frozenset({Role.ADMIN, Role.MANAGER}))
    manager = manager_of(organisation, role=Role.MANAGER)
    with pytest.raises(team.RoleAboveYours):
        team.invitation_send(actor=manager, organisation_id=organisation.pk, email="x@example.org", role=Role.ADMIN)
    volunteer = Membership.objects.get(user=manager_of(organisation, role=Role.VOLUNTEER))
    with pytest.raises(team.RoleAboveYours):
        team.member_role_change(
            actor=manager, membership_id=volunteer.pk, organisation_id=organisation.pk, role=Role.ADMIN
        )
    assert not Invitation.objects.exists()
    assert Membership.objects.get(pk=volunteer.pk).role == Role.VOLUNTEER
    team.invitation_send(actor=manager, organisation_id=organisation.pk, email="x@example.org", role=Role.VOLUNTEER)


def test_the_invitation_form_answers_hostile_inputs_on_its_fields(
    client: Client, organisation: Organisation, admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    manager_of(organisation, role=Role.VOLUNTEER, email="deja@example.org")
    client.force_login(admin)
    for email, role, field_error in [
        ("pas-une-adresse", Role.MANAGER, "Saisissez une adresse e-mail valide"),
        ("ok@example.org", "owner", "Sélectionnez un choix valide"),
        ("DEJA@example.org", Role.MANAGER, "déjà partie de l&#x27;équipe"),
    ]:
        response = invite(client, organisation, django_capture_on_commit_callbacks, email, role)
        assert response.status_code == 400, email
        assert field_error in response.content.decode(), email
    assert not Invitation.objects.exists() and not mail.outbox
