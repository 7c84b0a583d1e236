from django.contrib import admin
from django.http import HttpRequest

from qr.models import Placement, Scan, ShortCode, Window


class PlacementInline(admin.TabularInline):
    model = Placement
    extra = 0
    raw_id_fields = ("item",)
    fields = ("item", "position", "removed_at")


@admin.register(Window)
class WindowAdmin(admin.ModelAdmin):
    list_display = ("name", "organisation", "place", "starts_at", "ends_at", "is_active")
    list_filter = ("is_active", "organisation")
    search_fields = ("name", "place", "address")
    inlines = (PlacementInline,)


@admin.register(ShortCode)
class ShortCodeAdmin(admin.ModelAdmin):
    """Read-only: codes are created and re-pointed by qr.services only."""

    list_display = ("code", "item", "campaign", "window", "placement", "created_at")
    search_fields = ("code",)
    readonly_fields = ("code", "item", "campaign", "window", "placement", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = ("short_code", "window", "placement", "at", "client_class")
    list_filter = ("client_class", "window")
    date_hierarchy = "at"
    readonly_fields = ("short_code", "placement", "window", "at", "client_class", "visitor_hash")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
