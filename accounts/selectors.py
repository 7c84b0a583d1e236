"""Reads on people: the profile and the data export."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from accounts.models import User
from campaigns.selectors import memberships_of


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything Trëmma holds about ``user``, as JSON-ready data (RGPD art. 15 and 20)."""
    from donations.selectors import items_owned_by

    items = [
        {
            "id": item.pk,
            "kind": item.kind,
            "title": item.title,
            "description": item.description,
            "condition": item.condition,
            "category": item.category,
            "price_cents": item.price_cents,
            "currency": item.currency,
            "status": item.status,
            "campaign": item.campaign.slug,
            "rejection_reason": item.rejection_reason,
            "created_at": item.created_at.isoformat(),
            "photos": [photo.image.name for photo in item.photos.all()],
            "history": [
                {"from": t.from_status, "to": t.to_status, "at": t.at.isoformat(), "note": t.note}
                for t in item.transitions.all()
            ],
        }
        for item in items_owned_by(user).order_by("pk")
    ]
    return {
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
        "organisations": [
            {"slug": m.organisation.slug, "name": m.organisation.name, "role": m.role} for m in memberships_of(user)
        ],
        "items": items,
    }
