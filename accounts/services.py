"""Writes on people's accounts: sign-up, profile, deletion."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from accounts.models import User
from tremma.errors import Conflict, DomainError

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


def normalise_email(email: str) -> str:
    return User.objects.normalize_email(email.strip()).lower()


def user_sign_up(*, email: str, password: str, first_name: str, last_name: str) -> User:
    """Create a donor account. The password has passed the validators already
    (``user_password_problems``); the unique email is the database's to enforce."""
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=normalise_email(email), password=password, first_name=first_name, last_name=last_name
            )
    except IntegrityError as error:
        raise EmailTaken(email) from error


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
    # Imported here: donations depends on accounts, not the other way round.
    from donations.models import ItemPhoto, ItemStatus
    from donations.photos import delete_stored
    from donations.services import OWNER_WITHDRAWABLE_STATUSES, item_withdraw

    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.items.filter(status=ItemStatus.RESERVED).exists():
        raise AccountBusy(str(locked.pk))
    for item in locked.items.filter(status__in=OWNER_WITHDRAWABLE_STATUSES).order_by("pk"):
        item_withdraw(item=item, actor=locked)
    # Photos of objects no longer on offer are the person's own: they go too, files after commit.
    photos = ItemPhoto.objects.filter(item__owner=locked, item__status__in=[ItemStatus.WITHDRAWN, ItemStatus.REJECTED])
    names = [name for photo in photos for name in _photo_files(photo)]
    photos.delete()
    transaction.on_commit(lambda: delete_stored(names))
    Token.objects.filter(user=locked).delete()
    locked.memberships.all().delete()
    locked.email = f"supprime-{locked.pk}@anonyme.invalid"
    locked.first_name = ""
    locked.last_name = ""
    locked.address_line1 = ""
    locked.address_line2 = ""
    locked.postal_code = ""
    locked.city = ""
    locked.is_active = False
    locked.is_staff = False
    locked.is_superuser = False
    locked.set_unusable_password()
    locked.save()
    return locked


def _photo_files(photo: Any) -> list[str]:
    names = {photo.image.name, photo.fallback.name, *(r.get("name", "") for r in photo.renditions)}
    return sorted(name for name in names if name)
