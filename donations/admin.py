from django.contrib import admin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest

from campaigns.admin import OrganisationAdmin
from campaigns.models import Organisation
from donations.models import Item, ItemPhoto, ItemTransition
from donations.services import organisation_items_relocate


class ItemPhotoInline(admin.TabularInline):
    model = ItemPhoto
    extra = 0
    # Photos come through the image pipeline only (the item pages and API).
    readonly_fields = ("image", "fallback")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class ItemTransitionInline(admin.TabularInline):
    model = ItemTransition
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor", "note", "at")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("title", "campaign", "kind", "status", "price_cents", "owner", "created_at")
    list_filter = ("status", "kind", "campaign__organisation")
    search_fields = ("title", "description")
    # The department is derived from the postal code by the services (donations.services.items).
    readonly_fields = ("status", "postal_code", "department")
    raw_id_fields = ("owner",)
    inlines = (ItemPhotoInline, ItemTransitionInline)


class OrganisationWithItemsAdmin(OrganisationAdmin):
    """An organisation that moves takes the objects standing there along: their department
    follows its new postal code (campaigns cannot reach items, so this admin lives here)."""

    def save_model(self, request: HttpRequest, obj: Organisation, form: ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change and "postal_code" in form.changed_data:
                organisation_items_relocate(organisation_id=obj.pk, postal_code=obj.postal_code)


admin.site.unregister(Organisation)
admin.site.register(Organisation, OrganisationWithItemsAdmin)
