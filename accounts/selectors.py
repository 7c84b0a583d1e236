"""Reads on people: the profile and the data export."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.signals import account_exporting


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything Trëmma holds about ``user``, as JSON-ready data (RGPD art. 15 and 20):
    the profile, then each room's own section (accounts.signals.account_exporting)."""
    export: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "id": user.pk,
            "email": user.email,
            "email_verified_at": user.email_verified_at.isoformat() if user.email_verified_at else None,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "address_line1": user.address_line1,
            "address_line2": user.address_line2,
            "postal_code": user.postal_code,
            "city": user.city,
            "country": user.country,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
    }
    for _receiver, sections in account_exporting.send(sender=User, user=user):
        export.update(cast(dict[str, Any], sections))
    return export


def memberships_of(user: User) -> QuerySet[Any]:
    """The person's memberships (the organisations they belong to, with their role), by organisation name."""
    return user.memberships.select_related("organisation").order_by("organisation__name")
