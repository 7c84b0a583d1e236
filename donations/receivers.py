"""Donations' answers to the signals of the rooms below it (accounts.signals)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from accounts.services import AccountBusy
from accounts.signals import account_deleting, account_exporting
from campaigns.models import Campaign, Organisation
from campaigns.services import campaigns_changed, organisation_campaigns_changed
from donations.models import Item, ItemPhoto, ItemStatus
from donations.selectors import item_changed, items_owned_by
from donations.services import OWNER_WITHDRAWABLE_STATUSES, item_withdraw
from kernel.generations import CATALOGUE, generation_bump
from kernel.photos import delete_stored


@receiver(account_deleting, dispatch_uid="donations.account_deleting")
def _account_deleting(sender: Any, *, user: User, **kwargs: Any) -> None:
    """Objects not yet sold are withdrawn, sold ones stay in the books; an object
    held for a buyer makes the deletion wait (AccountBusy)."""
    if user.items.filter(status=ItemStatus.RESERVED).exists():
        raise AccountBusy(str(user.pk))
    for item in user.items.filter(status__in=OWNER_WITHDRAWABLE_STATUSES).order_by("pk"):
        item_withdraw(item=item, actor=user)
    # Photos of objects no longer on offer are the person's own: they go too, files after commit.
    photos = ItemPhoto.objects.filter(item__owner=user, item__status__in=[ItemStatus.WITHDRAWN, ItemStatus.REJECTED])
    names = [name for photo in photos for name in _photo_files(photo)]
    photos.delete()
    transaction.on_commit(lambda: delete_stored(names))


def _photo_files(photo: ItemPhoto) -> list[str]:
    names = {photo.image.name, photo.fallback.name, *(r.get("name", "") for r in photo.renditions)}
    return sorted(name for name in names if name)


@receiver(account_exporting, dispatch_uid="donations.account_exporting")
def _account_exporting(sender: Any, *, user: User, **kwargs: Any) -> dict[str, Any]:
    """The person's objects, with their photos and history."""
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
    return {"items": items}


@receiver(post_save, sender=Item, dispatch_uid="donations.catalogue_item_saved")
@receiver(post_delete, sender=Item, dispatch_uid="donations.catalogue_item_deleted")
@receiver(post_save, sender=ItemPhoto, dispatch_uid="donations.catalogue_photo_saved")
@receiver(post_delete, sender=ItemPhoto, dispatch_uid="donations.catalogue_photo_deleted")
@receiver(post_save, sender=Campaign, dispatch_uid="donations.catalogue_campaign_saved")
@receiver(post_save, sender=Organisation, dispatch_uid="donations.catalogue_organisation_saved")
def _catalogue_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Saves the services do not make by UPDATE (new items, photos, the admin's edits): the cached
    catalogue pages, and the item's own page data, go when they commit. (Status moves and edits
    bump in donations.services.)"""
    if isinstance(instance, Item):
        item_changed(instance.pk)
    elif isinstance(instance, ItemPhoto):
        item_changed(instance.item_id)
    else:
        generation_bump(CATALOGUE)
        # The item pages keep each campaign with its organisation: theirs go too.
        if isinstance(instance, Campaign):
            campaigns_changed(instance.pk)
        else:
            organisation_campaigns_changed(instance.pk)
