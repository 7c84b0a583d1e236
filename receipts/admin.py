from django.contrib import admin

from receipts.models import TaxReceipt, TaxReceiptLine


class TaxReceiptLineInline(admin.TabularInline):
    model = TaxReceiptLine
    extra = 0
    can_delete = False
    readonly_fields = ("gift", "order", "order_line", "amount_cents", "paid_on", "active")

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
