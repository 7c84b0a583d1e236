from django.contrib import admin

from donations.models import Item, ItemPhoto, ItemTransition


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
    readonly_fields = ("status",)
    raw_id_fields = ("owner",)
    inlines = (ItemPhotoInline, ItemTransitionInline)
