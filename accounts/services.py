"""Writes on people's accounts: sign-up, email verification, passwords, profile, deletion.

Email verification, and why an unverified account can be wiped: anyone can
sign up with someone else's address. Until the address is proved (the link
of the verification email, or a password reset, both received at that
address), nothing is attached to the account by its email. When the owner of
the address proves it on an account they did not sign in to (another
device, or a squatter's sign-up), the account is treated as theirs from
scratch: name, postal address, API tokens and sessions are wiped and the
password is replaced (chosen by them, or unusable until they choose one), so
nothing the person who signed up typed or knows survives. Verifying while
signed in to the same account keeps everything: it is the same person.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from accounts.authentication import token_expires_at
from accounts.models import User
from accounts.signals import account_deleting
from kernel.errors import Conflict, DomainError
from kernel.tasks import task, task_enqueue

PROFILE_FIELDS = frozenset(
    {"first_name", "last_name", "address_line1", "address_line2", "postal_code", "city", "country"}
)


class EmailTaken(DomainError):
    code = "email_taken"
    default_detail = _("Un compte existe déjà avec cette adresse e-mail.")


class AccountBusy(Conflict):
    code = "account_busy"
    default_detail = _(
        "Un de vos objets est en cours d'achat : vous pourrez supprimer votre compte une fois la vente terminée."
    )


class InvalidVerificationLink(DomainError):
    code = "invalid_token"
    default_detail = _("Ce lien de vérification n'est pas valable ou a expiré. Demandez-en un nouveau.")


class VerificationLinkOfAnotherAccount(InvalidVerificationLink):
    default_detail = _("Ce lien de vérification concerne un autre compte que celui avec lequel vous êtes connecté.")


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Signed, time-limited (PASSWORD_RESET_TIMEOUT, 3 days by default) and
    single-use: the hash covers the address and its verification state, so
    a link stops working once the address is verified or changes."""

    key_salt = "tremma.accounts.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{user.pk}|{user.email}|{user.email_verified_at}|{timestamp}"


email_verification_tokens = EmailVerificationTokenGenerator()


def normalise_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def user_sign_up(*, email: str, password: str, first_name: str, last_name: str) -> User:
    """Create a donor account, unverified, and send the verification email
    (after commit). The password has passed the validators already
    (``user_password_problems``); the unique email is the database's to enforce."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=normalise_email(email), password=password, first_name=first_name, last_name=last_name
            )
            user_email_verification_send(user=user)
            return user
    except IntegrityError as error:
        raise EmailTaken(email) from error


def email_verification_token(user: User) -> str:
    """``<uid>.<token>``: the account and a token only valid for its current state."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"{uid}.{email_verification_tokens.make_token(user)}"


def user_for_verification_token(token: str) -> User:
    """The account a verification token was made for, if still valid; else ``InvalidVerificationLink``."""
    uid, _dot, secret = str(token).partition(".")
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError):
        raise InvalidVerificationLink("token: unreadable") from None
    if not 0 < pk < 2**63:  # what a database key can hold; anything else is forged
        raise InvalidVerificationLink("token: impossible id")
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or user.email_verified or not email_verification_tokens.check_token(user, secret):
        raise InvalidVerificationLink(f"token: not valid for user {pk}")
    return user


def user_email_verification_send(*, user: User) -> None:
    """Send the verification link to ``user``'s address, after commit, in the current language."""
    if user.email_verified:
        return
    task_enqueue(verification_email_send, user_id=user.pk, language=translation.get_language() or "fr")


def password_reset_email_enqueue(**fields: Any) -> None:
    """Record the password-reset email (Django's form asks for it) as a task, in the current language."""
    task_enqueue(password_reset_email_send, language=translation.get_language() or "fr", **fields)


@task(timeout=60)
def password_reset_email_send(
    *,
    user_id: int,
    language: str,
    subject_template_name: str,
    email_template_name: str,
    html_email_template_name: str | None,
    domain: str,
    site_name: str,
    protocol: str,
    from_email: str | None,
) -> None:
    """Task: the reset link, its token made now (valid until the password changes or it times out)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    context = {
        "email": user.email,
        "domain": domain,
        "site_name": site_name,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": protocol,
    }
    with translation.override(language):
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        message = EmailMultiAlternatives(
            subject, render_to_string(email_template_name, context), from_email, [user.email]
        )
        if html_email_template_name:
            message.attach_alternative(render_to_string(html_email_template_name, context), "text/html")
    message.send()


@task(timeout=60)
def verification_email_send(*, user_id: int, language: str) -> None:
    user = User.objects.filter(pk=user_id, email_verified_at__isnull=True, is_active=True).first()
    if user is None:
        return
    with translation.override(language):
        path = reverse("accounts:verify", kwargs={"token": email_verification_token(user)})
        context = {"user": user, "link": f"{settings.SITE_URL}{path}"}
        EmailMessage(
            gettext("Trëmma : confirmez votre adresse e-mail"),
            render_to_string("accounts/verify_email.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        ).send()


def _identity_wipe(user: User) -> None:
    """Forget what the person who signed up typed (in memory; the caller saves)."""
    user.first_name = ""
    user.last_name = ""
    user.address_line1 = ""
    user.address_line2 = ""
    user.postal_code = ""
    user.city = ""
    user.country = "FR"


def _credentials_revoke(user: User) -> None:
    """Every API token goes now; every session goes with the password's change
    (Django checks a hash of the password on each request of a session)."""
    Token.objects.filter(user=user).delete()


@transaction.atomic
def user_email_verify(*, token: str, signed_in: User | None = None, new_password: str | None = None) -> User:
    """Mark the address of the token's account as verified.

    ``signed_in`` is who clicked, if anyone. The same account: it is the
    person who signed up, everything is kept. Anyone else would be refused
    (``VerificationLinkOfAnotherAccount``). Nobody signed in: the owner of the
    address, maybe not the person who signed up; the account is wiped
    (module docstring) and takes ``new_password`` (already validated), or an
    unusable password until they choose one through the password reset."""
    user = user_for_verification_token(token)
    if signed_in is not None and signed_in.pk != user.pk:
        raise VerificationLinkOfAnotherAccount(f"token of user {user.pk} used by {signed_in.pk}")
    locked = User.objects.select_for_update().get(pk=user.pk)
    # Checked again under the lock: of two clicks at once, one verifies, the other is refused.
    if locked.email_verified:
        raise InvalidVerificationLink(f"user {user.pk} verified meanwhile")
    if signed_in is None:
        _identity_wipe(locked)
        if new_password:
            locked.set_password(new_password)
        else:
            locked.set_unusable_password()
        _credentials_revoke(locked)
    locked.email_verified_at = timezone.now()
    locked.save()
    return locked


def user_api_token(*, user: User) -> Token:
    """The person's API token: the current one while it is valid, else a fresh one."""
    with transaction.atomic():
        token, _created = Token.objects.select_for_update().get_or_create(user=user)
        if token_expires_at(token) <= timezone.now():
            token.delete()
            token = Token.objects.create(user=user)
    return token


def token_revoke(*, token: Token) -> None:
    """Sign an API client out: its token stops working."""
    Token.objects.filter(pk=token.pk).delete()


@transaction.atomic
def user_password_change(*, user: User, new_password: str) -> User:
    """Set a new password (validated by the caller) and revoke every token and session."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.set_password(new_password)
    locked.save(update_fields=["password"])
    _credentials_revoke(locked)
    return locked


@transaction.atomic
def user_password_reset(*, user: User, new_password: str) -> User:
    """The password-reset link was followed: the person reads mail at the
    address, so it is verified; an account not verified before is wiped
    first (module docstring). Every token and session is revoked."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.email_verified:
        _identity_wipe(locked)
        locked.email_verified_at = timezone.now()
    locked.set_password(new_password)
    locked.save()
    _credentials_revoke(locked)
    return locked


def user_password_problems(*, password: str, email: str, first_name: str = "", last_name: str = "") -> list[str]:
    """The validators' messages for ``password`` (empty when it is good enough)."""
    from django.core.exceptions import ValidationError

    candidate = User(email=normalise_email(email), first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as error:
        return list(error.messages)
    return []


@transaction.atomic
def user_update_profile(*, user: User, changes: dict[str, Any]) -> User:
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise DomainError(f"not profile fields: {sorted(unknown)}")
    if "country" in changes:
        changes["country"] = str(changes["country"]).upper()
    User.objects.filter(pk=user.pk).update(**changes)
    for name, value in changes.items():
        setattr(user, name, value)
    return user


@transaction.atomic
def user_delete(*, user: User) -> User:
    """Delete a person's account while keeping what the ledger and the law need.

    The row stays (orders, ledger entries, tax receipts and item histories
    point to it) but everything that identifies the person is erased and the
    account can never sign in again. Objects not yet sold are withdrawn;
    sold ones stay in the books. Tax receipts already issued are kept as
    issued: French tax law requires organisations to keep them for six years.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    # Each room withdraws or erases what is the person's (accounts.signals); any may refuse.
    account_deleting.send(sender=User, user=locked)
    Token.objects.filter(user=locked).delete()
    locked.email = f"supprime-{locked.pk}@anonyme.invalid"
    _identity_wipe(locked)
    locked.is_active = False
    locked.is_staff = False
    locked.is_superuser = False
    locked.set_unusable_password()
    locked.save()
    return locked
