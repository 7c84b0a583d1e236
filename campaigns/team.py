"""An organisation's team: its admins change and remove roles (never the last
admin) and invite people by email with a role. The invitation's link is signed,
expires after ``INVITATION_DAYS`` and is good once; the person accepts it signed
in with the invited address (signing up first if they have no account)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from campaigns.models import AuditEntry, Invitation, Membership, Organisation
from campaigns.permissions import ROLE_RANK, Permission
from campaigns.selectors import permission_require, user_may, user_role
from campaigns.services import audit_record
from kernel.errors import Conflict, DomainError, NotFound, PermissionDenied
from kernel.tasks import task, task_enqueue

INVITATION_DAYS = 7
_SALT = "tremma.campaigns.invitation"

Role = Membership.Role


class LastAdmin(Conflict):
    code = "last_admin"
    default_detail = _("L'organisation doit garder au moins un administrateur.")


class RoleAboveYours(PermissionDenied):
    code = "role_above_yours"
    default_detail = _("Vous ne pouvez pas donner un rôle au-dessus du vôtre.")


class AlreadyMember(Conflict):
    code = "already_member"
    default_detail = _("Cette personne fait déjà partie de l'équipe.")


class InvitationInvalid(DomainError):
    code = "invitation_invalid"
    default_detail = _("Ce lien d'invitation n'est pas valable.")


class InvitationExpired(InvitationInvalid):
    code = "invitation_expired"
    default_detail = _("Cette invitation a expiré : demandez-en une nouvelle.")


class InvitationUsed(InvitationInvalid):
    code = "invitation_used"
    default_detail = _("Cette invitation a déjà servi ou a été annulée.")


class InvitationOfAnotherEmail(PermissionDenied):
    code = "invitation_of_another_email"
    default_detail = _("Cette invitation a été envoyée à une autre adresse que celle de votre compte.")


class InvitationVoid(InvitationInvalid):
    code = "invitation_void"
    default_detail = _("La personne qui vous a invité ne peut plus donner ce rôle : demandez une nouvelle invitation.")


def _reach(user: User, organisation_id: int) -> int:
    """How far ``user`` reaches in the organisation (ROLE_RANK); superusers reach everything."""
    if user.is_superuser:
        return max(ROLE_RANK.values())
    role = user_role(user, organisation_id)
    return ROLE_RANK.get(role, 0) if role else 0


def _role_known(role: str) -> None:
    if role not in Role.values:
        raise DomainError(f"role {role!r}", detail=_("Choisissez un rôle de la liste."))


def _admins_left(*, organisation_id: int, without: int) -> int:
    """Admins of the organisation other than membership ``without``, their rows locked
    (two admins removing each other at once cannot both succeed)."""
    admins = Membership.objects.select_for_update().filter(organisation_id=organisation_id, role=Role.ADMIN)
    return sum(1 for pk in admins.values_list("pk", flat=True) if pk != without)


# --- Members --------------------------------------------------------------------------------------


def _membership_locked(*, membership_id: int, organisation_id: int) -> Membership:
    """The organisation's membership, its row locked; another organisation's is not found."""
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=membership_id, organisation_id=organisation_id)
        .first()
    )
    if membership is None:
        raise NotFound(f"membership {membership_id} of organisation {organisation_id}")
    return membership


def member_role_change(*, actor: User, membership_id: int, organisation_id: int, role: str) -> Membership:
    """An admin gives a member another role; the last admin stays one."""
    _role_known(role)
    with transaction.atomic():
        permission_require(actor, organisation_id, Permission.TEAM)
        membership = _membership_locked(membership_id=membership_id, organisation_id=organisation_id)
        if ROLE_RANK[role] > _reach(actor, organisation_id):
            raise RoleAboveYours(f"user {actor.pk} giving {role}")
        if membership.role == role:
            return membership
        if membership.role == Role.ADMIN and not _admins_left(organisation_id=organisation_id, without=membership.pk):
            raise LastAdmin(f"organisation {organisation_id}")
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            organisation_id=organisation_id,
            actor=actor,
            action=AuditEntry.Action.ROLE_CHANGED,
            subject=membership.user.email,
            details={"member": membership.user_id, "from": before, "to": role},
        )
    return membership


def member_remove(*, actor: User, membership_id: int, organisation_id: int) -> None:
    """An admin removes a member from the team (themselves too); never the last admin."""
    with transaction.atomic():
        permission_require(actor, organisation_id, Permission.TEAM)
        membership = _membership_locked(membership_id=membership_id, organisation_id=organisation_id)
        if membership.role == Role.ADMIN and not _admins_left(organisation_id=organisation_id, without=membership.pk):
            raise LastAdmin(f"organisation {organisation_id}")
        membership.delete()
        audit_record(
            organisation_id=organisation_id,
            actor=actor,
            action=AuditEntry.Action.MEMBER_REMOVED,
            subject=membership.user.email,
            details={"member": membership.user_id, "role": membership.role},
        )


# --- Invitations ----------------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk}, salt=_SALT)


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("organisations:invitation", kwargs={"token": invitation_token(invitation)})


def invitation_send(*, actor: User, organisation_id: int, email: str, role: str) -> Invitation:
    """An admin invites ``email`` with ``role`` (never above their own); the email
    leaves after commit. A newer invitation to the same address replaces a pending one."""
    _role_known(role)
    email = User.objects.normalize_email(email.strip()).lower()
    with transaction.atomic():
        permission_require(actor, organisation_id, Permission.TEAM)
        if ROLE_RANK[role] > _reach(actor, organisation_id):
            raise RoleAboveYours(f"user {actor.pk} inviting to {role}")
        if Membership.objects.filter(organisation_id=organisation_id, user__email__iexact=email).exists():
            raise AlreadyMember(f"{email} in organisation {organisation_id}")
        now = timezone.now()
        Invitation.objects.filter(
            organisation_id=organisation_id, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            organisation_id=organisation_id,
            email=email,
            role=role,
            invited_by=actor,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        audit_record(
            organisation_id=organisation_id,
            actor=actor,
            action=AuditEntry.Action.INVITATION_SENT,
            subject=email,
            details={"invitation": invitation.pk, "role": role},
        )
        task_enqueue(invitation_email_send, invitation_id=invitation.pk, language=translation.get_language() or "fr")
    return invitation


def invitation_revoke(*, actor: User, organisation_id: int, invitation_id: int) -> Invitation:
    with transaction.atomic():
        permission_require(actor, organisation_id, Permission.TEAM)
        invitation = (
            Invitation.objects.select_for_update().filter(pk=invitation_id, organisation_id=organisation_id).first()
        )
        if invitation is None:
            raise NotFound(f"invitation {invitation_id}")
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            audit_record(
                organisation_id=organisation_id,
                actor=actor,
                action=AuditEntry.Action.INVITATION_REVOKED,
                subject=invitation.email,
                details={"invitation": invitation.pk, "role": invitation.role},
            )
    return invitation


@task(timeout=60)
def invitation_email_send(*, invitation_id: int, language: str) -> None:
    """Task: the invitation's email, with its link (nothing if it was revoked meanwhile)."""
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None:
        return
    with translation.override(language):
        context = {
            "invitation": invitation,
            "organisation": invitation.organisation,
            "inviter": invitation.invited_by,
            "role": invitation.get_role_display(),
            "link": invitation_url(invitation),
            "days": INVITATION_DAYS,
        }
        send_mail(
            gettext("Trëmma : invitation à rejoindre %(organisation)s")
            % {"organisation": invitation.organisation.name},
            render_to_string("campaigns/email/invitation.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [invitation.email],
        )


def invitation_from_token(token: str) -> Invitation:
    """The invitation behind a link, if it still opens anything; else an ``InvitationInvalid``."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=timedelta(days=INVITATION_DAYS))
    except signing.SignatureExpired:
        raise InvitationExpired("token: too old") from None
    except signing.BadSignature:
        raise InvitationInvalid("token: bad signature") from None
    pk = data.get("i") if isinstance(data, dict) else None
    invitation = (
        Invitation.objects.select_related("organisation", "invited_by").filter(pk=pk).first()
        if isinstance(pk, int)
        else None
    )
    if invitation is None:
        raise InvitationInvalid(f"token: no invitation {pk}")
    _still_open(invitation)
    return invitation


def _still_open(invitation: Invitation) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvitationUsed(f"invitation {invitation.pk}")
    if invitation.expires_at <= timezone.now():
        raise InvitationExpired(f"invitation {invitation.pk}")


def invitation_check_recipient(*, invitation: Invitation, user: User) -> None:
    """Only the account of the invited address may accept."""
    if user.email.strip().lower() != invitation.email.lower():
        raise InvitationOfAnotherEmail(f"invitation {invitation.pk} for user {user.pk}")


def invitation_accept(*, token: str, user: User) -> Membership:
    """The invited person, signed in with the invited address, joins the team with
    the role; the link is used up. Refused if whoever invited may no longer give that role."""
    with transaction.atomic():
        found = invitation_from_token(token)
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("invited_by").get(pk=found.pk)
        _still_open(invitation)  # again, under the lock: of two clicks at once, one joins
        invitation_check_recipient(invitation=invitation, user=user)
        inviter = invitation.invited_by
        if (
            inviter is None
            or not user_may(inviter, invitation.organisation_id, Permission.TEAM)
            or ROLE_RANK[invitation.role] > _reach(inviter, invitation.organisation_id)
        ):
            raise InvitationVoid(f"invitation {invitation.pk}: inviter may no longer give {invitation.role}")
        if Membership.objects.filter(organisation_id=invitation.organisation_id, user=user).exists():
            raise AlreadyMember(f"user {user.pk} in organisation {invitation.organisation_id}")
        membership = Membership.objects.create(
            user=user, organisation_id=invitation.organisation_id, role=invitation.role
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            organisation_id=invitation.organisation_id,
            actor=user,
            action=AuditEntry.Action.INVITATION_ACCEPTED,
            subject=invitation.email,
            details={"invitation": invitation.pk, "role": invitation.role, "member": user.pk},
        )
    return membership


def team_of(organisation: Organisation) -> dict[str, object]:
    """The members, by role then name, and the invitations still open."""
    members = sorted(
        organisation.memberships.select_related("user"),
        key=lambda m: (-ROLE_RANK.get(m.role, 0), m.user.last_name.lower(), m.user.email),
    )
    pending = organisation.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")
    return {"members": members, "invitations": list(pending)}
