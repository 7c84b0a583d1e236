from django.contrib import admin

from donations.models import Item, ItemPhoto, ItemTransition, TaxReceipt, TaxReceiptLine


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


class TaxReceiptLineInline(admin.TabularInline):
    model = TaxReceiptLine
    extra = 0
    can_delete = False
    readonly_fields = ("gift", "order", "amount_cents", "paid_on", "active")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(TaxReceipt)
class TaxReceiptAdmin(admin.ModelAdmin):
    """Read-only: a receipt is never edited nor deleted (cancel it through the managers' API)."""

    list_display = ("number", "organisation", "status", "amount_cents", "giver_last_name", "issued_at")
    list_filter = ("status", "year", "organisation")
    search_fields = ("number", "giver_last_name", "giver_email")
    inlines = (TaxReceiptLineInline,)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
