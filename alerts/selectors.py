"""Reads of saved searches: a person's alerts, the canonical form of a search, its label,
and the objects newly listed that an alert's next email speaks of."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Window
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from accounts.models import User
from alerts.models import Alert
from campaigns.models import Campaign, Organisation
from donations.models import Item, ItemStatus, ItemTransition
from donations.selectors import item_search
from kernel.money import format_money
from kernel.places import department_name

# The catalogue's filters an alert does not keep: it is always about listed objects, in its own order.
NOT_KEPT = frozenset({"status", "window", "ordering", "page", "page_size", "cursor"})
# An email lists this many objects at most; the others are counted ("and 12 more").
EMAIL_ITEMS = 10
LABEL_LENGTH = 300
# How the objects travel, as a label says it (donations.models.DELIVERY_METHODS).
DELIVERY_LABELS = {
    "collection": gettext_lazy("retrait sur place"),
    "relay": gettext_lazy("point relais"),
    "home": gettext_lazy("livraison à domicile"),
}


def alert_filters(validated: dict[str, Any]) -> dict[str, Any]:
    """What an alert keeps of the catalogue's validated filters: plain JSON values
    (a campaign or an organisation by its slug), nothing empty, keys sorted."""
    kept: dict[str, Any] = {}
    for name, value in sorted(validated.items()):
        if name in NOT_KEPT or value is None or value == "":
            continue
        if isinstance(value, Campaign | Organisation):
            value = value.slug
        if isinstance(value, str):
            value = " ".join(value.split())
        kept[name] = value
    return kept


def alert_key(filters: dict[str, Any]) -> str:
    """The digest two saves of the same search share (the text searched in any case or spacing)."""
    canonical = {name: value.casefold() if name == "q" else value for name, value in filters.items()}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def alert_label(filters: dict[str, Any]) -> str:
    """A short name for the search, in the active language:
    « vélo » · Vélos · Pyrénées-Atlantiques (64) · moins de 50 €."""
    parts: list[str] = []
    if filters.get("q"):
        parts.append(f"« {filters['q']} »")
    if filters.get("category"):
        parts.append(str(dict(Item.Category.choices).get(filters["category"], filters["category"])))
    if filters.get("campaign"):
        title = Campaign.objects.filter(slug=filters["campaign"]).values_list("title", flat=True).first()
        parts.append(title or filters["campaign"])
    if filters.get("organisation"):
        name = Organisation.objects.filter(slug=filters["organisation"]).values_list("name", flat=True).first()
        parts.append(name or filters["organisation"])
    if filters.get("department"):
        code = filters["department"]
        parts.append(f"{department_name(code) or code} ({code})")
    if filters.get("delivery"):
        parts.append(str(DELIVERY_LABELS.get(filters["delivery"], filters["delivery"])))
    low, high = filters.get("min_price_cents"), filters.get("max_price_cents")
    language = get_language() or "fr"
    if low is not None and high is not None:
        prices = {"low": format_money(low, language=language), "high": format_money(high, language=language)}
        parts.append(_("de %(low)s à %(high)s") % prices)
    elif high is not None:
        parts.append(_("moins de %(price)s") % {"price": format_money(high, language=language)})
    elif low is not None:
        parts.append(_("plus de %(price)s") % {"price": format_money(low, language=language)})
    label = " · ".join(parts) or _("Tous les objets")
    return label if len(label) <= LABEL_LENGTH else label[: LABEL_LENGTH - 1] + "…"


def alerts_of(*, user: User) -> QuerySet[Alert]:
    """The person's alerts that still send, newest first."""
    return Alert.objects.filter(user=user, unsubscribed_at__isnull=True).order_by("-created_at", "-id")


def alerts_due(*, sent_before: datetime, considered_before: datetime) -> QuerySet[Alert]:
    """Alerts whose next email may go now: active, of an active account whose address is
    verified, not emailed since ``sent_before``, the least recently considered first."""
    return (
        Alert.objects.filter(
            unsubscribed_at__isnull=True,
            user__is_active=True,
            user__email_verified_at__isnull=False,
            watermark__lt=considered_before,
        )
        .exclude(last_sent_at__gt=sent_before)
        .order_by("watermark", "pk")
    )


@dataclass(frozen=True)
class Matches:
    item_ids: list[int]
    # How many objects matched in all (the email names the first ``EMAIL_ITEMS``).
    total: int


def alert_matches(*, alert: Alert, since: datetime, until: datetime, limit: int = EMAIL_ITEMS) -> Matches:
    """The objects still listed that were put on sale in (``since``, ``until``] and match the
    alert's filters, newest first: one query (their total counted alongside). Only a first
    listing counts: an object back on sale after a hold ran out was news already."""
    newly_listed = ItemTransition.objects.filter(
        item=OuterRef("pk"), to_status=ItemStatus.LISTED, at__gt=since, at__lte=until
    ).exclude(from_status__in=[ItemStatus.RESERVED, ItemStatus.SOLD])
    listed = Item.objects.filter(status=ItemStatus.LISTED).filter(Exists(newly_listed))
    found = (
        item_search(listed, **alert.filters, ordering="newest")
        .annotate(total=Window(Count("pk")))
        .values_list("pk", "total")[:limit]
    )
    rows = list(found)
    return Matches(item_ids=[pk for pk, _total in rows], total=rows[0][1] if rows else 0)
